"""OCR corrections and their delivery to Cynopsis Artemis (an outbox).

An analyst's correction is validated, then saved locally with each field's old and new value and
audited, in one transaction; a task pushes it to Artemis once that transaction commits. Nothing
depends on Artemis being up: a failed push keeps the correction, shows the vendor's reason, and
is retried with backoff (or by the Retry button).

Effective values: a field's value is its latest correction, else what the OCR read. A re-run of
the OCR rewrites `OcrResult.fields` only, so it never overwrites a correction.

What is pushed is the whole effective result (`PUT .../ocr` replaces Artemis' copy), so one
successful push delivers every correction made before it, and a task whose correction was
already delivered by a later push has nothing left to do. Pushes of one OCR result never run at
the same time: two PUTs in flight could land in either order and leave Artemis with the older
state (see `_exclusive`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kyc.analysis.countries import SPECIMEN_CODES, is_valid_code, normalise_code
from kyc.analysis.mrz import MRZ_CHARSET, parse_mrz
from kyc.models import Customer, Document, OcrCorrection, OcrResult
from kyc.providers import artemis
from kyc.providers.base import ProviderError
from kyc.selectors.ocr import pending_since
from kyc.services.audit import audit_record, touch_customer
from kyc.services.jobs import backoff_seconds
from kyc.services.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

Sync = OcrCorrection.SyncStatus
# Pushes have a task queue of their own (settings.TASK_QUEUES), for the workers that hold the
# Artemis credentials; one without them that takes a push anyway leaves it pending (`_claim`).
PUSH_QUEUE = "artemis"
# Automatic attempts per correction before the analyst's Retry button is needed (with the job
# engine's backoff of 10 s doubling up to 15 min, about 40 minutes of trying).
MAX_AUTOMATIC_ATTEMPTS = 8
# When another worker is pushing the same OCR result, look again this much later.
BUSY_RETRY_SECONDS = 5.0
# A correction still pending after this long has lost its task: the Retry button shows again.
STALE_PENDING = dt.timedelta(minutes=15)

# The fields an analyst corrects, in the order of the form (Artemis OCR keys).
FIELDS: tuple[tuple[str, Any], ...] = (
    ("last_name", gettext_lazy("Last name")),
    ("first_name", gettext_lazy("First names")),
    ("gender", gettext_lazy("Sex")),
    ("date_of_birth", gettext_lazy("Birth date")),
    ("nationality", gettext_lazy("Nationality")),
    ("issuing_country", gettext_lazy("Issuing country")),
    ("document_type", gettext_lazy("Document type")),
    ("document_number", gettext_lazy("Document number")),
    ("personal_id_number", gettext_lazy("Personal number")),
    ("issue_date", gettext_lazy("Issue date")),
    ("expiry_date", gettext_lazy("Expiry date")),
    ("mrz_raw_string", gettext_lazy("MRZ lines")),
)
FIELD_KEYS = tuple(key for key, _label in FIELDS)
FIELD_LABELS = dict(FIELDS)
DATE_FIELDS = ("date_of_birth", "issue_date", "expiry_date")
COUNTRY_FIELDS = ("nationality", "issuing_country")
# Fields an analyst may empty (a document without a personal number, an MRZ, an issue date...).
CLEARABLE = frozenset({"first_name", "personal_id_number", "issue_date", "mrz_raw_string"})
SEXES = ("M", "F", "X")
# Artemis' document types (its DocumentDto enum), plus the residence permit our documents know.
DOCUMENT_TYPES: tuple[tuple[str, Any], ...] = (
    ("PASSPORT", gettext_lazy("Passport")),
    ("NATIONAL_ID", gettext_lazy("National identity card")),
    ("RESIDENCE_PERMIT", gettext_lazy("Residence permit")),
    ("DRIVING_LICENSE", gettext_lazy("Driving licence")),
    ("OTHERS", gettext_lazy("Other")),
)
# When several sources read a document, the one corrected by default (most complete first).
SOURCE_PREFERENCE = (
    OcrResult.Source.MINDEE_PASSPORT,
    OcrResult.Source.MINDEE_INTERNATIONAL_ID,
    OcrResult.Source.LOCAL_MRZ,
)

# Letters of any script; between names a space, hyphen, apostrophe (straight or typographic)
# or the dot of an abbreviation.
_NAME_RE = re.compile(r"[^\W\d_]+(?:[ '\u2019.\-]+[^\W\d_]+)*\.?")
_DOCUMENT_NUMBER_RE = re.compile(r"[A-Z0-9]{1,20}")
_PERSONAL_NUMBER_RE = re.compile(r"[A-Z0-9][A-Z0-9 ./\-]{0,29}")
_OLDEST_BIRTH = dt.date(1900, 1, 1)


# ------------------------------------------------------------------------------ effective values


def corrections_in_order(result: OcrResult) -> list[OcrCorrection]:
    """Oldest first. Uses prefetched corrections when the caller has them."""
    return sorted(result.corrections.all(), key=lambda c: c.pk)


def effective_fields(result: OcrResult, corrections: Sequence[OcrCorrection]) -> dict[str, Any]:
    """The OCR fields with every correction applied in order: the latest correction of a field
    wins over older ones and over whatever the OCR read, however recent the reading."""
    values = dict(result.fields or {})
    for correction in sorted(corrections, key=lambda c: c.pk):
        for key, change in (correction.changes or {}).items():
            values[key] = change.get("new") if isinstance(change, Mapping) else change
    return values


def corrected_keys(corrections: Iterable[OcrCorrection]) -> set[str]:
    return {key for correction in corrections for key in (correction.changes or {})}


def primary_result(results: Sequence[OcrResult]) -> OcrResult | None:
    """The reading an analyst corrects by default: the one already corrected most recently,
    else the most complete source."""
    corrected = [r for r in results if r.corrections.all()]
    if corrected:
        return max(corrected, key=lambda r: max(c.pk for c in r.corrections.all()))
    for source in SOURCE_PREFERENCE:
        for result in results:
            if result.source == source:
                return result
    return results[0] if results else None


# ------------------------------------------------------------------------------- normalisation


def mrz_normalise(text: Any) -> list[str]:
    """MRZ lines as typed or pasted: blank lines dropped, spaces removed, upper case."""
    if not text:
        return []
    return [re.sub(r"\s+", "", line).upper() for line in str(text).splitlines() if line.strip()]


def normalise(key: str, value: Any) -> str:
    """A value in the form it is stored and compared in. Never raises: invalid values come out
    as typed (trimmed) and are refused by `validate_changes`."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    if key == "mrz_raw_string":
        return "\n".join(mrz_normalise(value))
    if key in ("gender", "document_type", "personal_id_number"):
        return text.upper()
    if key in COUNTRY_FIELDS:
        return normalise_code(text.upper())
    if key == "document_number":
        return text.replace(" ", "").upper()
    return text


def _parse_iso_date(value: str) -> dt.date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------- validation

_CHECK_LABELS = {
    "document_number": gettext_lazy("document number"),
    "birth_date": gettext_lazy("birth date"),
    "expiry_date": gettext_lazy("expiry date"),
    "optional_data": gettext_lazy("personal number"),
    "composite": gettext_lazy("composite (final)"),
}
_PROBLEM_LABELS = {
    "invalid_characters": gettext_lazy("characters outside the MRZ alphabet (A-Z, 0-9, <)"),
    "invalid_document_type": gettext_lazy("the document code is not P, I, A, C or V"),
    "invalid_country_code": gettext_lazy("the issuing state is not an ISO 3166 or ICAO code"),
    "invalid_nationality_code": gettext_lazy("the nationality is not an ISO 3166 or ICAO code"),
    "invalid_birth_date": gettext_lazy("the birth date is not a real YYMMDD date"),
    "invalid_expiry_date": gettext_lazy("the expiry date is not a real YYMMDD date"),
    "invalid_sex": gettext_lazy("the sex is not M, F, X or <"),
    "invalid_document_number": gettext_lazy("the document number is empty or malformed"),
    "invalid_optional_data": gettext_lazy("the optional data has invalid characters"),
    "invalid_name": gettext_lazy("the name has no surname or contains digits"),
}


def check_label(name: str) -> str:
    return str(_CHECK_LABELS.get(name, name))


def problem_label(code: str) -> str:
    return str(_PROBLEM_LABELS.get(code, code))


def mrz_errors(lines: Sequence[str], *, today: dt.date | None = None) -> list[str]:
    """Why these MRZ lines cannot be saved (empty when they can): the shape, the alphabet,
    every check digit computed again, and the format of each field."""
    if not lines:
        return []
    bad = sorted({c for line in lines for c in line} - MRZ_CHARSET)
    if bad:
        return [
            _("The MRZ may only contain A-Z, 0-9 and <; found: %(chars)s")
            % {"chars": " ".join(bad)}
        ]
    parsed = parse_mrz(lines, today=today)
    if parsed is None:
        return [
            _(
                "An MRZ is 2 lines of 44 characters (passport), 2 lines of 36 or 3 lines of 30 "
                "(identity cards); these lines are %(lengths)s characters long."
            )
            % {"lengths": " + ".join(str(len(line)) for line in lines)}
        ]
    errors = [
        _("Check digit of the %(check)s is %(read)s, but the data gives %(computed)s.")
        % {"check": check_label(check.name), "read": check.read, "computed": check.computed or "?"}
        for check in parsed.checks
        if not check.valid
    ]
    errors += [
        _("MRZ format: %(problem)s.") % {"problem": problem_label(code)} for code in parsed.problems
    ]
    if parsed.specimen:
        errors.append(_("This MRZ carries ICAO's specimen country (UTO): not a real document."))
    return errors


def _field_error(key: str, value: str, today: dt.date) -> str | None:
    if not value:
        if key in CLEARABLE:
            return None
        return _("This field cannot be emptied.")
    if key in ("first_name", "last_name"):
        if len(value) > 150 or not _NAME_RE.fullmatch(value):
            return _("Letters only, with spaces, hyphens or apostrophes between names.")
    elif key == "gender":
        if value not in SEXES:
            return _("M, F or X.")
    elif key in DATE_FIELDS:
        day = _parse_iso_date(value)
        if day is None:
            return _("Not a real date: write it as YYYY-MM-DD.")
        if key == "date_of_birth" and not _OLDEST_BIRTH <= day < today:
            return _("A birth date is in the past (and after 1900).")
        if key == "issue_date" and day > today:
            return _("An issue date cannot be in the future.")
    elif key in COUNTRY_FIELDS:
        if value in SPECIMEN_CODES:
            return _("UTO is ICAO's specimen country (Utopia): a real document never carries it.")
        if not is_valid_code(value):
            return _("Not an ISO 3166 alpha-3 country code (nor one of ICAO's extra codes).")
    elif key == "document_type":
        if value not in dict(DOCUMENT_TYPES):
            return _("Choose one of the listed document types.")
    elif key == "document_number":
        if not _DOCUMENT_NUMBER_RE.fullmatch(value):
            return _("Letters A-Z and digits only, 1 to 20 characters.")
    elif key == "personal_id_number":
        if not _PERSONAL_NUMBER_RE.fullmatch(value):
            return _(
                "Letters A-Z, digits, spaces, dots, slashes or hyphens; 30 characters at most."
            )
    elif key == "mrz_raw_string":
        errors = mrz_errors(value.splitlines(), today=today)
        if errors:
            return " ".join(errors)
    return None


def _date_order_errors(values: Mapping[str, Any], changed: Iterable[str]) -> dict[str, str]:
    """Dates consistent with each other, checked when one of the pair was corrected (an
    inconsistency the analyst did not touch is the OCR's, and is shown, not refused)."""
    changed = set(changed)
    dates = {key: _parse_iso_date(normalise(key, values.get(key))) for key in DATE_FIELDS}
    birth, issue, expiry = dates["date_of_birth"], dates["issue_date"], dates["expiry_date"]
    errors: dict[str, str] = {}
    if issue and expiry and {"issue_date", "expiry_date"} & changed and expiry <= issue:
        errors["expiry_date" if "expiry_date" in changed else "issue_date"] = _(
            "The expiry date must be after the issue date."
        )
    if birth and issue and {"date_of_birth", "issue_date"} & changed and issue < birth:
        errors["issue_date" if "issue_date" in changed else "date_of_birth"] = _(
            "The document cannot have been issued before its holder was born."
        )
    if birth and expiry and {"date_of_birth", "expiry_date"} & changed and expiry <= birth:
        errors.setdefault(
            "expiry_date" if "expiry_date" in changed else "date_of_birth",
            _("The expiry date must be after the birth date."),
        )
    return errors


def validate_changes(
    effective: Mapping[str, Any], submitted: Mapping[str, Any], *, today: dt.date | None = None
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(changed fields -> normalised new value, field -> errors).

    Fields whose normalised value equals the effective one are not changes; unknown keys are
    ignored (the form may send more than the correctable fields).
    """
    today = today or timezone.localdate()
    changed: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key in FIELD_KEYS:
        if key not in submitted:
            continue
        new = normalise(key, submitted[key])
        if new == normalise(key, effective.get(key)):
            continue
        error = _field_error(key, new, today)
        if error:
            errors[key] = [error]
        else:
            changed[key] = new
    merged = {**effective, **changed}
    for key, error in _date_order_errors(merged, changed).items():
        errors.setdefault(key, []).append(error)
    return changed, errors


# ---------------------------------------------------------------------------------- correcting


def _locked_result(result_id: int) -> OcrResult | None:
    # Only the OCR result row is locked: it serialises corrections and pushes of this result.
    return (
        OcrResult.objects.select_for_update(of=("self",))
        .select_related("document__customer")
        .filter(pk=result_id)
        .first()
    )


@transaction.atomic
def ocr_correct(
    *, ocr_result: OcrResult, changes: Mapping[str, Any], reason: str, actor
) -> OcrCorrection:
    """Save an analyst's correction of OCR fields and queue its push to Artemis.

    `changes` maps field keys (FIELD_KEYS) to new values; values equal to the effective ones are
    dropped. Refuses, writing nothing, when a value is invalid, nothing changes or the reason is
    missing (ValidationError keyed by field, `reason` or `__all__`).
    """
    result = _locked_result(ocr_result.pk)
    if result is None:
        raise ValidationError(_("This OCR result does not exist any more."))
    corrections = list(result.corrections.order_by("pk"))
    effective = effective_fields(result, corrections)
    changed, errors = validate_changes(effective, changes)
    reason = (reason or "").strip()
    if not reason:
        errors.setdefault("reason", []).append(_("Say why these values are corrected."))
    elif len(reason) > 2000:
        errors.setdefault("reason", []).append(_("2000 characters at most."))
    if not errors and not changed:
        errors["__all__"] = [_("Nothing to save: every value is the same as before.")]
    if errors:
        raise ValidationError(errors)

    status = Sync.PENDING if artemis.is_configured() else Sync.NOT_CONFIGURED
    correction = OcrCorrection.objects.create(
        ocr_result=result,
        changes={key: {"old": effective.get(key), "new": new} for key, new in changed.items()},
        reason=reason,
        author=actor,
        sync_status=status,
    )
    customer = result.document.customer
    audit_record(
        actor=actor,
        action="ocr.correct",
        obj=correction,
        customer=customer,
        before={key: effective.get(key) for key in changed},
        after={**changed, "reason": reason, "source": result.source, "sync": status},
    )
    touch_customer(customer)
    if status == Sync.PENDING:
        enqueue_on_commit(push_ocr_correction_task, correction.pk, queue_name=PUSH_QUEUE)
    return correction


# ------------------------------------------------------------------------------------- pushing


def push_body(result: OcrResult, corrections: Sequence[OcrCorrection]) -> dict[str, Any]:
    """The `PUT .../ocr` body for an OCR result with all its corrections applied in order."""
    corrections = sorted(corrections, key=lambda c: c.pk)
    fields = effective_fields(result, corrections)
    latest = corrections[-1] if corrections else None
    passport = (
        result.document.kind == Document.Kind.PASSPORT
        or str(fields.get("document_type") or "").upper() == "PASSPORT"
    )
    reason = " ".join((latest.reason if latest else "").split())[:500]
    return artemis.ocr_payload(
        fields,
        corrected=corrected_keys(corrections),
        passport=passport,
        task_id=f"kyc-ocr-{result.pk}-{latest.pk if latest else 0}",
        description=(
            f"Corrected by an analyst in the KYC dashboard (correction #{latest.pk}): {reason}"
            if latest
            else "As read by OCR"
        ),
    )


@dataclass(frozen=True)
class _Claim:
    result_id: int
    customer: Customer
    target: OcrCorrection  # the latest correction: attempts and retries are counted on it
    attempt: int
    customer_ref: str
    document_ref: str
    body: dict[str, Any]
    problem: ProviderError | None = None


@contextmanager
def _exclusive(result_id: int) -> Iterator[bool]:
    """Whether this worker may push this OCR result now.

    PostgreSQL (where several workers run): a session advisory lock, held outside any
    transaction so that nobody waits for Artemis' timeout inside one; a worker that dies
    releases it with its connection. SQLite is the one-machine setup with one `db_worker`,
    which runs tasks one at a time: pushes cannot overlap there.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = ("ocr-push", result_id % 2**31)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s), %s)", key)
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", key)


def ocr_push(correction_id: int) -> None:
    """The outbox worker: deliver an OCR result's corrections to Artemis.

    Idempotent: does nothing when the correction is already delivered (by this task or by a
    later correction's push). On success every correction included is marked synced; on
    failure they are marked failed with the reason, and a retryable failure (timeout, 429, 5xx)
    is tried again later with backoff.
    """
    row = OcrCorrection.objects.filter(pk=correction_id).values("ocr_result_id").first()
    if row is None:
        return
    with _exclusive(row["ocr_result_id"]) as acquired:
        if not acquired:
            # Another worker is pushing this result; its PUT may not include this correction.
            enqueue_on_commit(
                push_ocr_correction_task,
                correction_id,
                run_after=timezone.now() + dt.timedelta(seconds=BUSY_RETRY_SECONDS),
                queue_name=PUSH_QUEUE,
            )
            return
        claim = _claim(row["ocr_result_id"], correction_id)
        if claim is None:
            return
        try:
            if claim.problem is not None:
                raise claim.problem
            document = artemis.put_ocr_result(claim.customer_ref, claim.document_ref, claim.body)
        except ProviderError as error:
            _push_failed(claim, error)
            return
        except Exception as error:
            # A bug must not leave the correction pending forever without a word.
            logger.exception("pushing OCR correction %s to Artemis crashed", correction_id)
            _push_failed(
                claim,
                ProviderError(
                    _("Internal error while sending to Artemis: %(error)s")
                    % {"error": f"{error.__class__.__name__}: {str(error)[:300]}"},
                    retryable=False,
                ),
            )
            return
        _push_succeeded(claim, document)


def _claim(result_id: int, correction_id: int) -> _Claim | None:
    if not artemis.is_configured():
        # This worker has no Artemis credentials (settings differ between hosts): leave the
        # correction as it is, for a worker that has them. Nothing is failed; the sweeper of a
        # host with Artemis sends it again once it has waited STALE_PENDING, and the OCR page
        # offers Retry then.
        logger.warning(
            "OCR correction %s left for another worker: Artemis is not configured here",
            correction_id,
        )
        return None
    with transaction.atomic():
        result = _locked_result(result_id)
        if result is None:
            return None
        corrections = list(result.corrections.order_by("pk"))
        trigger = next((c for c in corrections if c.pk == correction_id), None)
        if trigger is None or trigger.sync_status not in (Sync.PENDING, Sync.FAILED):
            return None
        target = corrections[-1]
        target.sync_attempts += 1
        target.save(update_fields=["sync_attempts"])
        document = result.document
        customer = document.customer
        problem = None
        if not customer.artemis_customer_id or not document.artemis_document_id:
            problem = ProviderError(missing_link_message(customer, document), retryable=False)
        return _Claim(
            result_id=result.pk,
            customer=customer,
            target=target,
            attempt=target.sync_attempts,
            customer_ref=customer.artemis_customer_id,
            document_ref=document.artemis_document_id,
            body=push_body(result, corrections),
            problem=problem,
        )


def missing_link_message(customer: Customer, document: Document) -> str:
    missing = []
    if not customer.artemis_customer_id:
        missing.append(_("the customer"))
    if not document.artemis_document_id:
        missing.append(_("the document"))
    return _(
        "Not sent: %(what)s has no Artemis id yet. Create it in Artemis from the OCR page, or "
        "enter its id in the administration, then use Retry."
    ) % {"what": _(" and ").join(missing)}


def _push_failed(claim: _Claim, error: ProviderError) -> None:
    """Keep the corrections, mark them failed with the reason, retry later when that can help."""
    now = timezone.now()
    message = str(error)[:2000]
    with transaction.atomic():
        result = _locked_result(claim.result_id)
        if result is None:
            return
        included = result.corrections.filter(pk__lte=claim.target.pk).exclude(
            sync_status=Sync.SYNCED
        )
        ids = list(included.values_list("pk", flat=True))
        OcrCorrection.objects.filter(pk__in=ids).update(sync_status=Sync.FAILED, sync_error=message)
        # A newer correction has its own push on the way, carrying these changes too.
        superseded = (
            result.corrections.filter(pk__gt=claim.target.pk)
            .exclude(sync_status=Sync.SYNCED)
            .exists()
        )
        retry_at = None
        if error.retryable and not superseded and claim.attempt < MAX_AUTOMATIC_ATTEMPTS:
            delay = backoff_seconds(
                claim.attempt - 1,
                base=settings.JOB_RETRY_BASE_SECONDS,
                cap=settings.JOB_RETRY_MAX_SECONDS,
                retry_after=error.retry_after,
            )
            retry_at = now + dt.timedelta(seconds=delay)
            enqueue_on_commit(
                push_ocr_correction_task, claim.target.pk, run_after=retry_at, queue_name=PUSH_QUEUE
            )
        audit_record(
            actor=None,
            action="ocr.sync_error",
            obj=claim.target,
            customer=claim.customer,
            after={
                "status": Sync.FAILED,
                "error": message,
                "corrections": ids,
                "attempt": claim.attempt,
                "retryable": error.retryable,
                "retry_at": retry_at.isoformat() if retry_at else None,
                "http_status": error.status_code,
            },
        )


def _push_succeeded(claim: _Claim, document: artemis.DocumentDto) -> None:
    now = timezone.now()
    with transaction.atomic():
        result = _locked_result(claim.result_id)
        if result is None:
            return
        included = result.corrections.filter(pk__lte=claim.target.pk).exclude(
            sync_status=Sync.SYNCED
        )
        ids = list(included.values_list("pk", flat=True))
        OcrCorrection.objects.filter(pk__in=ids).update(
            sync_status=Sync.SYNCED, synced_at=now, sync_error=""
        )
        audit_record(
            actor=None,
            action="ocr.synced",
            obj=claim.target,
            customer=claim.customer,
            after={
                "status": Sync.SYNCED,
                "corrections": ids,
                "attempt": claim.attempt,
                "artemis_document_id": document.id,
                "artemis_updated_at": (
                    document.updated_at.isoformat() if document.updated_at else None
                ),
            },
        )


def _requeue(result: OcrResult, *, actor, action: str) -> OcrCorrection | None:
    """Mark the result's undelivered corrections pending again and push the latest (inside the
    caller's transaction, result locked)."""
    undelivered = list(result.corrections.exclude(sync_status=Sync.SYNCED).order_by("pk"))
    if not undelivered:
        return None
    before = {c.pk: c.sync_status for c in undelivered}
    OcrCorrection.objects.filter(pk__in=before).update(sync_status=Sync.PENDING, sync_error="")
    latest = undelivered[-1]
    latest.sync_status = Sync.PENDING
    latest.sync_error = ""
    audit_record(
        actor=actor,
        action=action,
        obj=latest,
        customer=result.document.customer,
        before={"status": before},
        after={"status": Sync.PENDING},
    )
    enqueue_on_commit(push_ocr_correction_task, latest.pk, queue_name=PUSH_QUEUE)
    return latest


@transaction.atomic
def ocr_push_retry(*, correction: OcrCorrection, actor) -> OcrCorrection:
    """The Retry button: send a failed (or never sent) correction again, now."""
    if not artemis.is_configured():
        raise ValidationError(_("Artemis is not configured on this server."))
    result = _locked_result(correction.ocr_result_id)
    current = result.corrections.filter(pk=correction.pk).first() if result else None
    if result is None or current is None:
        raise ValidationError(_("This correction does not exist any more."))
    if not can_retry(current):
        raise ValidationError(_("Only a failed or unsent correction can be sent again."))
    latest = _requeue(result, actor=actor, action="ocr.sync_retry")
    # `current` is undelivered (can_retry) and read under the result's lock: it is requeued.
    assert latest is not None
    return latest


def can_retry(correction: OcrCorrection) -> bool:
    """Failed, never sent, or pending for so long that its task was surely lost (a worker
    killed mid-push, a task queue flushed): pushes are idempotent, so one more is harmless."""
    if correction.sync_status in (Sync.FAILED, Sync.NOT_CONFIGURED):
        return True
    return (
        correction.sync_status == Sync.PENDING
        and pending_since(correction) < timezone.now() - STALE_PENDING
    )


def corrections_sweep(now: dt.datetime | None = None) -> int:
    """Send again the corrections whose push task was lost (pending longer than STALE_PENDING:
    a worker killed mid-push, a flushed queue). Pushes are idempotent, so an extra one is
    harmless; run by `manage.py jobs_sweep` with the jobs."""
    if not artemis.is_configured():
        return 0
    now = now or timezone.now()
    stale = [
        correction
        for correction in OcrCorrection.objects.filter(sync_status=Sync.PENDING).order_by("pk")[
            :500
        ]
        if pending_since(correction) < now - STALE_PENDING
    ]
    requeued = set()
    for correction in stale:
        if correction.ocr_result_id in requeued:
            continue  # one push sends every correction of the result
        with transaction.atomic():
            result = _locked_result(correction.ocr_result_id)
            if result is not None and _requeue(result, actor=None, action="ocr.sync_retry"):
                requeued.add(correction.ocr_result_id)
    return len(requeued)


# ------------------------------------------------------------------------- links to Artemis


def artemis_link_create(*, document: Document, country_of_residence: str, actor) -> Document:
    """Create the customer and the document in Artemis where their ids are missing, keep the
    ids, then send the document's undelivered corrections.

    Vendor calls happen outside transactions; each id is saved (and audited) as soon as Artemis
    gives it, so a failure on the document leaves the customer linked. Creating is not
    idempotent on Artemis' side: a failure is reported, never retried automatically.
    """
    if not artemis.is_configured():
        raise ValidationError(_("Artemis is not configured on this server."))
    document = Document.objects.select_related("customer").get(pk=document.pk)
    customer = document.customer
    results = list(document.ocr_results.prefetch_related("corrections"))
    primary = primary_result(results)
    fields = effective_fields(primary, corrections_in_order(primary)) if primary else {}

    if not customer.artemis_customer_id:
        if customer.kind != Customer.Kind.INDIVIDUAL:
            raise ValidationError(
                _(
                    "Only individuals can be created in Artemis from here: enter the company's "
                    "Artemis id in the administration."
                )
            )
        residence = normalise("nationality", country_of_residence)
        if not is_valid_code(residence) or residence in SPECIMEN_CODES:
            raise ValidationError(
                {"country_of_residence": [_("An ISO 3166 alpha-3 code, such as FRA.")]}
            )
        first = fields.get("first_name") or customer.first_name
        last = fields.get("last_name") or customer.last_name
        payload = artemis.individual_payload(
            reference=f"kyc-customer-{customer.pk}",
            name=" ".join(str(part) for part in (first, last) if part),
            gender=normalise("gender", fields.get("gender")),
            country_of_residence=residence,
            nationality=normalise("nationality", fields.get("nationality")) or customer.nationality,
        )
        try:
            created = artemis.create_customer(payload)
        except ProviderError as error:
            raise ValidationError(str(error)) from error
        _keep_artemis_id(
            customer, "artemis_customer_id", str(created.id), customer=customer, actor=actor
        )

    if not document.artemis_document_id:
        if not document.file.name:
            raise ValidationError(_("This document's file was purged: it cannot be sent."))
        with default_storage.open(document.file.name, "rb") as handle:
            content = handle.read()
        try:
            created_document = artemis.append_document(
                customer.artemis_customer_id,
                front=artemis.Upload(document.download_name, content, document.content_type),
                document=artemis.document_payload(
                    kind=document.kind,
                    number=normalise("document_number", fields.get("document_number")),
                    issue_date=fields.get("issue_date") or None,
                    expiry_date=fields.get("expiry_date") or None,
                ),
            )
        except ProviderError as error:
            raise ValidationError(str(error)) from error
        _keep_artemis_id(
            document,
            "artemis_document_id",
            str(created_document.id),
            customer=customer,
            actor=actor,
        )

    with transaction.atomic():
        for result in results:
            locked = _locked_result(result.pk)
            if locked is not None:
                _requeue(locked, actor=actor, action="ocr.sync_retry")
    return document


def _keep_artemis_id(
    obj: Customer | Document, field: str, artemis_id: str, *, customer: Customer, actor
) -> None:
    """Save the id Artemis gave to `obj` (audited), unless it was linked meanwhile (a second
    click, an administrator): then the first id stays and the unused one is logged."""
    model = type(obj)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=obj.pk)
        current = getattr(locked, field)
        if current:
            logger.warning(
                "%s %s already linked to Artemis %s; created %s is left unused",
                model._meta.model_name,
                obj.pk,
                current,
                artemis_id,
            )
        else:
            setattr(locked, field, artemis_id)
            locked.save(update_fields=[field, *(["updated_at"] if model is Document else [])])
            audit_record(
                actor=actor,
                action="artemis.document_create"
                if model is Document
                else "artemis.customer_create",
                obj=locked,
                customer=customer,
                after={field: artemis_id},
            )
        setattr(obj, field, getattr(locked, field))


@task()
def push_ocr_correction_task(correction_id: int) -> None:
    """Deliver an OCR correction (with every earlier one of its result) to Artemis."""
    ocr_push(correction_id)

"""Onboarding decisions under the four-eyes rule: propose, then confirm or send back.

A proposal is judged on the evidence that existed when it was made. When a document, a report,
an OCR reading or an OCR correction of the customer is created or changed after the proposal,
the proposal is void: the reviewer would otherwise confirm something the proposer never saw.
Voidness is derived from timestamps (`evidence_changes_since`), so no writer of evidence has to
remember to call us; `decisions_void_for_customer` is there for writers that want the void to be
recorded at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kyc import roles
from kyc.models import (
    Customer,
    CustomerStatus,
    Decision,
    Document,
    OcrCorrection,
    OcrResult,
    Report,
)
from kyc.services.audit import audit_record, touch_customer


class ReasonCode(models.TextChoices):
    """The fixed list of decision reason codes (stable codes, translatable labels)."""

    DOCS_OK = "DOCS_OK", gettext_lazy("Documents consistent and complete")
    ID_MISMATCH = "ID_MISMATCH", gettext_lazy("Identity mismatch between documents")
    FRAUD_SUSPECTED = "FRAUD_SUSPECTED", gettext_lazy("Document fraud suspected")
    MANAGER_ALERTS = "MANAGER_ALERTS", gettext_lazy("Adverse manager alerts")
    SANCTIONS_HIT = "SANCTIONS_HIT", gettext_lazy("Sanctions or PEP list hit")
    INCOMPLETE_FILE = "INCOMPLETE_FILE", gettext_lazy("Incomplete file")
    OTHER = "OTHER", gettext_lazy("Other (explained below)")


# What confirming each outcome does to the customer's onboarding status.
STATUS_FOR_OUTCOME: dict[str, CustomerStatus] = {
    Decision.Outcome.APPROVE: Customer.Status.APPROVED,
    Decision.Outcome.REJECT: Customer.Status.REJECTED,
    Decision.Outcome.REQUEST_INFO: Customer.Status.INFO_REQUESTED,
}

MAX_REASON_LENGTH = 4000


# ------------------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class EvidenceChange:
    kind: str  # "document" | "report" | "ocr" | "ocr_correction"
    at: dt.datetime

    @property
    def label(self) -> str:
        labels = {
            "document": _("a document was added or changed"),
            "report": _("an analysis report was received or updated"),
            "ocr": _("OCR fields were read again"),
            "ocr_correction": _("an OCR correction was saved"),
        }
        return labels.get(self.kind, self.kind)


def _latest(queryset, group: str, field: str) -> Subquery:
    # One correlated MAX per kind of evidence, all in a single query on the customer row.
    return Subquery(
        queryset.order_by().values(group).annotate(latest=Max(field)).values("latest")[:1],
        output_field=models.DateTimeField(),
    )


def evidence_annotations() -> dict[str, Subquery]:
    """Subqueries on a Customer row: the latest change of each kind of its evidence. Exposed so
    that a page can fetch them together with its own annotations of the customer row."""
    documents = Document.objects.filter(customer=OuterRef("pk"))
    reports = Report.objects.filter(request__customer=OuterRef("pk"))
    ocr = OcrResult.objects.filter(document__customer=OuterRef("pk"))
    corrections = OcrCorrection.objects.filter(ocr_result__document__customer=OuterRef("pk"))
    return {
        "evidence_document_created": _latest(documents, "customer", "created_at"),
        "evidence_document_updated": _latest(documents, "customer", "updated_at"),
        "evidence_report_created": _latest(reports, "request__customer", "created_at"),
        # A re-fetched vendor report is updated in place (no timestamp of its own), but the job
        # that stored it finished at that moment.
        "evidence_report_refreshed": _latest(reports, "request__customer", "job__finished_at"),
        "evidence_ocr_updated": _latest(ocr, "document__customer", "updated_at"),
        "evidence_correction_created": _latest(
            corrections, "ocr_result__document__customer", "created_at"
        ),
    }


def evidence_from_row(row: Mapping[str, Any]) -> dict[str, dt.datetime | None]:
    """{kind: latest change} from a row annotated with `evidence_annotations()`."""

    def newest(*keys: str) -> dt.datetime | None:
        present = [row[key] for key in keys if row.get(key) is not None]
        return max(present) if present else None

    return {
        "document": newest("evidence_document_created", "evidence_document_updated"),
        "report": newest("evidence_report_created", "evidence_report_refreshed"),
        "ocr": newest("evidence_ocr_updated"),
        "ocr_correction": newest("evidence_correction_created"),
    }


def evidence_timestamps(customer_id: int) -> dict[str, dt.datetime | None]:
    """The latest change of each kind of evidence of a customer, in one query."""
    annotations = evidence_annotations()
    row = (
        Customer.objects.filter(pk=customer_id).annotate(**annotations).values(*annotations).first()
    )
    return evidence_from_row(row or {})


def changes_since(
    timestamps: Mapping[str, dt.datetime | None], since: dt.datetime
) -> list[EvidenceChange]:
    """The kinds of evidence changed strictly after `since`, oldest change first."""
    changes = [
        EvidenceChange(kind, at) for kind, at in timestamps.items() if at is not None and at > since
    ]
    return sorted(changes, key=lambda change: change.at)


def evidence_changes_since(customer_id: int, since: dt.datetime) -> list[EvidenceChange]:
    return changes_since(evidence_timestamps(customer_id), since)


def void_reason_text(changes: list[EvidenceChange]) -> str:
    """The sentence stored on a void decision and shown to the reviewer."""
    first = changes[0].at
    return _(
        "The evidence changed after this proposal was made: %(what)s (first change on "
        "%(when)s). Review the new evidence and propose again."
    ) % {
        "what": "; ".join(change.label for change in changes),
        "when": formats.date_format(timezone.localtime(first), "SHORT_DATETIME_FORMAT"),
    }


# ------------------------------------------------------------------------------------- helpers


def _decision_snapshot(decision: Decision) -> dict:
    return {
        "status": decision.status,
        "outcome": decision.outcome,
        "reason_code": decision.reason_code,
    }


def _void(decision: Decision, reason: str, *, actor) -> None:
    """Mark a locked, open proposal void and audit it (inside the caller's transaction)."""
    before = _decision_snapshot(decision)
    decision.status = Decision.Status.VOID
    decision.void_reason = reason
    decision.save(update_fields=["status", "void_reason"])
    audit_record(
        actor=actor,
        action="decision.void",
        obj=decision,
        customer=decision.customer,
        before=before,
        after={**_decision_snapshot(decision), "void_reason": reason},
    )


def _locked_open_proposal(decision: Decision) -> Decision:
    """Re-read the decision with its row locked; refuse anything but an open proposal."""
    # Only the decision row is locked (`of`): PostgreSQL refuses FOR UPDATE across a nullable
    # join, and the customer is locked on its own when its status changes.
    locked = (
        Decision.objects.select_for_update(of=("self",))
        .select_related("customer", "proposed_by")
        .get(pk=decision.pk)
    )
    if locked.status == Decision.Status.VOID:
        raise ValidationError(
            _("This proposal is void: %(reason)s") % {"reason": locked.void_reason},
            code="decision_void",
        )
    if locked.status != Decision.Status.PROPOSED:
        raise ValidationError(
            _("This proposal was already %(status)s; nothing was changed.")
            % {"status": locked.get_status_display().lower()},
            code="decision_closed",
        )
    return locked


def _require_reviewer(actor) -> None:
    if not roles.can_review(actor):
        raise PermissionDenied(_("Only a reviewer can confirm or send back a decision."))


def _require_not_proposer(decision: Decision, actor) -> None:
    if decision.proposed_by_id == actor.pk:
        raise PermissionDenied(
            _(
                "You proposed this decision: under the four-eyes rule another reviewer must "
                "confirm it or send it back."
            )
        )


def _void_if_evidence_changed(decision: Decision) -> str:
    """Void a locked open proposal whose evidence changed; returns the reason ('' if none)."""
    changes = evidence_changes_since(decision.customer_id, decision.proposed_at)
    if not changes:
        return ""
    reason = void_reason_text(changes)
    _void(decision, reason, actor=None)
    return reason


# ------------------------------------------------------------------------------------- services


@transaction.atomic
def decision_propose(
    *, customer: Customer, outcome: str, reason_code: str, reason: str, actor
) -> Decision:
    """Propose approve / reject / request information for a customer.

    Needs a case-worker role, a known outcome and reason code, and a free-text reason. At most
    one open proposal per customer: an open one whose evidence has changed since is voided
    first (it could not be confirmed anyway); an open one still valid is a refusal.
    """
    if not roles.can_work_cases(actor):
        raise PermissionDenied(_("Your account has no role that may propose a decision."))
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome not in Decision.Outcome.values:
        errors["outcome"] = [_("Choose approve, reject or request more information.")]
    if not reason_code:
        errors["reason_code"] = [_("Choose a reason code.")]
    elif reason_code not in ReasonCode.values:
        errors["reason_code"] = [_("Choose a reason code from the list.")]
    if not reason:
        errors["reason"] = [_("Explain the decision in a few words.")]
    elif len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = [
            _("Keep the reason under %(max)d characters.") % {"max": MAX_REASON_LENGTH}
        ]
    if errors:
        raise ValidationError(errors)

    # Locking the customer serialises concurrent proposals for it (the partial unique
    # constraint is the database's last word, this gives a clear message first).
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise ValidationError(_("This customer file was erased."), code="customer_erased")
    open_proposal = (
        Decision.objects.select_for_update(of=("self",))
        .select_related("customer", "proposed_by")
        .filter(customer=customer, status=Decision.Status.PROPOSED)
        .first()
    )
    if open_proposal is not None and not _void_if_evidence_changed(open_proposal):
        raise ValidationError(
            _(
                "This customer already has a proposal awaiting review (%(outcome)s, proposed "
                "by %(user)s). A reviewer must confirm it or send it back first."
            )
            % {
                "outcome": open_proposal.get_outcome_display(),
                "user": open_proposal.proposed_by.get_username(),
            },
            code="decision_open",
        )
    decision = Decision.objects.create(
        customer=customer,
        outcome=outcome,
        reason_code=reason_code,
        reason=reason,
        proposed_by=actor,
    )
    audit_record(
        actor=actor,
        action="decision.propose",
        obj=decision,
        customer=customer,
        after={**_decision_snapshot(decision), "reason": reason},
    )
    touch_customer(customer)
    return decision


def _clean_comment(comment: str, *, required: bool) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        raise ValidationError({"comment": [_("Say why the proposal is sent back.")]})
    if len(comment) > MAX_REASON_LENGTH:
        raise ValidationError(
            {
                "comment": [
                    _("Keep the comment under %(max)d characters.") % {"max": MAX_REASON_LENGTH}
                ]
            }
        )
    return comment


def _review(decision: Decision, *, actor, comment: str, status: str) -> Decision:
    """Confirm or send back an open proposal; see `decision_confirm` for the refusals."""
    _require_reviewer(actor)
    # The void must survive the refusal that follows it, so it commits in its own block and the
    # refusal is raised after the block (one atomic block would roll the void back with it).
    with transaction.atomic():
        # Customer first, then decision: the same order as decision_propose, so a proposal and
        # a review racing on one customer queue up instead of deadlocking.
        customer = Customer.objects.select_for_update().get(pk=decision.customer_id)
        locked = _locked_open_proposal(decision)
        _require_not_proposer(locked, actor)
        void_reason = _void_if_evidence_changed(locked)
        if not void_reason:
            before = _decision_snapshot(locked)
            locked.status = status
            locked.reviewed_by = actor
            locked.reviewed_at = timezone.now()
            locked.review_comment = comment
            locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])
            audit_record(
                actor=actor,
                action=(
                    "decision.confirm"
                    if status == Decision.Status.CONFIRMED
                    else "decision.send_back"
                ),
                obj=locked,
                customer=customer,
                before=before,
                after={**_decision_snapshot(locked), "comment": comment},
            )
            if status == Decision.Status.CONFIRMED:
                _apply_outcome(locked, customer, actor=actor)
            locked.customer = customer
            touch_customer(customer)
            return locked
    message = (
        _("This proposal is void and cannot be confirmed: %(reason)s")
        if status == Decision.Status.CONFIRMED
        else _("This proposal is void and cannot be sent back: %(reason)s")
    )
    raise ValidationError(message % {"reason": void_reason}, code="decision_void")


def _apply_outcome(decision: Decision, customer: Customer, *, actor) -> None:
    new_status = STATUS_FOR_OUTCOME[decision.outcome]
    if customer.status == new_status:
        return
    before_status = customer.status
    customer.status = new_status
    customer.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="customer.status",
        obj=customer,
        customer=customer,
        before={"status": before_status},
        after={"status": new_status, "decision": decision.pk},
    )


def decision_confirm(*, decision: Decision, actor, comment: str = "") -> Decision:
    """Confirm a proposal; the customer's status follows its outcome.

    Needs a reviewer (reviewer or admin role) who is not the proposer, and an open proposal.
    Every refusal is a PermissionDenied or ValidationError with a message for the user, and
    writes nothing, with one deliberate exception: a proposal whose evidence changed after it
    was made is recorded as void (with the reason the reviewer is then shown) before the
    refusal, so the history and the next reader see why. Atomic per write block.
    """
    _require_reviewer(actor)
    comment = _clean_comment(comment, required=False)
    return _review(decision, actor=actor, comment=comment, status=Decision.Status.CONFIRMED)


def decision_send_back(*, decision: Decision, actor, comment: str) -> Decision:
    """Send a proposal back to the analysts with a comment (required); the customer status
    does not change. Same rules and refusals as `decision_confirm`."""
    _require_reviewer(actor)
    comment = _clean_comment(comment, required=True)
    return _review(decision, actor=actor, comment=comment, status=Decision.Status.SENT_BACK)


@transaction.atomic
def decisions_void_for_customer(*, customer: Customer, reason: str, actor=None) -> int:
    """Void every open proposal of a customer now, e.g. from a writer of new evidence.

    Returns how many were voided. Optional: `decision_confirm` finds changed evidence by itself.
    """
    reason = (reason or "").strip() or _("The evidence changed after this proposal was made.")
    count = 0
    for decision in (
        Decision.objects.select_for_update(of=("self",))
        .select_related("customer", "proposed_by")
        .filter(customer_id=customer.pk, status=Decision.Status.PROPOSED)
    ):
        _void(decision, reason, actor=actor)
        count += 1
    return count

"""The job engine: ProviderJob moves queued -> submitted -> processing -> completed | failed |
expired, one task at a time.

How it stays safe:
- A worker *leases* a job (`lease_expires_at`) before it calls the provider and releases it with
  the result, so a task run twice, or by two workers at once, calls the provider once. A worker
  that dies mid-call leaves a lease that expires; `jobs_sweep()` then hands the job to another
  worker. (The provider may have received a submission whose answer was lost with the worker: no
  vendor here offers an idempotency key, so that one call can be repeated. It is never repeated
  while the first worker might still be alive.)
- Calls to providers happen outside database transactions: SQLite has one writer, and nobody
  should wait on a vendor's timeout (up to 150 s for Finovox).
- Every state change is written with the job row locked and is audited in the same transaction.
- Tasks are enqueued on commit and carry only the job id; they re-read the row and check its state.
- A job's tasks go to its provider's queue (Provider.queue_name), where only workers that hold
  the provider's credentials should listen. A worker that takes one anyway (settings differ
  between hosts) leaves the job as it is for another worker: never failed for what another host
  can do. The sweeper hands it out again, and its deadline still ends it, as `expired` with a
  message naming the credentials and the queue it needs.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import socket
from collections.abc import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.tasks import Task, task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kyc import providers
from kyc.i18n import Deferred, Message, as_detail, as_text
from kyc.logging import job_context
from kyc.models import (
    RISK_ORDER,
    AnalysisRequest,
    Customer,
    Document,
    FlagColor,
    ManagerAlert,
    OcrResult,
    Officer,
    OfficerRole,
    ProviderJob,
    Report,
    stored_name,
)
from kyc.providers.base import (
    CustomerInput,
    DocumentInput,
    JobInput,
    OcrData,
    OfficerData,
    Outcome,
    Provider,
    ProviderError,
    ReportData,
    RequestInput,
    State,
    Submission,
)
from kyc.services.audit import audit_record, touch_customer
from kyc.services.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

Status = ProviderJob.Status

# Jobs whose next action is this late are presumed to have lost their task.
SWEEP_GRACE = dt.timedelta(seconds=60)
# A job waiting for another job of its file to open the vendor request looks again this soon.
VENDOR_REQUEST_WAIT = dt.timedelta(seconds=5)

# Shown on a job that a worker without its provider's credentials left for another worker.
WAITING_FOR_WORKER = gettext_noop(
    "Waiting for a worker that can run %(provider)s: the worker on %(host)s that took this job "
    "has no %(provider)s credentials, so it left the job for another."
)
# Why a job expired when no worker able to run its provider handled it in time.
NO_ABLE_WORKER = gettext_noop(
    "No worker able to run %(provider)s handled this job before its deadline: a worker needs "
    "the %(provider)s credentials and must listen on the task queue “%(queue)s”. Use Retry once "
    "one does."
)


# ------------------------------------------------------------------------------------- snapshots


def customer_input(customer: Customer) -> CustomerInput:
    return CustomerInput(
        id=customer.pk,
        kind=customer.kind,
        legal_name=customer.legal_name,
        siren=customer.siren,
        siret=customer.siret,
        first_name=customer.first_name,
        last_name=customer.last_name,
        birth_date=customer.birth_date,
        nationality=customer.nationality,
    )


def document_input(document: Document) -> DocumentInput:
    file = document.file
    return DocumentInput(
        id=document.pk,
        kind=document.kind,
        content_type=document.content_type,
        original_name=document.download_name,
        size=document.size,
        sha256=document.sha256,
        period=document.period,
        document_date=document.document_date,
        october_media_id=document.october_media_id,
        open=lambda: default_storage.open(stored_name(file), "rb"),
    )


def job_input(job: ProviderJob, *, announced_ids: tuple[str, ...] = ()) -> JobInput:
    request = job.request
    return JobInput(
        id=job.pk,
        operation=job.operation,
        external_id=job.external_id,
        attempts=job.attempts,
        submitted_at=job.submitted_at,
        request=RequestInput(
            id=request.pk,
            code_type=request.code_type,
            code_id=request.code_id,
            october_request_id=request.october_request_id or "",
        ),
        customer=customer_input(request.customer),
        document=document_input(job.document) if job.document is not None else None,
        announced_ids=announced_ids,
    )


# --------------------------------------------------------------------------------------- timing


def backoff_seconds(
    step: int, *, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Exponential backoff with up to 20% jitter, never sooner than the vendor's Retry-After."""
    delay = min(cap, base * (2 ** min(step, 30)))
    delay *= 1 + random.uniform(0, 0.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def job_queue(provider_name: str) -> str:
    """The task queue of a provider's jobs (Provider.queue_name; "default" for a provider this
    process does not know: the worker that takes it leaves it alone, see `_claim`)."""
    provider = providers.get_provider(provider_name)
    return provider.queue_name if provider is not None else "default"


def _enqueue_job(task: Task, job: ProviderJob, *args, run_after=None) -> None:
    """Enqueue a task of this job, on commit, on its provider's queue."""
    enqueue_on_commit(task, job.pk, *args, run_after=run_after, queue_name=job_queue(job.provider))


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.JOB_LEASE_SECONDS)


def _lease_free(job: ProviderJob, now: dt.datetime) -> bool:
    return job.lease_expires_at is None or job.lease_expires_at <= now


# -------------------------------------------------------------------------------------- creation


def _create_job(
    *,
    provider: Provider,
    operation: str,
    request: AnalysisRequest,
    document: Document | None,
    actor,
) -> ProviderJob:
    now = timezone.now()
    job = ProviderJob.objects.create(
        request=request,
        document=document,
        provider=provider.name,
        operation=operation,
        status=Status.QUEUED,
        deadline_at=now + provider.deadline,
    )
    audit_record(
        actor=actor,
        action="job.create",
        obj=job,
        customer=request.customer,
        after={"provider": provider.name, "operation": operation, "document": job.document_id},
    )
    _enqueue_job(submit_job_task, job)
    return job


def jobs_create_for_document(*, document: Document, actor) -> list[ProviderJob]:
    """One job per enabled provider that takes this document. Call inside the document's
    transaction: the jobs and the document commit together, and tasks start after."""
    snapshot = document_input(document)
    jobs = []
    for provider in providers.enabled_providers():
        operation = provider.document_operation(snapshot)
        if operation:
            jobs.append(
                _create_job(
                    provider=provider,
                    operation=operation,
                    request=document.request,
                    document=document,
                    actor=actor,
                )
            )
    return jobs


def jobs_create_for_request(*, request: AnalysisRequest, actor) -> list[ProviderJob]:
    """Request-level jobs (e.g. October's Manager X-Ray) for every enabled provider."""
    snapshot = customer_input(request.customer)
    return [
        _create_job(provider=provider, operation=op, request=request, document=None, actor=actor)
        for provider in providers.enabled_providers()
        for op in provider.request_operations(snapshot)
    ]


def skipped_providers(document: Document) -> list[tuple[str, str]]:
    """(provider label, reason) for every enabled provider that does not take this document."""
    snapshot = document_input(document)
    return [
        (str(provider.label), provider.skip_reason(snapshot))
        for provider in providers.enabled_providers()
        if not provider.document_operation(snapshot)
    ]


# ------------------------------------------------------------------------------------- claiming


def _to_lock() -> QuerySet[ProviderJob]:
    # Lock the job row only: `document` is a nullable join (LEFT OUTER JOIN), and PostgreSQL
    # refuses FOR UPDATE on the nullable side of an outer join.
    return ProviderJob.objects.select_for_update(of=("self",)).select_related(
        "request__customer", "document"
    )


def _locked(job_id: int) -> ProviderJob:
    """The job, locked, when this worker holds its lease: the row is there."""
    return _to_lock().get(pk=job_id)


def _locked_if_any(job_id: int) -> ProviderJob | None:
    """The job, locked, or None when no such row exists (an id from a task or a form)."""
    return _to_lock().filter(pk=job_id).first()


def _claim(
    job_id: int, *, statuses: Iterable[str], force: bool = False
) -> tuple[ProviderJob, Provider] | None:
    """Lease the job for this worker if it is in one of `statuses`, its lease is free, its next
    action is due (or `force`) and this process can run its provider. Returns the job and its
    provider; None when there is nothing to do here: the caller just returns."""
    now = timezone.now()
    with transaction.atomic():
        job = _locked_if_any(job_id)
        if job is None or job.status not in statuses or not _lease_free(job, now):
            return None
        if not force and job.next_poll_at is not None and job.next_poll_at > now:
            return None  # another task is scheduled for this job later; let it run then
        if job.deadline_at is not None and now >= job.deadline_at:
            _expire(job, now)
            return None
        provider = _runnable_here(job.provider)
        if provider is None:
            _leave_for_another_worker(job)
            return None
        job.lease_expires_at = now + _lease()
        job.attempts += 1
        job.save(update_fields=["lease_expires_at", "attempts", "updated_at"])
        return job, provider


def _runnable_here(name: str) -> Provider | None:
    """The provider if this process can run it (it knows it and has its credentials)."""
    provider = providers.get_provider(name)
    return provider if provider is not None and provider.is_configured() else None


def _provider_label(name: str) -> str:
    provider = providers.get_provider(name)
    return str(provider.label) if provider is not None else name


def _leave_for_another_worker(job: ProviderJob) -> None:
    """This worker cannot run the job's provider (no credentials here: settings differ between
    hosts): leave the job as it is, for a worker that can. Nothing is failed. The sweeper hands
    the job out again while it waits, and its deadline still ends it (`_expire` then says no
    able worker took it). The job row says why it waits, once per worker host."""
    note = Deferred(
        WAITING_FOR_WORKER,
        provider=_provider_label(job.provider),
        host=socket.gethostname()[:100],
    )
    if job.last_error_detail == note.to_json():
        return  # already said: the sweeper's next hand-out must not rewrite the row each time
    _set_error(job, note)
    job.save(update_fields=["last_error", "last_error_detail", "updated_at"])
    audit_record(
        actor=None,
        action="job.wait_worker",
        obj=job,
        customer=job.request.customer,
        after={"status": job.status, "host": note.params["host"], "queue": job_queue(job.provider)},
    )
    logger.warning(
        "job %s left for another worker: provider %s is not configured in this process",
        job.pk,
        job.provider,
    )


def _no_able_worker_ran(job: ProviderJob) -> bool:
    """Whether a job reaches its deadline for want of a worker able to run it, rather than for
    want of the provider's answer: it was never submitted, or the last worker that took it had
    no credentials for its provider (`_leave_for_another_worker`)."""
    if job.status == Status.QUEUED:
        return True
    detail = job.last_error_detail
    return isinstance(detail, dict) and detail.get("msgid") == WAITING_FOR_WORKER


def _set_error(job: ProviderJob, message: Message) -> None:
    """Keep a message on the job (an error, or while it is active the provider's latest word):
    `last_error` in English (logs, audit rows, jobs_list, admin) and, for a Deferred,
    `last_error_detail` to show it in each reader's language (kyc.i18n)."""
    job.last_error = as_text(message)[:2000]
    job.last_error_detail = as_detail(message)


def _clear_error(job: ProviderJob) -> None:
    job.last_error = ""
    job.last_error_detail = None


def _expire(job: ProviderJob, now: dt.datetime) -> None:
    provider = providers.get_provider(job.provider)
    if _no_able_worker_ran(job):
        message: Message = Deferred(
            NO_ABLE_WORKER,
            provider=_provider_label(job.provider),
            queue=job_queue(job.provider),
        )
    else:
        message = (provider.expiry_message if provider else "") or Deferred(
            gettext_noop(
                "No result before the deadline: the job expired. Use Retry to submit the "
                "document again."
            )
        )
    before = {"status": job.status}
    job.status = Status.EXPIRED
    _set_error(job, message)
    job.finished_at = now
    job.next_poll_at = None
    job.lease_expires_at = None
    job.save()
    _refresh_document_status(job)
    audit_record(
        actor=None,
        action="job.expire",
        obj=job,
        customer=job.request.customer,
        before=before,
        after={"status": job.status, "error": job.last_error},
    )


# ---------------------------------------------------------------------------------------- submit


def job_submit(job_id: int) -> None:
    """Submit a queued job to its provider. Idempotent: does nothing unless the job is queued,
    due and unleased."""
    claimed = _claim(job_id, statuses=[Status.QUEUED])
    if claimed is None:
        return
    job, provider = claimed
    if not _vendor_request_turn(job, provider):
        return
    submission = _call_provider(job, provider, "submit")
    if submission is None:
        return

    now = timezone.now()
    with transaction.atomic():
        job = _locked(job_id)
        before = {"status": job.status}
        job.status = Status.SUBMITTED
        job.external_id = submission.external_id or job.external_id
        job.submitted_at = now
        job.error_count = 0
        _clear_error(job)
        job.lease_expires_at = None
        job.next_poll_at = now + dt.timedelta(seconds=provider.poll_interval)
        job.save()
        audit_record(
            actor=None,
            action="job.submit",
            obj=job,
            customer=job.request.customer,
            before=before,
            after={"status": job.status, "external_id": job.external_id},
        )
        _keep_vendor_ids(job, submission, now)
        if submission.outcome is not None:
            _apply_outcome(job, provider, submission.outcome, now)
        else:
            _enqueue_job(poll_job_task, job, run_after=job.next_poll_at)


def _vendor_request_turn(job: ProviderJob, provider: Provider) -> bool:
    """Whether this leased job may call its provider now.

    A provider that opens the file's vendor request on submit (October's POST /requests, with no
    idempotency key) must not be called by two jobs of one file at once: each would open a
    request. The first job claims the right to create it (for as long as its lease); the others
    see the claim, hand their lease back and look again shortly, by when the id is usually known.
    A claim whose job died runs out with its lease."""
    if not provider.creates_vendor_request or job.request.october_request_id:
        return True
    now = timezone.now()
    with transaction.atomic():
        request = AnalysisRequest.objects.select_for_update().get(pk=job.request_id)
        if request.october_request_id:
            job.request.october_request_id = request.october_request_id
            return True
        claim_until = request.vendor_request_claimed_until
        if (
            request.vendor_request_claimed_by in (None, job.pk)
            or not claim_until
            or (claim_until <= now)
        ):
            AnalysisRequest.objects.filter(pk=request.pk).update(
                vendor_request_claimed_by=job.pk, vendor_request_claimed_until=now + _lease()
            )
            return True
        retry_at = min(claim_until, now + VENDOR_REQUEST_WAIT)
        locked = _locked(job.pk)
        locked.lease_expires_at = None
        locked.attempts = max(locked.attempts - 1, 0)  # this turn called nobody
        locked.next_poll_at = retry_at
        locked.save(update_fields=["lease_expires_at", "attempts", "next_poll_at", "updated_at"])
        _enqueue_job(submit_job_task, job, run_after=retry_at)
    logger.info(
        "job %s waits for job %s to open the vendor request",
        job.pk,
        request.vendor_request_claimed_by,
    )
    return False


def _release_vendor_request_claim(job: ProviderJob) -> None:
    AnalysisRequest.objects.filter(pk=job.request_id, vendor_request_claimed_by=job.pk).update(
        vendor_request_claimed_by=None, vendor_request_claimed_until=None
    )


def _keep_vendor_ids(job: ProviderJob, submission: Submission, now: dt.datetime) -> None:
    """Save the vendor-side request and document ids a submission created (inside the caller's
    transaction, job locked).

    The first request id wins: if two jobs of one request still each created a vendor request
    (_vendor_request_turn prevents it unless a call outlives its job's lease), the later id is
    not kept on the request, but each job keeps the id it used in its own `external_id`. An id
    that another of our requests already holds (the vendor handed back an existing request) is
    not copied either: the column is unique.
    """
    request = job.request
    _release_vendor_request_claim(job)
    vendor_request_id = submission.request_external_id
    if vendor_request_id and not request.october_request_id:
        try:
            with transaction.atomic():
                updated = (
                    AnalysisRequest.objects.filter(pk=request.pk)
                    .filter(Q(october_request_id__isnull=True) | Q(october_request_id=""))
                    .update(october_request_id=vendor_request_id, updated_at=now)
                )
        except IntegrityError:
            updated = 0
            logger.warning(
                "job %s: vendor request id %s already belongs to another request",
                job.pk,
                vendor_request_id,
            )
        if updated:
            request.october_request_id = vendor_request_id
            audit_record(
                actor=None,
                action="request.vendor_id",
                obj=request,
                customer=request.customer,
                after={"provider": job.provider, "october_request_id": vendor_request_id},
            )
    if submission.document_external_id and job.document is not None:
        Document.objects.filter(pk=job.document.pk).update(
            october_media_id=submission.document_external_id, updated_at=now
        )
        job.document.october_media_id = submission.document_external_id


# ------------------------------------------------------------------------------------------ poll


def job_poll(job_id: int, *, force: bool = False, announced_ids: tuple[str, ...] = ()) -> None:
    """Ask the provider how a submitted job is doing. `force` polls now even if the next poll is
    scheduled later (a webhook said the result is ready); `announced_ids` are what that webhook
    named (JobInput.announced_ids)."""
    claimed = _claim(job_id, statuses=[Status.SUBMITTED, Status.PROCESSING], force=force)
    if claimed is None:
        return
    job, provider = claimed
    outcome = _call_provider(job, provider, "poll", announced_ids=announced_ids)
    if outcome is None:
        return

    now = timezone.now()
    with transaction.atomic():
        job = _locked(job_id)
        job.lease_expires_at = None
        job.error_count = 0
        _clear_error(job)
        job.poll_count += 1
        if outcome.state == State.PENDING:
            if outcome.message:
                # The provider's latest word ("not ready yet: ..."), shown on the job's row.
                _set_error(job, outcome.message)
            before = job.status
            job.status = Status.PROCESSING
            delay = outcome.poll_after or backoff_seconds(
                job.poll_count - 1, base=provider.poll_interval, cap=provider.max_poll_interval
            )
            job.next_poll_at = now + dt.timedelta(seconds=delay)
            if job.deadline_at is not None:
                job.next_poll_at = min(job.next_poll_at, job.deadline_at)
            job.save()
            if before != job.status:
                audit_record(
                    actor=None,
                    action="job.processing",
                    obj=job,
                    customer=job.request.customer,
                    before={"status": before},
                    after={"status": job.status},
                )
            _enqueue_job(poll_job_task, job, run_after=job.next_poll_at)
        else:
            _apply_outcome(job, provider, outcome, now)


def jobs_refetch(*, job_ids: Iterable[int], provider_name: str, announced_ids=()) -> None:
    """Have these jobs polled now, on commit, on their provider's queue: a webhook said the
    provider has news for them (`announced_ids`: what it named, see JobInput.announced_ids)."""
    queue = job_queue(provider_name)
    announced = [str(i) for i in announced_ids]
    for job_id in job_ids:
        args = (job_id, announced) if announced else (job_id,)
        enqueue_on_commit(refetch_job_task, *args, queue_name=queue)


# ---------------------------------------------------------------------------------------- errors


# The audit actions of a failed provider call and of a final outcome, written out rather than
# built from the method or status, so the registry test (AuditEvent.Action) can read them.
_ERROR_ACTIONS = {"submit": "job.submit_error", "poll": "job.poll_error"}
_OUTCOME_ACTIONS = {
    Status.COMPLETED: "job.completed",
    Status.FAILED: "job.failed",
    Status.EXPIRED: "job.expired",
}


def _call_provider(
    job: ProviderJob, provider: Provider, method: str, *, announced_ids: tuple[str, ...] = ()
):
    """Call `provider.submit` or `provider.poll` for a leased job, outside any transaction.

    Returns the result, or None after recording the failure on the job: a ProviderError as the
    vendor said it, and a provider bug as a permanent failure, so a crash never leaves the job
    leased forever.
    """
    try:
        return getattr(provider, method)(job_input(job, announced_ids=announced_ids))
    except ProviderError as error:
        _record_error(job.pk, error, action=_ERROR_ACTIONS[method])
    except Exception as error:
        logger.exception("provider %s crashed in %s of job %s", job.provider, method, job.pk)
        _record_error(job.pk, _crash(error), action=_ERROR_ACTIONS[method])
    return None


def _crash(error: Exception) -> ProviderError:
    return ProviderError(
        Deferred(
            gettext_noop("Internal error in the %(kind)s step: %(error)s"),
            kind=error.__class__.__name__,
            error=str(error)[:300],
        ),
        retryable=False,
    )


def _record_error(job_id: int, error: ProviderError, *, action: str) -> None:
    """Keep the job and its state; retry later if that can help and time remains, else fail."""
    now = timezone.now()
    with transaction.atomic():
        job = _locked_if_any(job_id)
        if job is None or job.status in ProviderJob.FINAL_STATUSES:
            return
        _release_vendor_request_claim(job)
        job.lease_expires_at = None
        job.error_count += 1
        _set_error(job, error.text)
        retry_at = None
        if error.retryable:
            delay = backoff_seconds(
                job.error_count - 1,
                base=settings.JOB_RETRY_BASE_SECONDS,
                cap=settings.JOB_RETRY_MAX_SECONDS,
                retry_after=error.retry_after,
            )
            retry_at = now + dt.timedelta(seconds=delay)
            if job.deadline_at is not None and retry_at >= job.deadline_at:
                retry_at = None
        before = {"status": job.status}
        if retry_at is not None:
            job.next_poll_at = retry_at
            job.save()
            next_task = submit_job_task if job.status == Status.QUEUED else poll_job_task
            _enqueue_job(next_task, job, run_after=retry_at)
        else:
            job.status = Status.FAILED
            job.finished_at = now
            job.next_poll_at = None
            job.save()
            _refresh_document_status(job)
        audit_record(
            actor=None,
            action=action,
            obj=job,
            customer=job.request.customer,
            before=before,
            after={
                "status": job.status,
                "error": job.last_error,
                "retry_at": retry_at.isoformat() if retry_at else None,
                "http_status": error.status_code,
            },
        )


# --------------------------------------------------------------------------------------- results


def _apply_outcome(job: ProviderJob, provider: Provider, outcome: Outcome, now) -> None:
    """Store a final outcome on our models. Runs inside the caller's transaction, job locked."""
    before = {"status": job.status}
    if outcome.state == State.COMPLETED:
        report_ids = [_store_report(job, data).pk for data in outcome.reports]
        for ocr in outcome.ocr:
            _store_ocr(job, ocr, report_ids)
        for officer in outcome.officers:
            _store_officer(job, officer, report_ids)
        job.status = Status.COMPLETED
        _clear_error(job)
    else:
        report_ids = []
        job.status = Status.EXPIRED if outcome.state == State.EXPIRED else Status.FAILED
        _set_error(
            job,
            outcome.message
            or (
                Deferred(gettext_noop("The provider could not analyse this document."))
                if job.status == Status.FAILED
                else provider.expiry_message
            ),
        )
    job.finished_at = now
    job.next_poll_at = None
    job.lease_expires_at = None
    job.save()
    customer = job.request.customer
    _refresh_document_status(job)
    if report_ids:
        refresh_customer_risk(customer)
    touch_customer(customer)
    audit_record(
        actor=None,
        action=_OUTCOME_ACTIONS[job.status],
        obj=job,
        customer=customer,
        before=before,
        after={"status": job.status, "reports": report_ids, "error": job.last_error or None},
    )


def _store_report(job: ProviderJob, data: ReportData) -> Report:
    values = {
        "request": job.request,
        "document": job.document,
        "job": job,
        "flag_color": data.flag_color,
        "flag_value": data.flag_value,
        "score": data.score,
        "reasons": [reason.as_dict() for reason in data.reasons],
        "summary": dict(data.summary),
        "raw": dict(data.raw),
    }
    if data.external_id:
        # Re-fetching the same vendor report updates it instead of duplicating it.
        report, _created = Report.objects.update_or_create(
            source=data.source, external_id=data.external_id, defaults=values
        )
    else:
        report = Report.objects.create(source=data.source, **values)
    if data.attachment is not None:
        name, content = data.attachment
        if report.attachment:
            report.attachment.delete(save=False)
        report.attachment.save(name, ContentFile(content), save=True)
    return report


def _store_ocr(job: ProviderJob, data: OcrData, report_ids: list[int]) -> OcrResult:
    """The provider's reading. Analysts' corrections are separate rows (OcrCorrection) and are
    never touched here, so a re-run never overwrites a correction."""
    report = Report.objects.filter(pk__in=report_ids, source=data.source).first()
    result, _created = OcrResult.objects.update_or_create(
        document=job.document,
        source=data.source,
        defaults={
            "fields": dict(data.fields),
            "confidence": dict(data.confidence),
            "report": report,
        },
    )
    return result


def _store_officer(job: ProviderJob, data: OfficerData, report_ids: list[int]) -> Officer:
    """Upsert a Manager X-Ray person with their companies and alerts: never duplicates."""
    officer, _created = Officer.objects.update_or_create(
        request=job.request,
        last_name=data.last_name,
        first_name=data.first_name,
        birth_date=data.birth_date,
        defaults={
            "confidence": data.confidence,
            "report_id": report_ids[0] if report_ids else None,
        },
    )
    customer = job.request.customer
    for role_data in data.roles:
        role, _created = OfficerRole.objects.update_or_create(
            officer=officer,
            company_name=role_data.company_name,
            siren=role_data.siren,
            start_date=role_data.start_date,
            defaults={"end_date": role_data.end_date},
        )
        for alert in role_data.alerts:
            ManagerAlert.objects.update_or_create(
                role=role,
                date=alert.date,
                name=alert.name,
                defaults={"level": alert.level, "customer": customer},
            )
    return officer


def _refresh_document_status(job: ProviderJob) -> None:
    if job.document_id is None:
        return
    still_active = ProviderJob.objects.filter(
        document_id=job.document_id, status__in=ProviderJob.ACTIVE_STATUSES
    ).exists()
    if not still_active:
        Document.objects.filter(pk=job.document_id, status=Document.Status.ONLINE).update(
            status=Document.Status.ANALYSED, updated_at=timezone.now()
        )


def refresh_customer_risk(customer: Customer) -> str:
    """Customer.risk_level = the worst flag across the customer's reports."""
    colors = set(
        Report.objects.filter(request__customer=customer).values_list("flag_color", flat=True)
    )
    worst = max(colors, key=lambda c: RISK_ORDER.get(c, 0), default=FlagColor.NONE)
    if worst != customer.risk_level:
        Customer.objects.filter(pk=customer.pk).update(risk_level=worst)
        customer.risk_level = worst
    return worst


# ------------------------------------------------------------------------------ retry and sweep


@transaction.atomic
def job_retry(*, job_id: int, actor) -> ProviderJob:
    """Re-queue a failed or expired job (the Retry button and `manage.py jobs_retry`)."""
    from django.core.exceptions import ValidationError

    job = _locked_if_any(job_id)
    if job is None:
        raise ValidationError(_("This job does not exist."))
    if not job.is_retryable:
        raise ValidationError(_("Only a failed or expired job can be retried."))
    if job.document is not None and job.document.status == Document.Status.PURGED:
        raise ValidationError(_("This document's file was purged: it cannot be analysed again."))
    provider = providers.get_provider(job.provider)
    if provider is None or not provider.is_configured():
        raise ValidationError(
            _("Provider %(name)s is not configured on this server.") % {"name": job.provider}
        )
    # Re-queuing this row would break the one-active-job rule if another job took its place.
    if (
        ProviderJob.objects.filter(
            request_id=job.request_id,
            document=job.document,  # None matches request-level jobs (IS NULL)
            provider=job.provider,
            operation=job.operation,
            status__in=ProviderJob.ACTIVE_STATUSES,
        )
        .exclude(pk=job.pk)
        .exists()
    ):
        raise ValidationError(_("Another job for this document and provider is already running."))
    before = {"status": job.status, "error": job.last_error, "attempts": job.attempts}
    now = timezone.now()
    job.status = Status.QUEUED
    job.external_id = ""
    job.poll_count = 0
    job.error_count = 0
    _clear_error(job)
    job.next_poll_at = None
    job.lease_expires_at = None
    job.submitted_at = None
    job.finished_at = None
    job.deadline_at = now + provider.deadline
    job.save()
    audit_record(
        actor=actor,
        action="job.retry",
        obj=job,
        customer=job.request.customer,
        before=before,
        after={"status": job.status},
    )
    _enqueue_job(submit_job_task, job)
    return job


def jobs_stuck(now: dt.datetime | None = None):
    """Active jobs whose task seems lost: lease expired, or next action overdue."""
    now = now or timezone.now()
    overdue = now - SWEEP_GRACE
    return ProviderJob.objects.filter(status__in=ProviderJob.ACTIVE_STATUSES).filter(
        Q(lease_expires_at__lte=now)
        | Q(lease_expires_at__isnull=True)
        & (
            Q(next_poll_at__lte=overdue)
            | Q(next_poll_at__isnull=True, updated_at__lte=overdue)
            | Q(deadline_at__lte=now)
        )
    )


def jobs_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Pick up jobs left in flight: expire those past their deadline, enqueue the others again.
    Safe to run at any time and from several places: tasks re-check state and leases."""
    now = now or timezone.now()
    counts = {"expired": 0, "requeued": 0}
    for job_id in list(jobs_stuck(now).values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            job = _locked_if_any(job_id)
            if job is None or job.status not in ProviderJob.ACTIVE_STATUSES:
                continue
            if job.deadline_at is not None and now >= job.deadline_at:
                if _lease_free(job, now):
                    _expire(job, now)
                    counts["expired"] += 1
                continue
            if job.lease_expires_at is not None and job.lease_expires_at <= now:
                # The worker holding it is presumed dead: free the job for another.
                job.lease_expires_at = None
                job.next_poll_at = None
                job.save(update_fields=["lease_expires_at", "next_poll_at", "updated_at"])
            next_task = submit_job_task if job.status == Status.QUEUED else poll_job_task
            _enqueue_job(next_task, job)
            counts["requeued"] += 1
    return counts


# ----------------------------------------------------------------------------------------- tasks
# The tasks of this engine, beside what they run: ids in, a service call out. Each re-reads its
# row and checks its state, so running one twice is harmless.


@task()
def submit_job_task(job_id: int) -> None:
    with job_context(job_id):  # log lines inside carry the job id
        job_submit(job_id)


@task()
def poll_job_task(job_id: int) -> None:
    with job_context(job_id):
        job_poll(job_id)


@task()
def refetch_job_task(job_id: int, announced_ids: list[str] | None = None) -> None:
    """Poll now: a webhook said the provider has news for this job (`announced_ids`: the ids it
    named, e.g. October's reportId, fetched directly)."""
    with job_context(job_id):
        job_poll(job_id, force=True, announced_ids=tuple(announced_ids or ()))

"""Background tasks: thin wrappers, ids in, a service call out. Each re-reads its row and checks
its state, so running a task twice is harmless."""

from __future__ import annotations

from django.tasks import task

from kyc.logging import job_context
from kyc.services import jobs, ocr, webhooks


@task()
def submit_job_task(job_id: int) -> None:
    with job_context(job_id):  # log lines inside carry the job id
        jobs.job_submit(job_id)


@task()
def poll_job_task(job_id: int) -> None:
    with job_context(job_id):
        jobs.job_poll(job_id)


@task()
def refetch_job_task(job_id: int, announced_ids: list[str] | None = None) -> None:
    """Poll now: a webhook said the provider has news for this job (`announced_ids`: the ids it
    named, e.g. October's reportId, fetched directly)."""
    with job_context(job_id):
        jobs.job_poll(job_id, force=True, announced_ids=tuple(announced_ids or ()))


@task()
def process_webhook_task(event_id: int) -> None:
    webhooks.webhook_process(event_id)


@task()
def sweep_jobs_task() -> None:
    jobs.jobs_sweep()


@task()
def push_ocr_correction_task(correction_id: int) -> None:
    """Deliver an OCR correction (with every earlier one of its result) to Artemis."""
    ocr.ocr_push(correction_id)

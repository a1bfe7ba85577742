"""Every background task, by the name queued rows and operators know it by.

Each task is defined beside the service it runs (kyc.services.jobs, .ocr, .webhooks), so that a
service enqueues the task object itself and no service imports this module: no import cycle.
These names stay importable because a queued task is stored by its path: rows enqueued before
the tasks moved (`kyc.tasks.submit_job_task`) still run after an upgrade.
"""

from __future__ import annotations

from kyc.services.jobs import poll_job_task, refetch_job_task, submit_job_task
from kyc.services.ocr import push_ocr_correction_task
from kyc.services.webhooks import process_webhook_task

__all__ = [
    "poll_job_task",
    "process_webhook_task",
    "push_ocr_correction_task",
    "refetch_job_task",
    "submit_job_task",
]

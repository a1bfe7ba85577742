"""The task queue's own bookkeeping, kept bounded.

With the database task backend every enqueue writes a django-tasks-db result row, and a job that
polls a vendor every few seconds enqueues one per poll: nothing deleted them. The state that
matters lives on our own rows (ProviderJob, OcrCorrection, WebhookEvent), so finished results
only serve debugging and can go after TASK_RESULTS_RETENTION_DAYS. The sweeper calls this on
every round; it deletes in small batches so that no round holds a long write lock. RQ keeps its
results in Redis with their own expiry, so there is nothing to do there.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.tasks import task_backends
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

PRUNE_BATCH = 2_000


def task_results_prune(*, now: dt.datetime | None = None, batches: int = 50) -> int:
    """Delete finished (successful or failed) results of the database backend older than the
    retention; at most `batches` batches a call (the next round goes on). Returns how many."""
    backend = task_backends["default"]
    if not isinstance(backend, DatabaseBackend):
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TASK_RESULTS_RETENTION_DAYS)
    old = DBTaskResult.objects.finished().filter(
        backend_name=backend.alias, finished_at__lte=cutoff
    )
    deleted = 0
    for _ in range(batches):
        ids = list(old.order_by().values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            break
        deleted += DBTaskResult.objects.filter(pk__in=ids).delete()[0]
    return deleted

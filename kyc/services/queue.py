"""Enqueueing background tasks from services: always after the transaction commits."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.tasks import Task
from django.utils import timezone

logger = logging.getLogger(__name__)


def enqueue_on_commit(
    task: Task,
    *args,
    run_after: dt.datetime | None = None,
    queue_name: str | None = None,
) -> None:
    """Enqueue `task(*args)` once the current transaction commits.

    Task arguments are ids and strings; the task re-reads its rows. `robust`: a broken task
    backend must not turn a committed change into an error page; the row is already saved and
    the sweepers (`jobs_sweep`) enqueue it again. `queue_name`: a queue of settings.TASK_QUEUES
    (a provider's jobs go to its own, see Provider.queue_name); one the backend does not know
    falls back to the task's default queue rather than losing the task.
    """
    if queue_name and queue_name != task.queue_name:
        queues = task.get_backend().queues
        if not queues or queue_name in queues:
            task = task.using(queue_name=queue_name)
        else:
            logger.warning(
                "task queue %r is not configured: %s goes to %r",
                queue_name,
                task.name,
                task.queue_name,
            )
    if run_after is not None and run_after > timezone.now():
        if run_after.microsecond and _whole_seconds(task):
            # RQ's scheduler keeps whole seconds (it truncates run_after): a poll could start up
            # to a second early, find its job not yet due, do nothing and leave the job to the
            # sweeper. Rounded up, it is never early.
            run_after = run_after.replace(microsecond=0) + dt.timedelta(seconds=1)
        task = task.using(run_after=run_after)
    transaction.on_commit(lambda: task.enqueue(*args), robust=True)


def _whole_seconds(task: Task) -> bool:
    from django_tasks_rq import RQBackend

    return isinstance(task.get_backend(), RQBackend)

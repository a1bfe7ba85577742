"""The task queue's finished results are pruned by the sweeper after TASK_RESULTS_RETENTION_DAYS;
results still queued or running, and recent ones, stay."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kyc import tasks
from kyc.services import task_results
from kyc.services.task_results import task_results_prune

pytestmark = pytest.mark.django_db


def enqueued(status: str, *, finished_days_ago: float | None) -> DBTaskResult:
    """A real result row, as `enqueue` writes it, then moved to `status` as a worker would."""
    result = tasks.process_webhook_task.enqueue(0)
    row = DBTaskResult.objects.get(pk=result.id)
    row.status = status
    if finished_days_ago is not None:
        row.started_at = row.finished_at = timezone.now() - dt.timedelta(days=finished_days_ago)
    row.save()
    return row


def test_finished_results_past_the_retention_are_deleted_and_the_rest_stay(settings):
    settings.TASK_RESULTS_RETENTION_DAYS = 7
    old_ok = enqueued("SUCCESSFUL", finished_days_ago=8)
    old_failed = enqueued("FAILED", finished_days_ago=30)
    recent = enqueued("SUCCESSFUL", finished_days_ago=6)
    waiting = enqueued("READY", finished_days_ago=None)
    running = enqueued("RUNNING", finished_days_ago=None)

    assert task_results_prune() == 2

    left = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert left == {recent.pk, waiting.pk, running.pk}
    assert old_ok.pk not in left and old_failed.pk not in left


def test_a_large_backlog_is_deleted_in_batches_over_rounds(settings, monkeypatch):
    settings.TASK_RESULTS_RETENTION_DAYS = 1
    monkeypatch.setattr(task_results, "PRUNE_BATCH", 3)
    for _ in range(10):
        enqueued("SUCCESSFUL", finished_days_ago=2)

    assert task_results_prune(batches=2) == 6
    assert task_results_prune(batches=2) == 4
    assert task_results_prune(batches=2) == 0
    assert not DBTaskResult.objects.exists()


def test_the_sweeper_prunes_and_says_so(settings, capsys):
    settings.TASK_RESULTS_RETENTION_DAYS = 7
    enqueued("SUCCESSFUL", finished_days_ago=10)

    call_command("jobs_sweep")

    assert "1 old task result(s) deleted" in capsys.readouterr().out
    assert not DBTaskResult.objects.exists()


def test_nothing_to_do_with_another_task_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

    assert task_results_prune() == 0

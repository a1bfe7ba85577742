"""Several RQ workers on one Redis: each task runs once, and a worker that dies mid-job loses
nothing.

The workers are real `manage.py rqworker default --with-scheduler` processes (the production
command) on Redis db 14 and on the test database; the test process enqueues through
django_tasks_rq like the web process does. Transactional tests, so that the workers see what the
test wrote and the other way round.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone

from kyc.models import AuditEvent, Customer, ProviderJob, Report
from tests.factories import make_customer, make_document, make_user
from tests.scaleout.conftest import run_manage, wait_for, wait_until_listening
from tests.tasks import PING_ACTION, record_worker_ping_task

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

TASKS = 20
DEFERRED_EVERY = 4  # one task in four waits for the scheduler


def requeued(sweep) -> int:
    """How many jobs `manage.py jobs_sweep` re-enqueued ("swept: N job(s) re-enqueued, ...")."""
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    return int(re.search(r"swept: (\d+)", sweep.stdout).group(1))


def test_two_workers_run_each_task_exactly_once(rq_tasks, rqworkers):
    customer = Customer.objects.create(kind="individual", last_name="Workers", first_name="Two")
    workers = [rqworkers(), rqworkers()]
    wait_until_listening(rq_tasks, *workers)

    run_after = timezone.now() + dt.timedelta(seconds=2)
    markers = [uuid.uuid4().hex for _ in range(TASKS)]
    results = []
    for index, marker in enumerate(markers):
        task = record_worker_ping_task
        if index % DEFERRED_EVERY == 0:
            task = task.using(run_after=run_after)
        results.append(task.enqueue(customer.pk, marker))

    rows = AuditEvent.objects.filter(action=PING_ACTION, customer=customer)
    wait_for(lambda: rows.count() >= TASKS, timeout=90, what=f"{TASKS} tasks to run")

    # Only now ask RQ for the results: django_tasks_rq's get_result() raises NoSuchJobError when
    # it catches a deferred task in the instant the scheduler releases it.
    def all_finished():
        for result in results:
            result.refresh()
        return all(result.is_finished for result in results)

    wait_for(all_finished, timeout=30, what=f"{TASKS} tasks to finish")

    assert [result.status for result in results] == [TaskResultStatus.SUCCESSFUL] * TASKS
    assert sorted(row.after["marker"] for row in rows) == sorted(markers)  # once each
    # Both workers took tasks from the queue.
    ran_on = {worker_id for result in results for worker_id in result.worker_ids}
    assert ran_on == {worker.name for worker in workers}
    # The deferred ones waited for their time, then the scheduler released them once.
    for result in results[::DEFERRED_EVERY]:
        # RQ's scheduler keeps whole seconds: a task may start within the second before.
        assert result.started_at >= run_after.replace(microsecond=0)
    assert rq_tasks.llen("rq:queue:default") == 0
    assert rq_tasks.zcard("rq:scheduled:default") == 0


def test_a_job_whose_worker_is_killed_mid_call_is_finished_by_another_worker(
    rq_tasks, rqworkers, settings, tmp_path
):
    """The worker dies inside the provider call (SIGKILL to it and its work horse, like a lost
    host): the job keeps its lease, nobody touches it until the lease runs out, then
    `manage.py jobs_sweep` hands it to the surviving worker, which completes it."""
    settings.KYC_PROVIDERS = ["tests.fakes.FakeProvider"]
    inside_submit = tmp_path / "submits.txt"
    provider_env = {
        "KYC_TEST_PROVIDERS": "tests.fakes.FakeProvider",
        "FAKE_SUBMIT_MARKER": str(inside_submit),
        "FAKE_POLL_INTERVAL": "0",  # poll at once, then complete: no deferred task involved
        "FAKE_COMPLETE_AT_ONCE": "1",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }
    doomed = rqworkers(FAKE_SUBMIT_SLEEP="300", **provider_env)
    wait_until_listening(rq_tasks, doomed)

    analyst = make_user(role=None)  # transactional test: the role groups were flushed
    document = make_document(customer=make_customer(actor=analyst), actor=analyst)
    job = document.jobs.get()
    wait_for(
        lambda: inside_submit.exists() and inside_submit.read_text().split() == [str(job.pk)],
        timeout=60,
        what="the first worker to be inside the provider call",
    )
    survivor = rqworkers(FAKE_SUBMIT_SLEEP="0", LOG_FORMAT="json", **provider_env)
    wait_until_listening(rq_tasks, survivor)

    doomed.kill()

    job.refresh_from_db()
    assert (job.status, job.attempts) == ("queued", 1)
    assert job.lease_expires_at > timezone.now()
    # While the lease runs, the sweeper leaves the job alone: its worker might still be alive.
    sweep = run_manage("jobs_sweep")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    assert requeued(sweep) == 0
    job.refresh_from_db()
    assert job.status == "queued"

    # The lease runs out (JOB_LEASE_SECONDS, 5 minutes; moved here rather than waited for).
    ProviderJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    sweep = run_manage("jobs_sweep")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    assert requeued(sweep) == 1

    def completed():
        job.refresh_from_db()
        return job.status == "completed"

    wait_for(completed, timeout=60, what=f"job {job.pk} to complete on the surviving worker")
    # Claims: the dead worker's submission, the survivor's, then the survivor's poll.
    assert (job.attempts, job.poll_count) == (3, 1)
    assert job.lease_expires_at is None
    assert Report.objects.filter(job=job).count() == 1
    # The provider saw the submission twice: the first answer died with its worker (the
    # documented cost; no vendor offers an idempotency key).
    assert inside_submit.read_text().split() == [str(job.pk), str(job.pk)]
    assert AuditEvent.objects.filter(action="job.completed", object_id=str(job.pk)).count() == 1

    survivor.stop()
    # The survivor ran with LOG_FORMAT=json: every line it wrote is one JSON object.
    lines = [line for line in survivor.output().splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(records[0])


def test_polling_jobs_finish_on_deferred_tasks_without_the_sweeper(
    rq_tasks, rqworkers, settings, tmp_path
):
    """Submit, then polls deferred by the provider's interval (run by RQ's scheduler) until the
    result is there. RQ schedules to the whole second; a poll that arrived before its time would
    find nothing due, do nothing, and leave the job to the sweeper a minute or two later."""
    settings.KYC_PROVIDERS = ["tests.fakes.FakeProvider"]
    provider_env = {
        "KYC_TEST_PROVIDERS": "tests.fakes.FakeProvider",
        "FAKE_POLL_INTERVAL": "1",  # the poll, 1 s after the submission, finds the result
        "FAKE_COMPLETE_AT_ONCE": "1",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }
    workers = [rqworkers(**provider_env), rqworkers(**provider_env)]
    wait_until_listening(rq_tasks, *workers)

    analyst = make_user(role=None)
    customer = make_customer(actor=analyst)
    jobs = [make_document(customer=customer, actor=analyst).jobs.get() for _ in range(4)]

    def all_completed():
        return all(ProviderJob.objects.get(pk=job.pk).status == "completed" for job in jobs)

    try:
        wait_for(all_completed, timeout=20, what="every polling job to complete")
    except BaseException:
        for job in ProviderJob.objects.filter(pk__in=[job.pk for job in jobs]):
            print(job.pk, job.status, job.attempts, job.poll_count, job.next_poll_at)
        raise
    for job in jobs:
        job.refresh_from_db()
        assert (job.attempts, job.poll_count) == (2, 1)  # the submission, then one poll

"""Real workers run our `django.tasks` tasks: the database worker and the RQ worker.

Each test enqueues tests.tasks.record_worker_ping_task from the test process, then starts the
worker as a separate process (the command an operator runs) on the very database the test uses,
and looks for the row the task wrote. The tests are transactional so the worker can see the
enqueued task and the test can see the worker's row.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kyc.models import AuditEvent, Customer
from tests.conftest import empty_redis_database
from tests.fake_vendors import database_env
from tests.tasks import PING_ACTION, record_worker_ping_task

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"
WORKER_TIMEOUT = 60


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    worker_env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    worker_env.update(database_env())
    worker_env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    worker_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=worker_env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )


@pytest.fixture
def customer(transactional_db):
    # Straight through the ORM: customer_create would enqueue the app's own jobs, and the
    # worker under test must run only the task this test enqueued.
    return Customer.objects.create(kind="individual", last_name="Worker", first_name="Test")


def ping_rows(customer: Customer, marker: str):
    return AuditEvent.objects.filter(
        action=PING_ACTION, customer=customer, after={"marker": marker}
    )


# ------------------------------------------------------------------------- database + db_worker


@pytest.mark.django_db(transaction=True)
def test_database_worker_runs_a_task_enqueued_by_the_app(settings, customer):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    marker = uuid.uuid4().hex

    result = record_worker_ping_task.enqueue(customer.pk, marker)

    assert result.status == TaskResultStatus.READY
    assert DBTaskResult.objects.count() == 1
    assert not ping_rows(customer, marker).exists()

    worker = run_manage("db_worker", "--batch", "--no-startup-delay", "--queue-name", "*")

    assert worker.returncode == 0, worker.stderr
    event = ping_rows(customer, marker).get()
    assert event.actor is None
    assert event.object_type == "customer"
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == marker
    assert result.worker_ids


@pytest.mark.django_db(transaction=True)
def test_database_worker_records_a_failing_task_as_failed(settings, customer):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    missing_customer_id = customer.pk + 10_000

    result = record_worker_ping_task.enqueue(missing_customer_id, "never")
    worker = run_manage("db_worker", "--batch", "--no-startup-delay", "--queue-name", "*")

    assert worker.returncode == 0, worker.stderr
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    # A path, not .exception_class: import_string cannot import a nested class like this one.
    assert result.errors[-1].exception_class_path == "kyc.models.Customer.DoesNotExist"
    assert "matching query does not exist" in result.errors[-1].traceback
    assert not AuditEvent.objects.filter(action=PING_ACTION).exists()


# ------------------------------------------------------------------------------- Redis + rqworker


@pytest.fixture
def redis_db15():
    with empty_redis_database(REDIS_TEST_URL) as client:
        yield client


@pytest.fixture
def rq_tasks(settings, redis_db15):
    """This process enqueues through django_tasks_rq, as kyc/settings.py does with REDIS_URL.

    Only enqueueing happens here, and it needs RQ_QUEUES, not django_rq in INSTALLED_APPS (which
    would reload the app registry); the worker process gets the real REDIS_URL configuration.
    """
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": REDIS_TEST_URL}}
    return redis_db15


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_rq_worker_runs_a_django_task_enqueued_through_redis(rq_tasks, customer):
    marker = uuid.uuid4().hex

    result = record_worker_ping_task.enqueue(customer.pk, marker)

    assert result.status == TaskResultStatus.READY
    assert rq_tasks.llen("rq:queue:default") == 1
    assert not ping_rows(customer, marker).exists()

    # django_tasks_rq needs its own Job class in the worker (its README says so).
    worker = run_manage(
        "rqworker", "default", "--burst", "--job-class", "django_tasks_rq.Job",
        REDIS_URL=REDIS_TEST_URL,
    )  # fmt: skip

    assert worker.returncode == 0, worker.stderr
    event = ping_rows(customer, marker).get()
    assert event.actor is None
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == marker
    assert rq_tasks.llen("rq:queue:default") == 0


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_plain_rqworker_command_runs_our_tasks(rq_tasks, customer):
    marker = uuid.uuid4().hex
    result = record_worker_ping_task.enqueue(customer.pk, marker)

    worker = run_manage("rqworker", "default", "--burst", REDIS_URL=REDIS_TEST_URL)

    assert worker.returncode == 0, worker.stderr
    assert ping_rows(customer, marker).exists(), worker.stderr[-2000:]
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL

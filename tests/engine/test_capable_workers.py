"""A worker runs only the jobs it can: a vendor's jobs wait for a worker with that vendor's
credentials, on that vendor's own task queue, and are never failed by one without them.

Settings differ between hosts (a vendor's key on some workers only): the job engine must leave a
job it cannot run for another worker, the sweeper must keep handing it out, and if no able worker
ever comes, the deadline still ends it, as `expired` with a message saying what it needs. Checked
in process against the fake Finovox server, then with real `db_worker` and `rqworker` processes.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time

from kyc.models import AuditEvent, Document, ProviderJob
from kyc.services import jobs, ocr
from kyc.templatetags.kyc_tags import job_error
from tests.conftest import empty_redis_database
from tests.factories import make_customer, make_document, make_user, pdf_bytes
from tests.fake_vendors import (
    FINOVOX_KEY,
    WORKER_TIMEOUT,
    FakeFinovox,
    base_url,
    database_env,
    serving,
)

FINOVOX = "kyc.providers.finovox.FinovoxProvider"
LOCAL = "kyc.providers.local.LocalProvider"
TOKEN = "retrieve-token-capable"
REDIS_TEST_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def finovox(vendor_server, settings):
    """Finovox configured in this process (the web host that creates the jobs), alone."""
    settings.KYC_PROVIDERS = [FINOVOX]
    settings.FINOVOX_API_KEY = FINOVOX_KEY
    settings.FINOVOX_BASE_URL = base_url(vendor_server)
    settings.FINOVOX_POLL_SECONDS = 30
    settings.FINOVOX_TIMEOUT = 5.0
    with serving(vendor_server) as served:
        yield FakeFinovox(served)


def statement() -> Document:
    actor = make_user(role=None)
    return make_document(
        customer=make_customer(actor=actor),
        actor=actor,
        content=pdf_bytes(),
        name="statement.pdf",
        kind=Document.Kind.BANK_STATEMENT,
    )


def finovox_job(document: Document) -> ProviderJob:
    return document.jobs.get(provider="finovox")


def reload(job: ProviderJob) -> ProviderJob:
    job.refresh_from_db()
    return job


def waits(job: ProviderJob) -> bool:
    """Whether the job row says it waits for a worker with Finovox's credentials."""
    start = "Waiting for a worker that can run Finovox: the worker on "
    end = " that took this job has no Finovox credentials, so it left the job for another."
    return job.last_error.startswith(start) and job.last_error.endswith(end)


# ------------------------------------------------------------------------------------ in process


def test_every_providers_queue_is_one_the_task_backends_know():
    from kyc.providers import provider_classes

    assert {cls.queue_name for cls in provider_classes()} <= set(django_settings.TASK_QUEUES)
    assert {"october", "finovox", "mindee"} <= set(django_settings.TASK_QUEUES)
    assert ocr.PUSH_QUEUE in django_settings.TASK_QUEUES  # the Artemis outbox's
    assert django_settings.TASKS["default"]["QUEUES"] == django_settings.TASK_QUEUES


@pytest.mark.django_db
def test_a_vendors_jobs_go_to_the_vendors_own_queue(
    finovox, settings, django_capture_on_commit_callbacks
):
    settings.KYC_PROVIDERS = [LOCAL, FINOVOX]
    with django_capture_on_commit_callbacks(execute=True):
        document = statement()
    queues = dict(
        DBTaskResult.objects.filter(task_path="kyc.services.jobs.submit_job_task").values_list(
            "args_kwargs__args__0", "queue_name"
        )
    )
    assert queues == {
        finovox_job(document).pk: "finovox",
        document.jobs.get(provider="local").pk: "default",
    }


@pytest.mark.django_db
def test_a_worker_without_the_vendors_credentials_leaves_the_job_for_one_that_has_them(
    finovox, settings, django_capture_on_commit_callbacks
):
    job = finovox_job(statement())
    settings.FINOVOX_API_KEY = ""  # this worker's host has no Finovox key

    jobs.job_submit(job.pk)
    jobs.job_submit(job.pk)  # the sweeper's next hand-out to the same worker

    job = reload(job)
    assert (job.status, job.attempts, job.error_count, job.lease_expires_at) == (
        "queued",
        0,
        0,
        None,
    )
    assert waits(job), job.last_error
    assert finovox.analyses == []  # Finovox was never called
    # Said once, not rewritten at every hand-out.
    assert AuditEvent.objects.filter(action="job.wait_worker", object_id=str(job.pk)).count() == 1
    assert not AuditEvent.objects.filter(action="job.fail", object_id=str(job.pk)).exists()

    # The sweeper hands it out again, on Finovox's queue, and fails nothing.
    with (
        freeze_time(timezone.now() + dt.timedelta(seconds=61)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert jobs.jobs_sweep() == {"expired": 0, "requeued": 1}
    assert reload(job).status == "queued"
    requeued = DBTaskResult.objects.filter(task_path="kyc.services.jobs.submit_job_task").latest(
        "enqueued_at"
    )
    assert (requeued.args_kwargs["args"], requeued.queue_name) == ([job.pk], "finovox")

    # A worker with the key takes it from there.
    settings.FINOVOX_API_KEY = FINOVOX_KEY
    finovox.accept(TOKEN)
    jobs.job_submit(job.pk)
    job = reload(job)
    assert (job.status, job.external_id, job.last_error) == ("submitted", TOKEN, "")


@pytest.mark.django_db
def test_a_polling_job_is_left_alone_by_a_worker_without_the_credentials(finovox, settings):
    finovox.accept(TOKEN)
    job = finovox_job(statement())
    jobs.job_submit(job.pk)
    job = reload(job)
    settings.FINOVOX_API_KEY = ""

    with freeze_time(job.next_poll_at + dt.timedelta(seconds=1)):
        jobs.job_poll(job.pk)
        jobs.job_poll(job.pk, force=True)  # a webhook's re-fetch too

    polled = reload(job)
    assert (polled.status, polled.next_poll_at, polled.poll_count) == (
        "submitted",
        job.next_poll_at,
        0,
    )
    assert waits(polled)
    assert finovox.retrieves == []


@pytest.mark.django_db
def test_a_job_no_able_worker_takes_before_its_deadline_expires_saying_what_it_needs(
    finovox, settings, client
):
    job = finovox_job(statement())
    settings.FINOVOX_API_KEY = ""
    jobs.job_submit(job.pk)

    with freeze_time(job.deadline_at + dt.timedelta(seconds=1)):
        assert jobs.jobs_sweep()["expired"] == 1

    job = reload(job)
    assert job.status == "expired"
    assert job.last_error == (
        "No worker able to run Finovox handled this job before its deadline: a worker needs the "
        "Finovox credentials and must listen on the task queue “finovox”. Use Retry once one does."
    )
    with translation.override("fr"):
        assert job_error(job).startswith(
            "Aucun worker capable d\u2019exécuter Finovox n\u2019a traité cette tâche avant son "
            "échéance\u00a0: un worker doit avoir les identifiants Finovox et écouter la file de "
            "tâches «\u00a0finovox\u00a0»."
        )
    # The web host has the key: the analyst can retry from the customer file.
    settings.FINOVOX_API_KEY = FINOVOX_KEY
    client.force_login(make_user("capable-analyst", role="analyst"))
    page = client.get(reverse("kyc:customer-detail", args=[job.request.customer_id])).text
    assert f'action="{reverse("kyc:job-retry", args=[job.pk])}"' in page


@pytest.mark.django_db
def test_a_job_that_was_submitted_then_left_expires_with_the_same_message(finovox, settings):
    finovox.accept(TOKEN)
    job = finovox_job(statement())
    jobs.job_submit(job.pk)
    settings.FINOVOX_API_KEY = ""
    with freeze_time(reload(job).next_poll_at):
        jobs.job_poll(job.pk)
    with freeze_time(job.deadline_at + dt.timedelta(seconds=1)):
        jobs.jobs_sweep()
    job = reload(job)
    assert job.status == "expired"
    assert job.last_error.startswith("No worker able to run Finovox handled this job")


# ----------------------------------------------------------------------------- real workers


def run_worker(media_root, *command: str, finovox_env: dict[str, str], **env: str):
    """A worker process (`manage.py <command>`) on the test database; Finovox's settings come
    only from `finovox_env`, so an empty one is a host without Finovox credentials."""
    worker_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FINOVOX_", "MINDEE_", "OCTOBER_", "ARTEMIS_"))
        and name not in {"DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    worker_env.update(database_env())
    worker_env.update(
        DJANGO_SETTINGS_MODULE="tests.vendor_settings",
        PRIVATE_MEDIA_ROOT=str(media_root),
        KYC_TEST_PROVIDERS=f"{LOCAL},{FINOVOX}",
    )
    worker_env.update(finovox_env)
    worker_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        env=worker_env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )


def finovox_env(finovox: FakeFinovox) -> dict[str, str]:
    return {"FINOVOX_API_KEY": FINOVOX_KEY, "FINOVOX_BASE_URL": finovox.url}


DB_WORKER = ("db_worker", "--batch", "--no-startup-delay")


@pytest.mark.django_db(transaction=True)
def test_database_workers_take_finovox_jobs_only_where_finovox_is_configured(
    finovox, settings, tmp_path
):
    settings.KYC_PROVIDERS = [LOCAL, FINOVOX]
    finovox.accept(TOKEN)
    document = statement()
    job = finovox_job(document)
    submit = DBTaskResult.objects.get(
        task_path="kyc.services.jobs.submit_job_task", args_kwargs__args=[job.pk]
    )
    media = tmp_path / "private"

    # A worker of the default queue only (no Finovox key on its host) never sees the task.
    worker = run_worker(media, *DB_WORKER, "--queue-name", "default", finovox_env={})
    assert worker.returncode == 0, worker.stderr[-3000:]
    submit.refresh_from_db()
    assert submit.status == "READY"
    assert reload(job).status == "queued"
    assert document.jobs.get(provider="local").status == "completed"

    # One that listens everywhere without the key takes the task and leaves the job alone.
    worker = run_worker(media, *DB_WORKER, "--queue-name", "*", finovox_env={})
    assert worker.returncode == 0, worker.stderr[-3000:]
    submit.refresh_from_db()
    assert submit.status == "SUCCESSFUL"
    job = reload(job)
    assert job.status == "queued" and waits(job), (job.status, job.last_error)
    assert finovox.analyses == []

    # The sweeper hands it out again; a worker of Finovox's queue with the key submits it.
    ProviderJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert jobs.jobs_sweep()["requeued"] == 1
    worker = run_worker(
        media, *DB_WORKER, "--queue-name", "finovox", finovox_env=finovox_env(finovox)
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    job = reload(job)
    assert (job.status, job.external_id, job.last_error) == ("submitted", TOKEN, "")
    assert len(finovox.analyses) == 1


@pytest.fixture
def rq_db13(settings):
    """This process enqueues through RQ on Redis db 13, every queue of settings.TASK_QUEUES, as
    kyc/settings.py does with REDIS_URL."""
    with empty_redis_database(REDIS_TEST_URL) as client:
        settings.TASKS = {
            "default": {
                "BACKEND": "django_tasks_rq.RQBackend",
                "QUEUES": list(django_settings.TASK_QUEUES),
            }
        }
        settings.RQ_QUEUES = {name: {"URL": REDIS_TEST_URL} for name in settings.TASK_QUEUES}
        yield client


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_rq_workers_take_finovox_jobs_only_where_finovox_is_configured(finovox, rq_db13, tmp_path):
    finovox.accept(TOKEN)
    document = statement()
    job = finovox_job(document)
    assert rq_db13.llen("rq:queue:finovox") == 1
    media = tmp_path / "private"
    rq = ("rqworker", "--burst")

    # The production command of a host without Finovox: its queues lack Finovox's.
    worker = run_worker(media, *rq, "default", finovox_env={}, REDIS_URL=REDIS_TEST_URL)
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert rq_db13.llen("rq:queue:finovox") == 1
    assert reload(job).status == "queued"

    # Misconfigured: listening on Finovox's queue without the key. The job is left, not failed.
    worker = run_worker(media, *rq, "finovox", finovox_env={}, REDIS_URL=REDIS_TEST_URL)
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert rq_db13.llen("rq:queue:finovox") == 0
    job = reload(job)
    assert job.status == "queued" and waits(job), (job.status, job.last_error)
    assert finovox.analyses == []

    ProviderJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert jobs.jobs_sweep()["requeued"] == 1
    assert rq_db13.llen("rq:queue:finovox") == 1
    worker = run_worker(
        media,
        *rq,
        "default",
        "finovox",
        finovox_env=finovox_env(finovox),
        REDIS_URL=REDIS_TEST_URL,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    job = reload(job)
    assert (job.status, job.external_id) == ("submitted", TOKEN)
    assert len(finovox.analyses) == 1

"""The job engine, in process: state machine, retries, deadlines, idempotency, sweep, retry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time

from kyc.models import AuditEvent, Customer, Document, ProviderJob, Report
from kyc.providers.base import Outcome, ProviderError, State, Submission
from kyc.services import jobs, privacy
from tests.factories import make_customer, make_document, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_provider(fake_provider, settings):
    settings.JOB_RETRY_BASE_SECONDS = 10
    settings.JOB_RETRY_MAX_SECONDS = 600
    return fake_provider


def new_job(**document_overrides) -> ProviderJob:
    document = make_document(**document_overrides)
    return document.jobs.get()


def reload(job: ProviderJob) -> ProviderJob:
    job.refresh_from_db()
    return job


def test_upload_creates_one_queued_job_per_enabled_provider_that_takes_the_kind():
    document = make_document(kind=Document.Kind.PASSPORT)
    job = document.jobs.get()
    assert (job.provider, job.operation, job.status) == ("fake", "check", "queued")
    assert job.deadline_at > timezone.now() + dt.timedelta(minutes=29)
    assert AuditEvent.objects.filter(action="job.create", object_id=str(job.pk)).exists()


def test_a_kind_the_provider_refuses_gets_no_job_and_a_reason():
    document = make_document(kind=Document.Kind.OTHER)
    assert not document.jobs.exists()
    assert jobs.skipped_providers(document) == [
        ("Fake provider", "The fake provider does not take 'other' documents.")
    ]


def test_jobs_are_enqueued_only_after_the_upload_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = new_job()
    assert not DBTaskResult.objects.exists()
    for callback in callbacks:
        callback()
    task = DBTaskResult.objects.get()
    assert task.task_path == "kyc.services.jobs.submit_job_task"
    assert task.args_kwargs["args"] == [job.pk]


def test_job_goes_queued_submitted_processing_completed_and_stores_its_report():
    job = new_job()
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "submitted"
    assert job.external_id == f"fake-{job.pk}"
    assert job.next_poll_at is not None and job.lease_expires_at is None

    with freeze_time(job.next_poll_at + dt.timedelta(seconds=1)):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "processing"
    assert job.poll_count == 1

    with freeze_time(job.next_poll_at + dt.timedelta(seconds=1)):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "completed"
    assert job.finished_at is not None
    report = Report.objects.get(job=job)
    assert (report.source, report.flag_color, report.document_id) == (
        "local_forensics",
        "orange",
        job.document_id,
    )
    customer = Customer.objects.get(pk=job.request.customer_id)
    assert customer.risk_level == "orange"
    assert Document.objects.get(pk=job.document_id).status == "analysed"
    actions = list(
        AuditEvent.objects.filter(object_type="providerjob", object_id=str(job.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["job.create", "job.submit", "job.processing", "job.completed"]


def test_a_synchronous_provider_completes_at_submission(fake_provider):
    job = new_job()
    done = Outcome(state=State.COMPLETED)
    fake_provider.script = [Submission(external_id="sync-1", outcome=done)]
    jobs.job_submit(job.pk)
    assert reload(job).status == "completed"


def test_a_poll_before_its_time_does_nothing(fake_provider):
    job = new_job()
    jobs.job_submit(job.pk)
    jobs.job_poll(job.pk)  # due in 5 s, not now
    assert reload(job).poll_count == 0
    assert [kind for kind, _ in fake_provider.calls] == ["submit"]


def test_running_the_submit_task_twice_submits_once(fake_provider):
    job = new_job()
    jobs.job_submit(job.pk)
    jobs.job_submit(job.pk)
    assert fake_provider.calls == [("submit", job.pk)]


def test_a_job_leased_by_another_worker_is_left_alone(fake_provider):
    job = new_job()
    ProviderJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    jobs.job_submit(job.pk)
    assert fake_provider.calls == []
    assert reload(job).status == "queued"


@pytest.mark.parametrize(
    ("error", "minimum_delay"),
    [
        (ProviderError("Read timed out after 30 s", retryable=True), 10),
        (ProviderError("Connection refused", retryable=True), 10),
        (ProviderError("429 Too Many Requests", retryable=True, retry_after=120), 120),
        (ProviderError("503 Service Unavailable", retryable=True, status_code=503), 10),
    ],
    ids=["timeout", "connection", "429-retry-after", "5xx"],
)
def test_retryable_errors_keep_the_job_and_back_off(fake_provider, error, minimum_delay):
    job = new_job()
    fake_provider.script = [error, error]
    before = timezone.now()
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "queued"
    assert job.last_error == str(error)
    assert job.error_count == 1
    first_delay = (job.next_poll_at - before).total_seconds()
    assert minimum_delay <= first_delay <= max(minimum_delay, 10 * 1.2) + 1

    with freeze_time(job.next_poll_at + dt.timedelta(seconds=1)) as frozen:
        jobs.job_submit(job.pk)
        job = reload(job)
        assert job.error_count == 2
        second_delay = (job.next_poll_at - timezone.now()).total_seconds()
        assert second_delay >= min(20, minimum_delay * 2) if not error.retry_after else True
        frozen.move_to(job.next_poll_at + dt.timedelta(seconds=1))
        jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "submitted"
    assert job.error_count == 0 and job.last_error == ""
    assert job.attempts == 3


def test_a_permanent_error_fails_the_job_at_once_with_the_vendor_message(fake_provider):
    job = new_job()
    fake_provider.script = [
        ProviderError("400 Bad Request: unsupported file", retryable=False, status_code=400)
    ]
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "failed"
    assert job.last_error == "400 Bad Request: unsupported file"
    assert job.next_poll_at is None
    jobs.job_submit(job.pk)
    assert len(fake_provider.calls) == 1


def test_errors_while_polling_are_retried_then_the_poll_succeeds(fake_provider):
    job = new_job()
    jobs.job_submit(job.pk)
    job = reload(job)
    fake_provider.script = [ProviderError("502 Bad Gateway", retryable=True)]
    with freeze_time(job.next_poll_at + dt.timedelta(seconds=1)):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "submitted" and job.last_error == "502 Bad Gateway"
    with freeze_time(job.next_poll_at + dt.timedelta(seconds=1)):
        jobs.job_poll(job.pk)
    assert reload(job).status in ("processing", "completed")


def test_a_job_past_its_deadline_expires_with_the_provider_message(fake_provider):
    job = new_job()
    jobs.job_submit(job.pk)
    job = reload(job)
    with freeze_time(job.deadline_at + dt.timedelta(seconds=1)):
        jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "expired"
    assert job.last_error == "Fake results are kept 30 minutes: resubmit."
    assert [kind for kind, _ in fake_provider.calls] == ["submit"]


def test_retries_stop_at_the_deadline(fake_provider):
    job = new_job()
    fake_provider.script = [ProviderError("503", retryable=True)]
    with freeze_time(job.deadline_at - dt.timedelta(seconds=5)):
        jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "failed"
    assert job.last_error == "503"


def test_a_provider_crash_fails_the_job_instead_of_leaving_it_leased(fake_provider):
    job = new_job()
    fake_provider.script = [KeyError("unexpected field")]
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "failed"
    assert "KeyError" in job.last_error
    assert job.lease_expires_at is None


def test_a_job_whose_provider_this_worker_lacks_is_left_queued_not_failed(settings):
    job = new_job()
    # This worker's settings know no "fake" provider (another host's may).
    settings.KYC_PROVIDERS = ["kyc.providers.local.LocalProvider"]
    jobs.job_submit(job.pk)
    job = reload(job)
    assert (job.status, job.attempts, job.lease_expires_at) == ("queued", 0, None)
    assert job.last_error.startswith("Waiting for a worker that can run fake: the worker on ")
    # Every job still ends: past its deadline it expires, saying what it waited for.
    with freeze_time(job.deadline_at + dt.timedelta(seconds=1)):
        assert jobs.jobs_sweep()["expired"] == 1
    job = reload(job)
    assert job.status == "expired"
    assert job.last_error == (
        "No worker able to run fake handled this job before its deadline: a worker needs the "
        "fake credentials and must listen on the task queue “default”. Use Retry once one does."
    )


def test_the_sweeper_hands_a_dead_workers_job_to_another(fake_provider):
    job = new_job()
    # A worker leased the job, then died: its lease runs out.
    ProviderJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1), attempts=1
    )
    assert list(jobs.jobs_stuck().values_list("pk", flat=True)) == [job.pk]
    counts = jobs.jobs_sweep()
    assert counts == {"expired": 0, "requeued": 1}
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "submitted"
    assert job.attempts == 2


def test_the_sweeper_expires_overdue_jobs_and_leaves_healthy_ones(fake_provider):
    overdue = new_job()
    healthy = new_job()
    jobs.job_submit(healthy.pk)
    with freeze_time(overdue.deadline_at + dt.timedelta(seconds=1)):
        ProviderJob.objects.filter(pk=healthy.pk).update(
            deadline_at=timezone.now() + dt.timedelta(hours=1),
            next_poll_at=timezone.now() + dt.timedelta(seconds=30),
        )
        counts = jobs.jobs_sweep()
    assert counts["expired"] == 1
    assert reload(overdue).status == "expired"
    assert reload(healthy).status == "submitted"


def test_retry_requeues_a_failed_job_and_is_audited(fake_provider):
    job = new_job()
    fake_provider.script = [ProviderError("401 Unauthorized", retryable=False)]
    jobs.job_submit(job.pk)
    analyst = make_user()
    jobs.job_retry(job_id=job.pk, actor=analyst)
    job = reload(job)
    assert job.status == "queued" and job.last_error == "" and job.external_id == ""
    event = AuditEvent.objects.get(action="job.retry")
    assert event.actor == analyst
    assert event.before["error"] == "401 Unauthorized"
    jobs.job_submit(job.pk)
    assert reload(job).status == "submitted"


def test_retry_refuses_a_job_that_is_not_final():
    job = new_job()
    with pytest.raises(ValidationError, match="failed or expired"):
        jobs.job_retry(job_id=job.pk, actor=make_user())
    assert reload(job).status == "queued"


def test_jobs_retry_and_jobs_list_commands(fake_provider, capsys):
    job = new_job()
    fake_provider.script = [ProviderError("500 Internal Server Error", retryable=False)]
    jobs.job_submit(job.pk)
    call_command("jobs_list", "--failed")
    listed = capsys.readouterr().out
    assert f"#{job.pk} fake/check failed" in listed
    assert "500 Internal Server Error" in listed
    call_command("jobs_retry", str(job.pk))
    assert reload(job).status == "queued"


def test_rerunning_a_report_with_the_same_vendor_id_updates_instead_of_duplicating():
    from kyc.providers.base import ReportData

    customer = make_customer(kind=Customer.Kind.INDIVIDUAL)
    job = new_job(customer=customer)
    data = ReportData(source="doc_xray", external_id="rep-1", flag_color="green")
    jobs._store_report(job, data)
    jobs._store_report(job, ReportData(source="doc_xray", external_id="rep-1", flag_color="red"))
    assert Report.objects.filter(external_id="rep-1").count() == 1
    assert Report.objects.get(external_id="rep-1").flag_color == "red"


def test_the_snapshot_of_a_purged_document_says_its_file_is_missing():
    job = new_job()
    privacy.document_purge(document_id=job.document_id, reason="retention")
    snapshot = jobs.job_input(ProviderJob.objects.get(pk=job.pk)).document
    assert snapshot is not None
    with pytest.raises(FileNotFoundError, match="has no stored file"):
        snapshot.read()

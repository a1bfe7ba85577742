"""October Doc X-Ray and Manager X-Ray, against a local fake October over real HTTP.

The fake (tests/fake_october.py) speaks the documented contract, storage upload included. Most
tests drive the job engine in this process, moving the clock with freezegun instead of waiting;
one runs the whole flow through the real `db_worker` process on the test database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time
from pytest_httpserver import HTTPServer

from kyc.models import (
    AnalysisRequest,
    AuditEvent,
    Customer,
    Document,
    ManagerAlert,
    Officer,
    OfficerRole,
    ProviderJob,
    Report,
    WebhookEvent,
)
from kyc.providers import october
from kyc.providers.base import Submission, Verdict
from kyc.services import jobs, webhooks
from tests.factories import VALID_SIRENS, make_customer, make_document, make_user, pdf_bytes
from tests.fake_october import DOC_XRAY_RAW, MANAGER_PERSONS, FakeOctober

pytestmark = pytest.mark.django_db

OCTOBER = "kyc.providers.october.OctoberProvider"
STATEMENT_DATE = dt.date(2024, 3, 31)


# --------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def october_server():
    # Threaded: a handler sleeping past our timeout must not hold up the calls after it.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def configure(settings, fake: FakeOctober, *, timeout: float = 5.0) -> None:
    for name, value in fake.settings_env(timeout=timeout).items():
        setattr(settings, name, float(value) if name == "OCTOBER_TIMEOUT" else value)
    settings.KYC_PROVIDERS = [OCTOBER]
    # The fake sends no webhook secret; the tests that need one set OCTOBER_WEBHOOK_SECRET.
    settings.OCTOBER_WEBHOOK_ALLOW_UNSIGNED = True
    settings.JOB_RETRY_BASE_SECONDS = 10
    settings.JOB_RETRY_MAX_SECONDS = 600


@pytest.fixture
def fake(october_server, settings):
    fake = FakeOctober(october_server)
    configure(settings, fake)
    yield fake
    assert not fake.problems
    october_server.check_handler_errors()


def company() -> Customer:
    # No role group: a transactional test that ran earlier may have flushed the roles migration.
    return make_customer(
        kind="company", legal_name="Acme SAS", siren=VALID_SIRENS[0], actor=make_user(role=None)
    )


def statement(customer: Customer, name: str = "releve-2024-03.pdf") -> Document:
    return make_document(
        customer=customer,
        actor=make_user(role=None),
        content=pdf_bytes(),
        name=name,
        kind="bank_statement",
        period="month",
        document_date=STATEMENT_DATE,
    )


def manager_job(customer: Customer) -> ProviderJob:
    return ProviderJob.objects.get(request__customer=customer, operation="manager_xray")


def reload(job: ProviderJob) -> ProviderJob:
    job.refresh_from_db()
    return job


def due(job: ProviderJob):
    """The clock just after the job's next action is due."""
    return freeze_time(reload(job).next_poll_at + dt.timedelta(seconds=1))


def post_webhook(client, body: bytes, **headers):
    return client.post("/webhooks/october/", data=body, content_type="application/json", **headers)


# ---------------------------------------------------------------------- through the real worker


def worker_database_env() -> dict[str, str]:
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(database["NAME"])}
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return {"DATABASE_URL": f"postgres://{credentials}@{host}{port}/{database['NAME']}"}


def run_worker(fake: FakeOctober, media_root) -> subprocess.CompletedProcess:
    """`manage.py db_worker --batch` in its own process, on this test's database and files,
    with October pointed at the fake (tests.settings_october turns the credentials back on)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        and not name.startswith("OCTOBER_")
    }
    env.update(worker_database_env())
    env.update(fake.settings_env())
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings_october"
    env["KYC_TEST_PROVIDERS"] = OCTOBER
    env["PRIVATE_MEDIA_ROOT"] = str(media_root)
    command = ["db_worker", "--batch", "--no-startup-delay", "--queue-name", "*"]
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_tasks_succeeded() -> None:
    failed = DBTaskResult.objects.exclude(status__in=["SUCCESSFUL", "READY"])
    assert not failed.exists(), [(t.task_path, t.status, t.exception_class_path) for t in failed]


@pytest.mark.django_db(transaction=True)
def test_a_company_file_goes_through_the_real_worker_to_reports_and_officers(
    fake, settings, client, tmp_path
):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    customer = company()
    document = statement(customer)
    original = document.file.open("rb").read()
    doc_job = document.jobs.get()
    request_job = manager_job(customer)
    assert (doc_job.provider, doc_job.operation) == ("october", "doc_xray")

    worker = run_worker(fake, tmp_path / "private")
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert_tasks_succeeded()

    # One October request for the file, created once, with the company's SIREN.
    assert fake.api_calls("POST", "/requests") == ["POST /requests"]
    request_id = fake.only_request_id()
    assert fake.requests[request_id]["code"] == {"type": "siren", "id": VALID_SIRENS[0]}
    assert AnalysisRequest.objects.get(customer=customer).october_request_id == request_id
    # The document went up unaltered, then was set online with its period and date.
    medium_id = fake.only_medium_id()
    assert fake.uploads[medium_id] == original
    medium = fake.media[medium_id]
    assert (medium["status"], medium["name"], medium["request"]) == (
        "online",
        "bank_statement",
        request_id,
    )
    assert medium["meta"] == {"name": "releve-2024-03.pdf", "period": "month", "date": "2024-03-31"}
    assert Document.objects.get(pk=document.pk).october_media_id == medium_id
    for job in (doc_job, request_job):
        job = reload(job)
        assert job.status == "submitted"
        assert job.external_id == request_id  # what the webhook names

    # October finishes both X-Rays and says so, one new_report per report.
    doc_report = fake.add_doc_report(medium_id)
    manager_report = fake.add_manager_report(request_id)
    calls_before = len(fake.calls)
    for report_id in (doc_report, manager_report):
        response = post_webhook(client, fake.webhook_body(report_id))
        assert response.status_code == 200

    worker = run_worker(fake, tmp_path / "private")
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert_tasks_succeeded()

    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {"processed"}
    # Each webhook's re-fetch is the guide's GET /reports/{reportId}, never a re-listing.
    after = [f"{method} {path}" for method, path in fake.calls[calls_before:]]
    assert set(after) == {f"GET /reports/{doc_report}", f"GET /reports/{manager_report}"}
    assert (reload(doc_job).status, reload(request_job).status) == ("completed", "completed")
    report = Report.objects.get(source="doc_xray")
    assert (report.document_id, report.job_id, report.external_id) == (
        document.pk,
        doc_job.pk,
        doc_report,
    )
    assert (report.flag_color, report.score) == ("orange", pytest.approx(0.018018018018018018))
    assert report.reasons[0]["code"] == "time"
    assert report.raw["raw"] == DOC_XRAY_RAW
    officer = Officer.objects.get(request__customer=customer)
    assert (officer.last_name, officer.first_name, officer.confidence) == ("Doe", "John", 100)
    role = OfficerRole.objects.get(officer=officer)
    assert (role.siren, role.start_date, role.end_date) == ("514673987", dt.date(2002, 2, 7), None)
    alert = ManagerAlert.objects.get(role=role)
    assert (alert.level, alert.customer_id) == ("low", customer.pk)
    assert Customer.objects.get(pk=customer.pk).risk_level == "orange"
    assert Document.objects.get(pk=document.pk).status == "analysed"


# ----------------------------------------------------------------------------- client contract


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "flat"])
def test_post_requests_is_read_in_both_documented_shapes(fake, wrapped):
    fake.wrap_requests = wrapped
    customer = company()
    job = manager_job(customer)

    jobs.job_submit(job.pk)

    request_id = fake.only_request_id()
    job = reload(job)
    assert (job.status, job.external_id) == ("submitted", request_id)
    assert AnalysisRequest.objects.get(customer=customer).october_request_id == request_id
    again = october.get_request(request_id)
    assert (again.id, again.code_type, again.code_id, again.status, again.stage) == (
        request_id,
        "siren",
        VALID_SIRENS[0],
        "pending_analysis",
        "1.1",
    )


def test_every_api_call_carries_the_three_auth_headers(fake, october_server):
    customer = company()
    jobs.job_submit(manager_job(customer).pk)
    october.list_reports(source="doc_xray", request_id=fake.only_request_id())
    api_requests = [r for r, _ in october_server.log if not r.path.startswith("/storage/")]
    assert len(api_requests) == 2
    for request in api_requests:
        assert request.headers["userId"] == fake.user_id
        assert request.headers["sessionToken"] == fake.session_token
        assert request.headers["October-Version"] == "2024-01-25"


@pytest.mark.parametrize("upload", ["post", "put"], ids=["presigned-post", "presigned-put"])
def test_the_first_document_job_creates_the_request_and_uploads_in_three_steps(fake, upload):
    fake.upload = upload
    customer = company()
    document = statement(customer)
    doc_job = document.jobs.get()

    jobs.job_submit(doc_job.pk)

    assert fake.api_calls() == [
        "POST /requests",
        "POST /media",
        f"POST /media/{fake.only_medium_id()}",
    ]
    assert fake.uploads[fake.only_medium_id()] == document.file.open("rb").read()
    assert fake.media[fake.only_medium_id()]["status"] == "online"
    request = AnalysisRequest.objects.get(customer=customer)
    assert request.october_request_id == fake.only_request_id()
    assert AuditEvent.objects.filter(action="request.vendor_id", object_id=str(request.pk)).exists()

    # The Manager X-Ray job finds the request already open: no second POST /requests.
    jobs.job_submit(manager_job(customer).pk)
    assert fake.api_calls("POST", "/requests") == ["POST /requests"]
    assert reload(manager_job(customer)).external_id == request.october_request_id


def test_a_bare_list_of_reports_is_read_too(fake):
    customer = company()
    jobs.job_submit(manager_job(customer).pk)
    request_id = fake.only_request_id()
    report_id = fake.add_manager_report(request_id)
    fake.fail_next("GET", "/reports", status=200, body=json.dumps([fake.reports[report_id]]))

    (report,) = october.list_reports(source="manager_xray", request_id=request_id)

    assert (report.id, report.request_id) == (report_id, request_id)
    assert report.raw["persons"][0]["lastname"] == "Doe"


def test_reports_listed_without_their_analysis_are_read_one_by_one(fake):
    customer = company()
    job = manager_job(customer)
    jobs.job_submit(job.pk)
    request_id = fake.only_request_id()
    report_id = fake.add_manager_report(request_id)
    summary = {"id": report_id, "source": "manager_xray", "request": request_id}
    fake.fail_next("GET", "/reports", status=200, body=json.dumps({"reports": [summary]}))

    jobs.job_poll(job.pk, force=True)

    assert fake.api_calls("GET", "/reports/.*") == [f"GET /reports/{report_id}"]
    assert reload(job).status == "completed"
    assert Officer.objects.get().last_name == "Doe"


def test_an_answer_in_an_unknown_shape_fails_the_job_with_what_came_back(fake):
    customer = company()
    job = manager_job(customer)
    fake.fail_next("POST", "/requests", status=201, body='{"ok": true}')

    jobs.job_submit(job.pk)

    job = reload(job)
    assert job.status == "failed"
    assert "POST /requests" in job.last_error and '{"ok": true}' in job.last_error


def test_doc_xray_reasons_flag_and_classification_are_normalised():
    report = october.OctoberReport(
        id="rep_9", source="doc_xray", request_id="req_1", medium_ids=("med_2",), raw=DOC_XRAY_RAW
    )
    data = october.doc_xray_report(report)
    assert (data.source, data.flag_color, data.external_id) == ("doc_xray", "orange", "rep_9")
    assert data.flag_value == "0.018018018018018018"
    time_reason, font_reason = data.reasons
    assert time_reason.as_dict() == {
        "code": "time",
        "title": "Creation/Modification Time",
        "detail": "modified 2.48 days after creation",
        "level": "suspicious",
        "sentiment": "negative",
        "criteria": DOC_XRAY_RAW["reasons"][0]["criteria"],
    }
    assert (font_reason.level, font_reason.sentiment) == (None, "positive")
    assert data.summary["document_class"] == "bank_statement"
    assert data.summary["classification_confidence"] == pytest.approx(0.99997, abs=1e-4)
    assert data.summary["flag_meta"] == ["time"]


def test_a_report_on_another_document_is_not_taken_for_this_one(fake):
    customer = company()
    first, second = statement(customer, "march.pdf"), statement(customer, "april.pdf")
    first_job, second_job = first.jobs.get(), second.jobs.get()
    jobs.job_submit(first_job.pk)
    jobs.job_submit(second_job.pk)
    first_medium = Document.objects.get(pk=first.pk).october_media_id
    fake.add_doc_report(first_medium)

    jobs.job_poll(second_job.pk, force=True)
    jobs.job_poll(first_job.pk, force=True)

    assert reload(second_job).status == "processing"
    assert reload(first_job).status == "completed"
    assert Report.objects.get().document_id == first.pk


def test_an_individuals_document_fails_at_once_with_a_clear_message(fake):
    person = make_customer()  # an individual: no SIREN, no October request code
    document = make_document(customer=person, content=pdf_bytes(), name="id.pdf")
    job = document.jobs.get()

    jobs.job_submit(job.pk)

    job = reload(job)
    assert job.status == "failed"
    assert "SIREN" in job.last_error
    assert fake.calls == []
    assert not ProviderJob.objects.filter(operation="manager_xray").exists()


# ------------------------------------------------------------------------------- vendor failures


def test_a_500_is_retried_later_and_then_succeeds(fake):
    customer = company()
    job = manager_job(customer)
    fake.fail_next("POST", "/requests", status=500)

    jobs.job_submit(job.pk)

    job = reload(job)
    assert job.status == "queued"
    assert "October answered 500 on POST /requests" in job.last_error
    assert job.next_poll_at > timezone.now() + dt.timedelta(seconds=9)
    with due(job):
        jobs.job_submit(job.pk)
    job = reload(job)
    assert (job.status, job.last_error, job.error_count) == ("submitted", "", 0)
    assert job.external_id == fake.only_request_id()


def test_a_500_while_polling_keeps_the_job_and_the_next_poll_completes_it(fake):
    customer = company()
    job = manager_job(customer)
    jobs.job_submit(job.pk)
    fake.add_manager_report(fake.only_request_id())
    fake.fail_next("GET", "/reports", status=502, body="Bad Gateway", content_type="text/plain")

    with due(job):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "submitted"
    assert "502" in job.last_error and "Bad Gateway" in job.last_error

    with due(job):
        jobs.job_poll(job.pk)
    assert reload(job).status == "completed"


def test_a_429_waits_at_least_the_retry_after_october_asked_for(fake):
    customer = company()
    job = manager_job(customer)
    fake.fail_next(
        "POST",
        "/requests",
        status=429,
        body='{"message": "Too many requests"}',
        headers={"Retry-After": "120"},
    )
    before = timezone.now()

    jobs.job_submit(job.pk)

    job = reload(job)
    assert job.status == "queued"
    assert "429" in job.last_error and "Too many requests" in job.last_error
    assert job.next_poll_at >= before + dt.timedelta(seconds=120)
    with freeze_time(before + dt.timedelta(seconds=60)):
        jobs.job_submit(job.pk)  # too early: nothing is sent
    assert fake.api_calls("POST", "/requests") == ["POST /requests"]
    with due(job):
        jobs.job_submit(job.pk)
    assert reload(job).status == "submitted"


def test_a_timeout_is_reported_and_retried(fake, settings):
    settings.OCTOBER_TIMEOUT = 0.5
    customer = company()
    job = manager_job(customer)
    jobs.job_submit(job.pk)
    fake.fail_next("GET", "/reports", status=200, body='{"reports": []}', sleep=2.0)

    jobs.job_poll(job.pk, force=True)

    job = reload(job)
    assert job.status == "submitted"
    assert job.last_error == "October did not answer within 0.5 s (GET /reports)."
    fake.add_manager_report(fake.only_request_id())
    with due(job):
        jobs.job_poll(job.pk)
    assert reload(job).status == "completed"


def test_a_body_that_is_not_json_is_retried_not_trusted(fake):
    customer = company()
    job = manager_job(customer)
    jobs.job_submit(job.pk)
    fake.fail_next(
        "GET", "/reports", status=200, body="<html>Maintenance</html>", content_type="text/html"
    )

    jobs.job_poll(job.pk, force=True)

    job = reload(job)
    assert job.status == "submitted"
    assert "not JSON" in job.last_error and "Maintenance" in job.last_error
    assert job.next_poll_at is not None
    assert not Report.objects.exists()


def test_bad_credentials_fail_the_job_as_a_configuration_error_shown_to_the_analyst(
    fake, settings, client
):
    settings.OCTOBER_SESSION_TOKEN = "revoked-token"
    analyst = make_user(role="analyst")
    customer = make_customer(
        kind="company", legal_name="Acme SAS", siren=VALID_SIRENS[0], actor=analyst
    )
    job = manager_job(customer)

    jobs.job_submit(job.pk)

    job = reload(job)
    assert job.status == "failed"  # a retry cannot fix credentials
    assert job.next_poll_at is None
    assert "401" in job.last_error
    assert "OCTOBER_USER_ID" in job.last_error and "OCTOBER_SESSION_TOKEN" in job.last_error
    assert "revoked-token" not in job.last_error
    Customer.objects.filter(pk=customer.pk).update(assignee=analyst)
    client.force_login(analyst)
    page = client.get(f"/customers/{customer.pk}/")
    assert page.status_code == 200
    assert "OCTOBER_SESSION_TOKEN" in page.content.decode()


def test_a_storage_refusal_is_retryable_not_a_credentials_error(fake):
    customer = company()
    document = statement(customer)
    job = document.jobs.get()
    fake.fail_next("POST", "/storage/bucket", status=403, body="<Error>Request has expired</Error>")

    jobs.job_submit(job.pk)

    job = reload(job)
    assert job.status == "queued"
    assert "storage" in job.last_error and "OCTOBER_USER_ID" not in job.last_error
    with due(job):
        jobs.job_submit(job.pk)
    assert reload(job).status == "submitted"


def test_a_report_that_never_comes_ends_expired_with_a_clear_message(fake):
    customer = company()
    document = statement(customer)
    job = document.jobs.get()
    jobs.job_submit(job.pk)
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "processing"
    assert job.deadline_at - job.created_at > dt.timedelta(hours=71, minutes=59)
    calls_before = len(fake.calls)

    with freeze_time(job.deadline_at + dt.timedelta(minutes=1)):
        jobs.jobs_sweep()

    job = reload(job)
    assert job.status == "expired"
    assert "no report within 72 hours" in job.last_error
    assert "Retry" in job.last_error
    assert len(fake.calls) == calls_before  # expiring asks October nothing


# ------------------------------------------------------------------------------------- webhooks


def submitted_company_file(fake: FakeOctober) -> tuple[Customer, Document, str, str]:
    customer = company()
    document = statement(customer)
    jobs.job_submit(manager_job(customer).pk)
    jobs.job_submit(document.jobs.get().pk)
    return customer, document, fake.only_request_id(), fake.only_medium_id()


def test_a_duplicate_webhook_is_stored_twice_and_processed_once(
    fake, client, django_capture_on_commit_callbacks
):
    customer, document, _request_id, medium_id = submitted_company_file(fake)
    report_id = fake.add_doc_report(medium_id)
    body = fake.webhook_body(report_id)

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, body).status_code == 200
        assert post_webhook(client, body).status_code == 200
    first, second = WebhookEvent.objects.order_by("id")
    assert (first.event_type, first.dedupe_key) == ("new_report", f"october:new_report:{report_id}")
    assert (second.state, second.duplicate_of_id) == ("duplicate", first.pk)
    assert (
        DBTaskResult.objects.filter(task_path=webhooks.process_webhook_task.module_path).count()
        == 1
    )

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_process(first.pk)
        webhooks.webhook_process(second.pk)
        webhooks.webhook_process(first.pk)
    refetches = DBTaskResult.objects.filter(task_path="kyc.services.jobs.refetch_job_task")
    # Both October jobs of the request, once each: the webhook names the request.
    assert sorted(r.args_kwargs["args"][0] for r in refetches) == sorted(
        ProviderJob.objects.filter(request__customer=customer).values_list("pk", flat=True)
    )
    for job_id in [r.args_kwargs["args"][0] for r in refetches]:
        jobs.job_poll(job_id, force=True)
    assert document.jobs.get().status == "completed"
    assert Report.objects.filter(source="doc_xray").count() == 1


def run_refetches(since: set) -> None:
    """Run the refetch tasks enqueued since the `task_ids()` snapshot `since`, as a worker
    would: the task itself, with the arguments it was given."""
    from kyc import tasks

    for result in refetch_tasks(since):
        tasks.refetch_job_task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])


def task_ids() -> set:
    return set(DBTaskResult.objects.values_list("id", flat=True))


def refetch_tasks(since: set) -> list[DBTaskResult]:
    return [
        result
        for result in DBTaskResult.objects.filter(task_path="kyc.services.jobs.refetch_job_task")
        if result.id not in since
    ]


def test_a_new_report_webhook_reads_that_report_as_the_guide_says_and_does_not_relist(
    fake, client, django_capture_on_commit_callbacks
):
    customer, document, request_id, medium_id = submitted_company_file(fake)
    doc_job, request_job = document.jobs.get(), manager_job(customer)
    doc_report = fake.add_doc_report(medium_id)
    calls_before = len(fake.calls)

    since = task_ids()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, fake.webhook_body(doc_report)).status_code == 200
        webhooks.webhook_process(WebhookEvent.objects.get().pk)
    refetches = refetch_tasks(since)
    assert {r.queue_name for r in refetches} == {"october"}
    assert {tuple(r.args_kwargs["args"][1]) for r in refetches} == {(doc_report,)}
    run_refetches(since)

    # Both October jobs of the request were re-fetched, each with GET /reports/{reportId}.
    assert fake.api_calls()[calls_before:] == [f"GET /reports/{doc_report}"] * 2
    report = Report.objects.get(source="doc_xray")
    assert (report.job_id, report.external_id, report.document_id) == (
        doc_job.pk,
        doc_report,
        document.pk,
    )
    assert reload(doc_job).status == "completed"
    # A Doc X-Ray report is not the Manager X-Ray's: that job waits for its own report.
    assert reload(request_job).status == "processing"
    assert not Officer.objects.exists()

    manager_report = fake.add_manager_report(request_id)
    since = task_ids()
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, fake.webhook_body(manager_report))
        webhooks.webhook_process(WebhookEvent.objects.latest("id").pk)
    run_refetches(since)
    assert fake.api_calls()[calls_before + 2 :] == [f"GET /reports/{manager_report}"]
    assert reload(request_job).status == "completed"
    assert Officer.objects.filter(request__customer=customer).count() == 1
    assert fake.api_calls("GET", "/reports") == []  # the list was never needed


def test_a_webhook_naming_a_report_october_does_not_know_leaves_the_jobs_to_their_polls(
    fake, client, django_capture_on_commit_callbacks
):
    customer, document, request_id, medium_id = submitted_company_file(fake)
    doc_job = document.jobs.get()
    body = json.dumps(
        {"event": "new_report", "requestId": request_id, "reportId": "rep_unknown"}
    ).encode()

    since = task_ids()
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, body)
        webhooks.webhook_process(WebhookEvent.objects.get().pk)
    run_refetches(since)

    assert fake.api_calls("GET", "/reports/rep_unknown") == ["GET /reports/rep_unknown"] * 2
    for job in (reload(doc_job), manager_job(customer)):
        assert (job.status, job.error_count) == ("processing", 0)  # not failed by a 404
    # The scheduled poll still lists the request's reports: the fallback finds the report.
    fake.add_doc_report(medium_id)
    with due(doc_job):
        jobs.job_poll(doc_job.pk)
    assert reload(doc_job).status == "completed"
    assert fake.api_calls("GET", "/reports")


@pytest.mark.parametrize(
    "report_id", ["../requests/req_1", "rep\u0000x", "rep/1", "a" * 129, " ", "", 42.5]
)
def test_a_report_id_that_does_not_look_like_one_is_never_fetched(report_id):
    body = json.dumps({"event": "new_report", "requestId": "req_1", "reportId": report_id})
    info = october.OctoberProvider().parse_webhook({}, body.encode())
    assert info.external_ids == ("req_1",)
    assert info.resource_ids == ()


def test_only_a_new_report_announces_a_report_to_fetch():
    provider = october.OctoberProvider()
    body = {"requestId": "req_1", "reportId": "rep_1"}
    new = provider.parse_webhook({}, json.dumps({"event": "new_report", **body}).encode())
    other = provider.parse_webhook({}, json.dumps({"event": "update_request", **body}).encode())
    assert (new.resource_ids, other.resource_ids) == (("rep_1",), ())


def test_a_webhook_for_an_unknown_request_is_acknowledged_stored_and_ignored(fake, client):
    body = json.dumps(
        {"event": "new_report", "requestId": "req_elsewhere", "reportId": "rep_elsewhere"}
    ).encode()

    response = post_webhook(client, body)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    assert event.signature_verdict == "unsigned"
    webhooks.webhook_process(event.pk)
    event.refresh_from_db()
    assert event.state == "ignored"
    assert "req_elsewhere" in event.error
    assert fake.calls == []  # a webhook alone never makes us call October


def test_a_webhook_body_that_is_not_json_is_stored_and_acknowledged(fake, client):
    assert post_webhook(client, b"not json").status_code == 200
    event = WebhookEvent.objects.get()
    assert event.event_type == ""
    assert event.dedupe_key.startswith("october:sha256:")


@pytest.mark.parametrize(
    ("headers", "verdict"),
    [
        ({"X-October-Webhook-Secret": "s3cret-shared"}, Verdict.VALID),
        ({"Authorization": "Bearer s3cret-shared"}, Verdict.VALID),
        ({"x-october-webhook-secret": "s3cret-shared"}, Verdict.VALID),
        ({"X-October-Webhook-Secret": "guess"}, Verdict.INVALID),
        ({"Authorization": "Bearer guess"}, Verdict.INVALID),
        ({}, Verdict.MISSING),
    ],
    ids=["header", "bearer", "header-any-case", "wrong-header", "wrong-bearer", "missing"],
)
def test_the_shared_webhook_secret_is_required_when_set(settings, headers, verdict):
    settings.OCTOBER_WEBHOOK_SECRET = "s3cret-shared"
    assert october.OctoberProvider().verify_webhook(headers, b"{}") == verdict


def test_without_a_secret_webhooks_are_unsigned_only_if_the_operator_allows_them(settings):
    settings.OCTOBER_WEBHOOK_SECRET = ""
    provider = october.OctoberProvider()
    settings.OCTOBER_WEBHOOK_ALLOW_UNSIGNED = True
    assert provider.verify_webhook({"X-October-Webhook-Secret": "x"}, b"{}") == Verdict.UNSIGNED
    settings.OCTOBER_WEBHOOK_ALLOW_UNSIGNED = False
    assert provider.verify_webhook({"X-October-Webhook-Secret": "x"}, b"{}") == Verdict.INVALID


def test_a_webhook_without_the_secret_is_refused_and_the_bearer_secret_is_never_stored(
    fake, settings, client
):
    settings.OCTOBER_WEBHOOK_SECRET = "s3cret-shared"
    body = json.dumps({"event": "new_report", "requestId": "r", "reportId": "p"}).encode()

    assert post_webhook(client, body).status_code == 401
    assert post_webhook(client, body, HTTP_AUTHORIZATION="Bearer s3cret-shared").status_code == 200

    refused, accepted = WebhookEvent.objects.order_by("id")
    assert (refused.state, refused.signature_verdict) == ("rejected", "missing")
    assert accepted.signature_verdict == "valid"
    assert "s3cret-shared" not in json.dumps(accepted.headers)


# ------------------------------------------------------------------------------- Manager X-Ray


def test_refetching_manager_xray_updates_rows_and_never_duplicates_them(fake):
    customer = company()
    job = manager_job(customer)
    jobs.job_submit(job.pk)
    request_id = fake.only_request_id()
    report_id = fake.add_manager_report(request_id)
    jobs.job_poll(job.pk, force=True)
    assert reload(job).status == "completed"
    assert (Officer.objects.count(), OfficerRole.objects.count(), ManagerAlert.objects.count()) == (
        1,
        1,
        1,
    )
    report = Report.objects.get(source="manager_xray")
    assert (report.flag_color, report.flag_value) == ("green", "low")
    assert report.summary["alerts"] == {"low": 1, "medium": 0, "high": 0}

    # October updates the same report; a new Manager X-Ray job of the file fetches it again
    # (a completed job is final: the engine re-fetches only active ones).
    persons = json.loads(json.dumps(MANAGER_PERSONS))
    company_role = persons[0]["companies"][0]
    company_role["jobEndDate"] = "2020-06-30"
    company_role["alerts"][0]["level"] = "high"
    company_role["alerts"].append(
        {"date": "2019-01-15", "name": "Procédure collective", "level": "medium"}
    )
    persons.append({"lastname": "Roe", "firstname": "Jane", "birthdate": None, "companies": []})
    fake.reports[report_id]["raw"]["persons"] = persons
    (job,) = jobs.jobs_create_for_request(request=job.request, actor=make_user())
    jobs.job_submit(job.pk)
    jobs.job_poll(job.pk, force=True)

    assert reload(job).status == "completed"
    assert fake.api_calls("POST", "/requests") == ["POST /requests"]
    assert Report.objects.filter(source="manager_xray").count() == 1
    assert Report.objects.get(source="manager_xray").flag_color == "red"
    assert Officer.objects.count() == 2
    doe = Officer.objects.get(last_name="Doe")
    role = OfficerRole.objects.get(officer=doe)
    assert role.end_date == dt.date(2020, 6, 30)
    assert sorted(ManagerAlert.objects.values_list("name", "level")) == [
        ("Mise en sommeil de la société", "high"),
        ("Procédure collective", "medium"),
    ]
    # A second run on an unchanged report changes nothing.
    (job,) = jobs.jobs_create_for_request(request=job.request, actor=make_user())
    jobs.job_submit(job.pk)
    jobs.job_poll(job.pk, force=True)
    assert reload(job).status == "completed"
    assert Report.objects.filter(source="manager_xray").count() == 1
    assert (Officer.objects.count(), OfficerRole.objects.count(), ManagerAlert.objects.count()) == (
        2,
        1,
        2,
    )


def test_manager_xray_mapping_reads_the_guides_report():
    report = october.OctoberReport(
        id="rep_1", source="manager_xray", raw={"persons": MANAGER_PERSONS}
    )
    data, (officer,) = october.manager_xray_data(report)
    assert (officer.last_name, officer.first_name, officer.birth_date, officer.confidence) == (
        "Doe",
        "John",
        dt.date(1979, 1, 1),
        100,
    )
    (role,) = officer.roles
    assert (role.company_name, role.siren, role.start_date, role.end_date) == (
        "Company Name",
        "514673987",
        dt.date(2002, 2, 7),
        None,
    )
    assert role.alerts[0].level == "low"
    assert data.summary["persons"] == 1 and data.summary["companies"] == 1


def test_manager_xray_only_runs_for_companies(fake):
    company()
    make_customer()
    assert list(ProviderJob.objects.values_list("operation", flat=True)) == ["manager_xray"]


# ---------------------------------------------------- engine: vendor ids returned by a submission


def test_the_engine_keeps_the_first_vendor_request_id_and_the_document_id(fake_provider):
    customer = make_customer()
    first = make_document(customer=customer).jobs.get()
    second = make_document(customer=customer, content=pdf_bytes(), name="b.pdf").jobs.get()
    fake_provider.script = [
        Submission(external_id="vr-1", request_external_id="vr-1", document_external_id="m-1"),
        Submission(external_id="vr-2", request_external_id="vr-2", document_external_id="m-2"),
    ]

    jobs.job_submit(first.pk)
    jobs.job_submit(second.pk)

    request = AnalysisRequest.objects.get(customer=customer)
    assert request.october_request_id == "vr-1"  # the first one wins
    assert (reload(first).external_id, reload(second).external_id) == ("vr-1", "vr-2")
    assert Document.objects.get(pk=first.document_id).october_media_id == "m-1"
    assert Document.objects.get(pk=second.document_id).october_media_id == "m-2"
    assert jobs.job_input(reload(second)).document.october_media_id == "m-2"


def test_a_vendor_request_id_another_request_holds_is_not_copied(fake_provider):
    other = make_customer()
    AnalysisRequest.objects.filter(customer=other).update(october_request_id="vr-taken")
    customer = make_customer()
    job = make_document(customer=customer).jobs.get()
    fake_provider.script = [Submission(external_id="vr-taken", request_external_id="vr-taken")]

    jobs.job_submit(job.pk)

    assert reload(job).status == "submitted"
    assert AnalysisRequest.objects.get(customer=customer).october_request_id is None


def test_the_secret_may_come_in_the_webhook_url_and_is_never_stored(fake, settings, client):
    # October's webhook settings take only a URL: `/webhooks/october/?secret=...` must work.
    settings.OCTOBER_WEBHOOK_SECRET = "s3cret-shared"
    body = json.dumps({"event": "new_report", "requestId": "r", "reportId": "q"}).encode()
    wrong = client.post(
        "/webhooks/october/?secret=guess", data=body, content_type="application/json"
    )
    right = client.post(
        "/webhooks/october/?secret=s3cret-shared", data=body, content_type="application/json"
    )
    assert (wrong.status_code, right.status_code) == (401, 200)
    refused, accepted = WebhookEvent.objects.order_by("id")
    assert (refused.signature_verdict, accepted.signature_verdict) == ("invalid", "valid")
    assert "s3cret-shared" not in json.dumps(accepted.headers)


def test_the_secret_header_is_redacted_when_stored(fake, settings, client):
    settings.OCTOBER_WEBHOOK_SECRET = "s3cret-shared"
    body = json.dumps({"event": "new_report", "requestId": "r", "reportId": "h"}).encode()
    response = client.post(
        "/webhooks/october/",
        data=body,
        content_type="application/json",
        HTTP_X_OCTOBER_WEBHOOK_SECRET="s3cret-shared",
    )
    assert response.status_code == 200
    assert "s3cret-shared" not in json.dumps(WebhookEvent.objects.get().headers)

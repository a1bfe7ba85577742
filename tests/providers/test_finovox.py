"""Finovox through the real job engine, against a local fake server speaking the documented
contract (vendor-apis.md section 2): submission, fixed-interval polling, results stored at once
with their PDF report, expiry after 60 minutes, vendor failures, and the formats Finovox takes."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from PIL import Image
from werkzeug import Response

from kyc.models import AuditEvent, Customer, Document, ProviderJob, Report, WebhookEvent
from kyc.providers.base import (
    CustomerInput,
    DocumentInput,
    JobInput,
    ProviderError,
    RequestInput,
)
from kyc.providers.finovox import FinovoxProvider, risk_report_data, says_gone
from kyc.services import jobs
from tests.factories import make_customer, make_document, make_user, pdf_bytes, png_bytes
from tests.fake_vendors import (
    FINOVOX_KEY,
    FINOVOX_UNKNOWN_TOKEN,
    PDF_REPORT_EN,
    PDF_REPORT_FR,
    FakeFinovox,
    base_url,
    finovox_full_result,
    finovox_risk,
    json_response,
    run_db_worker,
    serving,
    slow,
)

FINOVOX = "kyc.providers.finovox.FinovoxProvider"
TOKEN = "retrieve-token-1"


@pytest.fixture
def finovox(vendor_server, settings):
    settings.KYC_PROVIDERS = [FINOVOX]
    settings.FINOVOX_API_KEY = FINOVOX_KEY
    settings.FINOVOX_BASE_URL = base_url(vendor_server)
    settings.FINOVOX_POLL_SECONDS = 30
    settings.FINOVOX_TIMEOUT = 5.0
    settings.FINOVOX_EXPLANATION = False
    settings.FINOVOX_PDF_REPORT = False
    settings.JOB_RETRY_BASE_SECONDS = 10
    settings.JOB_RETRY_MAX_SECONDS = 600
    with serving(vendor_server) as served:
        yield FakeFinovox(served)


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, fmt)
    return buffer.getvalue()


def pdf_document(**overrides) -> Document:
    actor = make_user(role=None)
    customer = overrides.pop("customer", None) or make_customer(actor=actor)
    return make_document(
        customer=customer,
        content=overrides.pop("content", pdf_bytes()),
        name=overrides.pop("name", "statement.pdf"),
        kind=overrides.pop("kind", Document.Kind.BANK_STATEMENT),
        actor=actor,
        **overrides,
    )


def finovox_job(document: Document) -> ProviderJob:
    return document.jobs.get(provider="finovox")


def reload(job: ProviderJob) -> ProviderJob:
    job.refresh_from_db()
    return job


def submitted(finovox: FakeFinovox, **overrides) -> ProviderJob:
    finovox.accept(TOKEN)
    job = finovox_job(pdf_document(**overrides))
    jobs.job_submit(job.pk)
    return reload(job)


def original_bytes(document: Document) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


# ------------------------------------------------------------------------------------ submit


@pytest.mark.django_db
def test_submission_sends_the_original_file_and_an_asynchronous_risk_payload(finovox):
    job = submitted(finovox)

    assert job.status == "submitted"
    assert job.external_id == TOKEN
    assert job.next_poll_at == job.submitted_at + dt.timedelta(seconds=30)
    [sent] = finovox.analyses
    assert sent.api_key == FINOVOX_KEY
    assert sent.content == original_bytes(job.document)
    assert (sent.filename, sent.content_type) == ("statement.pdf", "application/pdf")
    assert sent.payload == {"analyse_type": ["risk"], "asynchronous": True}


@pytest.mark.django_db
def test_explanation_and_pdf_report_are_asked_for_only_when_configured(finovox, settings):
    settings.FINOVOX_EXPLANATION = True
    settings.FINOVOX_PDF_REPORT = True
    submitted(finovox)
    assert finovox.analyses[0].payload == {
        "analyse_type": ["risk", "explanation", "pdf_report"],
        "asynchronous": True,
    }


@pytest.mark.django_db
def test_a_result_in_the_analyse_answer_completes_the_job_at_submission(finovox):
    finovox.analyse_answers(json_response(finovox_risk("medium", metadata_risk="medium")))
    job = finovox_job(pdf_document())
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "completed"
    assert job.reports.get().flag_color == "orange"


@pytest.mark.django_db
def test_an_analyse_answer_without_token_fails_without_resubmitting(finovox):
    finovox.analyse_answers(json_response({"ok": True}))
    job = finovox_job(pdf_document())
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "failed"
    assert "no retrieve token" in job.last_error
    assert len(finovox.analyses) == 1


@pytest.mark.django_db
def test_a_retrieve_token_longer_than_our_column_fails_clearly(finovox):
    finovox.accept("t" * 300)
    job = finovox_job(pdf_document())
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "failed"
    assert "longer than 255" in job.last_error


# ----------------------------------------------------------------------------------- formats


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (pdf_bytes(), "statement.pdf", "application/pdf"),
        (image_bytes("JPEG"), "photo.jpg", "image/jpeg"),
        (png_bytes(), "scan.png", "image/png"),
    ],
)
def test_pdf_jpeg_and_png_are_sent_to_finovox(finovox, content, name, content_type):
    finovox.accept(TOKEN)
    document = pdf_document(content=content, name=name)
    assert document.content_type == content_type
    jobs.job_submit(finovox_job(document).pk)
    [sent] = finovox.analyses
    assert (sent.content, sent.content_type) == (content, content_type)


@pytest.mark.django_db
@pytest.mark.parametrize(("fmt", "content_type"), [("TIFF", "image/tiff"), ("WEBP", "image/webp")])
def test_other_formats_are_not_sent_and_the_page_says_why(finovox, fmt, content_type):
    document = pdf_document(content=image_bytes(fmt), name=f"scan.{fmt.lower()}")
    assert document.content_type == content_type
    assert not document.jobs.exists()
    [(label, reason)] = jobs.skipped_providers(document)
    assert label == "Finovox"
    assert "only PDF, JPEG and PNG" in reason
    assert content_type in reason
    assert finovox.analyses == []


def test_submit_refuses_a_format_finovox_does_not_take_without_calling_it(settings):
    settings.FINOVOX_API_KEY = FINOVOX_KEY
    provider = FinovoxProvider()
    heic = DocumentInput(
        id=1, kind="passport", content_type="image/heic", original_name="a.heic", size=3, sha256=""
    )
    assert provider.document_operation(heic) is None
    job = JobInput(
        id=1,
        operation="risk",
        external_id="",
        attempts=1,
        submitted_at=None,
        request=RequestInput(id=1, code_type="internal", code_id="x"),
        customer=CustomerInput(id=1, kind="individual"),
        document=heic,
    )
    with pytest.raises(ProviderError) as error:
        provider.submit(job)
    assert not error.value.retryable


# ------------------------------------------------------------------------------------- polls


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (202, {"status": "processing"}),
        (404, {"detail": "Result not ready yet"}),
        (400, {"error": "Result not ready"}),
        (200, {"status": "processing"}),
    ],
)
def test_a_not_ready_answer_keeps_polling_at_the_fixed_interval(finovox, status, body):
    job = submitted(finovox)
    finovox.retrieve_answers(json_response(body, status))
    with freeze_time(job.next_poll_at + dt.timedelta(seconds=1)):
        jobs.job_poll(job.pk)
        job = reload(job)
        assert job.status == "processing"
        assert job.next_poll_at == timezone.now() + dt.timedelta(seconds=30)
    assert finovox.retrieves == [{"api_key": FINOVOX_KEY, "json": {"retrieve_token": TOKEN}}]
    # Finovox's own words are on the job while it waits.
    (words,) = body.values()
    assert job.last_error == f"Finovox: not ready yet (HTTP {status}: {words})."
    assert job.error_count == 0


GONE = FINOVOX_UNKNOWN_TOKEN


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body"),
    [(404, GONE), (404, {"detail": "Not Found"}), (400, {"detail": "Unknown retrieve_token"})],
)
def test_a_token_finovox_no_longer_knows_expires_the_job_at_once(finovox, status, body):
    job = submitted(finovox)
    finovox.retrieve_answers(json_response(body, status))
    # Five minutes in: far from the 60-minute retention, but Finovox says the result is gone.
    with freeze_time(job.submitted_at + dt.timedelta(minutes=5)):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "expired"
    assert job.next_poll_at is None and job.finished_at is not None
    (words,) = body.values()
    assert job.last_error == (
        f"Finovox no longer knows this analysis (HTTP {status}: {words}): it deletes a result 60 "
        "minutes after processing it. Use Retry to submit the document to Finovox again."
    )
    assert len(finovox.retrieves) == 1  # no more polling
    assert not job.reports.exists()
    assert AuditEvent.objects.filter(action="job.expired", object_id=str(job.pk)).exists()


@pytest.mark.django_db
def test_the_customer_file_shows_finovox_waiting_then_gone_in_the_readers_language(finovox, client):
    job = submitted(finovox)
    analyst = make_user("finovox-analyst", role="analyst")
    client.force_login(analyst)
    url = reverse("kyc:customer-detail", args=[job.request.customer_id])

    finovox.not_ready_once(202, {"status": "processing"})
    with freeze_time(job.next_poll_at):
        jobs.job_poll(job.pk)
    page = client.get(url).content.decode()
    assert 'class="job-note">Finovox: not ready yet (HTTP 202: processing).</p>' in page

    finovox.forgets_token()
    with freeze_time(reload(job).next_poll_at):
        jobs.job_poll(job.pk)
    assert reload(job).status == "expired"
    page = client.get(url).content.decode()
    assert "Finovox no longer knows this analysis (HTTP 404: retrieve_token not found or" in page
    assert f'action="{reverse("kyc:job-retry", args=[job.pk])}"' in page  # the Retry button

    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get(url).content.decode()
    assert "Finovox ne connaît plus cette analyse (HTTP 404\u00a0: retrieve_token" in french


@pytest.mark.parametrize(
    ("status", "message", "gone"),
    [
        (404, "retrieve_token not found or expired", True),
        (404, "", True),
        (404, "Result not ready yet", False),
        (404, "Still processing", False),
        (202, "processing", False),
        (202, "", False),
        (400, "Result not ready", False),
        (400, "retrieve_token expired", True),
        (409, "unknown retrieve_token", True),
    ],
)
def test_what_counts_as_a_token_finovox_no_longer_knows(status, message, gone):
    assert says_gone(status, message) is gone


@pytest.mark.django_db
def test_the_poll_interval_is_a_setting(finovox, settings):
    settings.FINOVOX_POLL_SECONDS = 45
    job = submitted(finovox)
    assert job.next_poll_at == job.submitted_at + dt.timedelta(seconds=45)
    finovox.retrieve_answers(json_response({}, 202))
    with freeze_time(job.next_poll_at):
        jobs.job_poll(job.pk)
        assert reload(job).next_poll_at == timezone.now() + dt.timedelta(seconds=45)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("global_risk", "color"), [("low", "green"), ("medium", "orange"), ("high", "red")]
)
def test_the_result_is_stored_at_once_with_the_flag_of_the_global_risk(finovox, global_risk, color):
    job = submitted(finovox)
    result = finovox_risk(global_risk, vision_risk="high", coherence_risk="medium")
    finovox.ready(result)
    with freeze_time(job.next_poll_at):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "completed"
    report = Report.objects.get(job=job)
    assert (report.source, report.flag_color, report.flag_value) == (
        "finovox_risk",
        color,
        global_risk,
    )
    assert report.summary == {
        "global_risk": global_risk,
        "software_risk": "low",
        "metadata_risk": "low",
        "datastructure_risk": "low",
        "vision_risk": "high",
        "coherence_risk": "medium",
        "document_quality": "acceptable",
        "software": "",
        "explanation": None,
    }
    assert [(r["code"], r["level"]) for r in report.reasons] == [
        ("finovox_vision_risk", "fraudulent"),
        ("finovox_coherence_risk", "suspicious"),
    ]
    assert report.raw == result
    assert not report.attachment
    assert Customer.objects.get(pk=job.request.customer_id).risk_level == color


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "pdf"), [("en", PDF_REPORT_EN), ("fr", PDF_REPORT_FR)])
def test_the_pdf_report_is_stored_as_a_file_the_analyst_can_open(finovox, settings, language, pdf):
    settings.LANGUAGE_CODE = language
    job = submitted(finovox)
    finovox.ready(finovox_full_result("high"))
    with freeze_time(job.next_poll_at):
        jobs.job_poll(job.pk)
    report = Report.objects.get(job=job)
    assert report.flag_color == "red"
    with report.attachment.open("rb") as handle:
        assert handle.read() == pdf
    assert report.attachment.name.endswith(".pdf")
    assert report.summary["pdf_report_languages"] == ["en", "fr"]
    assert report.summary["pdf_report_attached"] == language
    assert report.summary["software"] == "photoshop"
    assert report.summary["explanation"]["fr"] == ["Le document a été modifié avec Photoshop."]
    # The base64 PDFs are not kept twice: the raw payload notes their size and hash instead.
    assert report.raw["pdf_report"]["en"].startswith(f"[base64 PDF, {len(PDF_REPORT_EN)} bytes")
    assert "JVBER" not in json.dumps(report.raw)


def test_a_pdf_report_that_is_no_pdf_is_noted_not_attached():
    data = risk_report_data(
        {**finovox_risk("low"), "pdf_report": {"en": "bm90IGEgcGRm"}}, document_id=7
    )
    assert data.attachment is None
    assert data.summary["pdf_report_error"]


def test_an_unknown_global_risk_is_orange_with_a_reason():
    data = risk_report_data(finovox_risk("critical"), document_id=7)
    assert data.flag_color == "orange"
    assert "finovox_unknown_risk" in [r.code for r in data.reasons]


# ------------------------------------------------------------------------------------ expiry


@pytest.mark.django_db
def test_no_result_60_minutes_after_submission_expires_the_job(finovox):
    with freeze_time("2025-03-03 09:00:00"):
        job = submitted(finovox)
    finovox.retrieve_answers(json_response({"status": "processing"}, 202))

    with freeze_time("2025-03-03 09:59:00"):
        jobs.job_poll(job.pk, force=True)
        assert reload(job).status == "processing"

    with freeze_time("2025-03-03 10:00:30"):
        jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "expired"
    assert "60 minutes" in job.last_error
    assert "Retry" in job.last_error
    assert not job.reports.exists()


@pytest.mark.django_db
def test_the_engine_deadline_expires_a_job_that_was_never_polled(finovox):
    with freeze_time("2025-03-03 09:00:00"):
        job = submitted(finovox)
    with freeze_time("2025-03-03 10:11:00"):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "expired"
    assert job.last_error == str(FinovoxProvider.expiry_message)
    assert finovox.retrieves == []


@pytest.mark.django_db
def test_a_result_that_arrives_late_is_still_stored(finovox):
    with freeze_time("2025-03-03 09:00:00"):
        job = submitted(finovox)
    finovox.ready(finovox_risk("low"))
    with freeze_time("2025-03-03 10:05:00"):
        jobs.job_poll(job.pk, force=True)
    assert reload(job).status == "completed"


# ---------------------------------------------------------------------------------- failures


@pytest.mark.django_db
def test_429_on_submission_keeps_the_job_queued_until_after_retry_after(finovox):
    finovox.analyse_answers(
        json_response({"message": "Too many requests"}, 429, {"Retry-After": "120"})
    )
    job = finovox_job(pdf_document())
    with freeze_time("2025-03-03 09:00:00"):
        jobs.job_submit(job.pk)
        job = reload(job)
        assert job.status == "queued"
        assert job.error_count == 1
        assert "429" in job.last_error and "Too many requests" in job.last_error
        assert job.next_poll_at >= timezone.now() + dt.timedelta(seconds=120)


@pytest.mark.django_db
def test_429_while_polling_waits_for_retry_after(finovox):
    job = submitted(finovox)
    finovox.retrieve_answers(json_response({"message": "slow down"}, 429, {"Retry-After": "300"}))
    with freeze_time(job.next_poll_at):
        jobs.job_poll(job.pk)
        job = reload(job)
        assert job.status == "submitted"
        assert job.next_poll_at >= timezone.now() + dt.timedelta(seconds=300)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried_and_shown(finovox, status):
    job = submitted(finovox)
    finovox.retrieve_answers(Response("upstream failure", status=status))
    with freeze_time(job.next_poll_at):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "submitted"
    assert job.error_count == 1
    assert f"answered {status}" in job.last_error
    assert job.next_poll_at is not None


@pytest.mark.django_db
def test_a_timeout_is_retried(finovox, settings):
    job = submitted(finovox)
    settings.FINOVOX_TIMEOUT = 0.2
    finovox.retrieve_answers(slow(1.0, json_response(finovox_risk("low"))))
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "submitted"
    assert "did not answer within 0.2 s" in job.last_error
    assert job.next_poll_at is not None


@pytest.mark.django_db
def test_a_non_json_result_is_retried_not_stored(finovox):
    job = submitted(finovox)
    finovox.retrieve_answers(Response("<html>Bad gateway</html>", status=200))
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "submitted"
    assert "not JSON" in job.last_error
    assert not job.reports.exists()


@pytest.mark.django_db
def test_a_non_json_analyse_answer_is_retried(finovox):
    finovox.analyse_answers(Response("Service Unavailable", status=200, mimetype="text/plain"))
    job = finovox_job(pdf_document())
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "queued"
    assert "not JSON" in job.last_error


@pytest.mark.django_db
def test_a_refused_api_key_fails_the_job_as_a_configuration_error(finovox):
    job = submitted(finovox)
    finovox.retrieve_answers(json_response({"detail": "Invalid API key"}, 401))
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "failed"
    assert "refused our credentials" in job.last_error


@pytest.mark.django_db
def test_a_webhook_claiming_to_be_finovox_is_404_and_stores_nothing(client, finovox):
    # Finovox documents no webhooks: the endpoint is not there, even with Finovox configured.
    response = client.post(
        "/webhooks/finovox/", data=b'{"retrieve_token": "x"}', content_type="application/json"
    )
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_the_provider_is_enabled_by_its_api_key_only(settings):
    settings.FINOVOX_API_KEY = ""
    assert not FinovoxProvider.is_configured()
    settings.FINOVOX_API_KEY = "k"
    assert FinovoxProvider.is_configured()


def test_a_pending_outcome_asks_for_the_configured_interval(finovox, settings):
    settings.FINOVOX_POLL_SECONDS = 12
    provider = FinovoxProvider()
    assert (provider.poll_interval, provider.max_poll_interval) == (12.0, 12.0)


# ------------------------------------------------------------------------------ real worker


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_submits_polls_and_stores_the_result_with_its_pdf_report(
    finovox, settings, tmp_path
):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    finovox.accept(TOKEN)
    finovox.not_ready_once(202)
    finovox.ready(finovox_full_result("high"))

    document = pdf_document()
    job = finovox_job(document)
    worker = run_db_worker(
        media_root=tmp_path / "private",
        KYC_TEST_PROVIDERS=FINOVOX,
        FINOVOX_API_KEY=FINOVOX_KEY,
        FINOVOX_BASE_URL=finovox.url,
        FINOVOX_POLL_SECONDS="0",
        FINOVOX_EXPLANATION="True",
        FINOVOX_PDF_REPORT="True",
    )

    assert worker.returncode == 0, worker.stderr[-3000:]
    job = reload(job)
    assert job.status == "completed", job.last_error
    assert job.external_id == TOKEN
    assert job.poll_count == 2
    [sent] = finovox.analyses
    assert sent.content == original_bytes(document)
    assert sent.payload["analyse_type"] == ["risk", "explanation", "pdf_report"]
    assert len(finovox.retrieves) == 2
    report = Report.objects.get(job=job)
    assert (report.source, report.flag_color) == ("finovox_risk", "red")
    with report.attachment.open("rb") as handle:
        assert handle.read() == PDF_REPORT_EN
    document.refresh_from_db()
    assert document.status == "analysed"

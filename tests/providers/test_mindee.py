"""Mindee through the real job engine, against a local fake server speaking the documented V1
contract (vendor-apis.md section 3): synchronous passports, queued International ID jobs with
their 302, signed webhooks, the error table, the documented limits, and the Artemis OCR keys."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
import time

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time
from PIL import Image
from werkzeug import Response

from kyc.models import Document, OcrResult, ProviderJob, Report, WebhookEvent
from kyc.providers.base import DocumentInput, ProviderError, Verdict
from kyc.providers.mindee import MindeeProvider, RateLimiter, rate_limiter
from kyc.services import jobs, webhooks
from kyc.tasks import refetch_job_task
from tests.factories import make_customer, make_document, make_user, png_bytes
from tests.fake_vendors import (
    ID_ROOT,
    MINDEE_KEY,
    MINDEE_SECRET,
    PASSPORT_MRZ1,
    PASSPORT_MRZ2,
    FakeMindee,
    base_url,
    id_document_response,
    job_envelope,
    json_response,
    mfield,
    mindee_error,
    mindee_sign,
    passport_prediction,
    passport_response,
    run_db_worker,
    serving,
    slow,
)

MINDEE = "kyc.providers.mindee.MindeeProvider"
MB = 1024 * 1024


@pytest.fixture
def mindee(vendor_server, settings):
    settings.KYC_PROVIDERS = [MINDEE]
    settings.MINDEE_API_KEY = MINDEE_KEY
    settings.MINDEE_BASE_URL = base_url(vendor_server)
    settings.MINDEE_WEBHOOK_SECRET = MINDEE_SECRET
    settings.MINDEE_POLL_SECONDS = 2.0
    settings.MINDEE_TIMEOUT = 5.0
    settings.MINDEE_MIN_CONFIDENCE = 0.8
    settings.JOB_RETRY_BASE_SECONDS = 10
    settings.JOB_RETRY_MAX_SECONDS = 600
    # The limiter is per process: earlier tests' calls must not slow this one down.
    rate_limiter.reset()
    with serving(vendor_server) as served:
        yield FakeMindee(served)
    rate_limiter.reset()


def identity_document(kind: str = Document.Kind.PASSPORT, **overrides) -> Document:
    actor = make_user(role=None)
    return make_document(
        customer=overrides.pop("customer", None) or make_customer(actor=actor),
        content=overrides.pop("content", png_bytes()),
        name=overrides.pop("name", "scan.png"),
        kind=kind,
        actor=actor,
        **overrides,
    )


def mindee_job(document: Document) -> ProviderJob:
    return document.jobs.get(provider="mindee")


def reload(job: ProviderJob) -> ProviderJob:
    job.refresh_from_db()
    return job


def original_bytes(document: Document) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


def submitted_id_card(
    mindee: FakeMindee, job_id: str = "job-1", kind: str = Document.Kind.ID_CARD
) -> ProviderJob:
    mindee.accept_id(job_id)
    job = mindee_job(identity_document(kind))
    jobs.job_submit(job.pk)
    return reload(job)


def pdf_with_pages(count: int) -> bytes:
    pages = [Image.new("RGB", (60, 80), "white") for _ in range(count)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def document_input(kind: str, size: int, content_type: str = "image/png") -> DocumentInput:
    return DocumentInput(
        id=1, kind=kind, content_type=content_type, original_name="x", size=size, sha256=""
    )


# ------------------------------------------------------------------------------------ passport


@pytest.mark.django_db
def test_a_passport_is_read_synchronously_and_completes_at_submission(mindee):
    mindee.passport_answers(json_response(passport_response("passport-doc-1"), 201))
    document = identity_document(Document.Kind.PASSPORT)
    job = mindee_job(document)
    assert job.operation == "passport"

    jobs.job_submit(job.pk)

    job = reload(job)
    assert job.status == "completed", job.last_error
    assert job.external_id == "passport-doc-1"
    [upload] = mindee.uploads
    assert upload.authorization == f"Token {MINDEE_KEY}"
    assert (upload.filename, upload.content) == ("scan.png", original_bytes(document))
    assert mindee.queue_polls == []

    ocr = OcrResult.objects.get(document=document)
    assert ocr.source == "mindee_passport"
    fields = ocr.fields
    assert {key: fields[key] for key in fields if key != "missing_fields"} == {
        "first_name": "MARIE CLAIRE",
        "last_name": "MARTIN",
        "full_name": "MARIE CLAIRE MARTIN",
        "gender": "F",
        "date_of_birth": "1985-04-12",
        "birth date": "1985-04-12",
        "nationality": "FRA",
        "issuing_country": "FRA",
        "document_type": "PASSPORT",
        "document_number": "19FR12345",
        "passport_number": "19FR12345",
        "issue_date": "2020-01-02",
        "expiry_date": "2030-01-01",
        "expiry date": "2030-01-01",
        "passport_expiry_date": "2030-01-01",
        "mrz_raw_string": f"{PASSPORT_MRZ1}\n{PASSPORT_MRZ2}",
    }
    assert fields["missing_fields"] == []
    # Per-field confidence, a list field at the lowest of its parts.
    assert ocr.confidence["first_name"] == 0.97
    assert ocr.confidence["last_name"] == 0.99
    assert ocr.confidence["full_name"] == 0.97
    assert "document_type" not in ocr.confidence

    report = Report.objects.get(job=job)
    assert (report.source, report.flag_color, report.external_id) == (
        "mindee_passport",
        "green",
        "passport-doc-1",
    )
    assert ocr.report == report
    # Every field as Mindee named it, with its confidence.
    assert report.summary["fields"]["surname"] == {"value": "MARTIN", "confidence": 0.99}
    assert report.summary["fields"]["given_names"] == {"value": "MARIE CLAIRE", "confidence": 0.97}
    assert report.summary["fields"]["birth_place"] == {"value": "PARIS", "confidence": 0.99}
    assert report.summary["low_confidence_fields"] == []
    assert report.summary["product"] == "mindee/passport 1.1"
    assert report.raw["document"]["id"] == "passport-doc-1"


@pytest.mark.django_db
def test_a_low_confidence_field_turns_the_report_orange_and_the_reading_uncertain(mindee):
    mindee.passport_answers(
        json_response(passport_response(birth_date=mfield("1985-04-12", 0.41)), 201)
    )
    job = mindee_job(identity_document())
    jobs.job_submit(job.pk)
    report = Report.objects.get(job=job)
    assert (report.flag_color, report.flag_value) == ("orange", "low confidence")
    [reason] = report.reasons
    assert reason["code"] == "mindee_low_confidence"
    assert reason["criteria"] == {"field": "birth_date", "confidence": 0.41, "threshold": 0.8}
    assert report.summary["low_confidence_fields"] == ["birth_date"]
    assert OcrResult.objects.get(document=job.document).fields["status"] == "UNCERTAIN"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "label"),
    [("birth_place", "Birth place"), ("gender", "Sex"), ("mrz2", "MRZ line 2")],
)
def test_any_field_read_with_low_confidence_turns_the_report_orange_with_a_reason(
    mindee, field, label
):
    # Not one of the "key" identity fields: a 0.41 is still a reading nobody should trust.
    value = passport_prediction()[field]["value"]
    mindee.passport_answers(json_response(passport_response(**{field: mfield(value, 0.41)}), 201))
    job = mindee_job(identity_document())
    jobs.job_submit(job.pk)
    report = Report.objects.get(job=job)
    assert (report.flag_color, report.flag_value) == ("orange", "low confidence")
    [reason] = report.reasons
    assert (reason["code"], reason["level"]) == ("mindee_low_confidence", "suspicious")
    assert reason["title"] == f"Low confidence: {label}"
    assert reason["detail"] == f"Read as '{value}' with 41% confidence (threshold 80%)."
    assert report.summary["fields"][field] == {"value": value, "confidence": 0.41}
    assert report.summary["low_confidence_fields"] == [field]
    assert report.summary["min_confidence"] == 0.41


@pytest.mark.django_db
def test_every_low_field_gets_its_own_reason_and_the_report_page_shows_each_confidence(
    mindee, client, settings
):
    mindee.passport_answers(
        json_response(
            passport_response(
                birth_place=mfield("PARIS", 0.41),
                gender=mfield("F", 0.55),
                surname=mfield("MARTIN"),
            ),
            201,
        )
    )
    job = mindee_job(identity_document())
    jobs.job_submit(job.pk)
    report = Report.objects.get(job=job)
    assert sorted(r["criteria"]["field"] for r in report.reasons) == ["birth_place", "gender"]
    client.force_login(make_user("mindee-analyst", role="analyst"))
    url = reverse("kyc:report-detail", args=[report.pk])

    page = client.get(url).text
    assert "Low confidence: Birth place" in page
    assert "Read as &#x27;PARIS&#x27; with 41% confidence (threshold 80%)." in page
    rows = re.findall(r'<tr class="row-warn">\s*<th scope="row">([^<]+)</th>', page)
    assert rows == ["Sex", "Birth place"]  # in a document's reading order, on both databases
    assert " 41 %" in page and " 55 %" in page and " 99 %" in page

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get(url).text
    assert "Fiabilité faible\u00a0: Lieu de naissance" in french
    assert "Lu &#x27;PARIS&#x27; avec une fiabilité de 41\u00a0% (seuil 80\u00a0%)." in french


@pytest.mark.django_db
def test_a_field_mindee_could_not_read_is_missing_and_turns_the_report_orange(mindee):
    mindee.passport_answers(
        json_response(passport_response(surname=mfield("N/A", 0.0), mrz2=mfield(None, 0)), 201)
    )
    job = mindee_job(identity_document())
    jobs.job_submit(job.pk)
    report = Report.objects.get(job=job)
    assert (report.flag_color, report.flag_value) == ("orange", "incomplete")
    assert report.summary["missing_fields"] == ["last_name"]
    ocr = OcrResult.objects.get(document=job.document)
    assert "last_name" not in ocr.fields
    assert ocr.fields["full_name"] == "MARIE CLAIRE"
    assert ocr.fields["missing_fields"] == ["last_name", "nationality"]
    assert ocr.fields["mrz_raw_string"] == PASSPORT_MRZ1


# --------------------------------------------------------------------------- international ID


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Document.Kind.ID_CARD, Document.Kind.RESIDENCE_PERMIT])
def test_an_id_card_is_queued_then_polled_until_the_302_to_its_document(mindee, kind):
    job = submitted_id_card(mindee, "job-1", kind)
    job_id = job.external_id
    assert job.operation == "international_id"
    assert job.status == "submitted"
    assert job.next_poll_at == job.submitted_at + dt.timedelta(seconds=2)

    mindee.queue_once(job_id, "waiting")
    mindee.done(job_id, "id-doc-1")
    with freeze_time(job.next_poll_at):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "processing"
    assert job.last_error == "Mindee: not ready yet (job waiting)."  # Mindee's word, shown

    with freeze_time(job.next_poll_at):
        jobs.job_poll(job.pk)
    job = reload(job)
    assert job.status == "completed", job.last_error
    assert job.last_error == ""
    assert mindee.queue_polls == [f"Token {MINDEE_KEY}"] * 2

    ocr = OcrResult.objects.get(document=job.document)
    assert ocr.source == "mindee_international_id"
    assert ocr.fields["document_type"] == "IDENTIFICATION_CARD"
    assert ocr.fields["first_name"] == "MARIE CLAIRE"
    assert ocr.fields["last_name"] == "MARTIN"
    assert ocr.fields["nationality"] == "FRA"
    assert ocr.fields["issuing_country"] == "FRA"
    assert ocr.fields["expiry date"] == "2031-03-14"
    assert ocr.fields["address"] == "1 RUE DE LA PAIX 75002 PARIS"
    assert ocr.fields["mrz_raw_string"].count("\n") == 2
    # "N/A" is no value: the Artemis key is listed as missing instead.
    assert "personal_id_number" not in ocr.fields
    assert ocr.fields["missing_fields"] == ["personal_id_number"]
    assert ocr.confidence["first_name"] == 0.95
    report = Report.objects.get(job=job)
    assert (report.source, report.flag_color, report.external_id) == (
        "mindee_international_id",
        "green",
        "id-doc-1",
    )
    assert report.summary["job_id"] == job_id


@pytest.mark.django_db
def test_a_relative_location_is_followed_on_mindees_host(mindee):
    job = submitted_id_card(mindee)
    mindee.done("job-1", "doc-9", location=f"{ID_ROOT}/documents/doc-9")
    jobs.job_poll(job.pk, force=True)
    assert reload(job).status == "completed"


@pytest.mark.django_db
def test_a_redirect_to_another_host_is_not_followed(mindee):
    job = submitted_id_card(mindee)
    mindee.queue_answers(
        "job-1", Response("", status=302, headers={"Location": "http://127.0.0.2:9/steal"})
    )
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "failed"
    assert "unexpected address" in job.last_error


@pytest.mark.django_db
def test_a_failed_mindee_job_fails_with_its_error(mindee):
    job = submitted_id_card(mindee)
    failed = job_envelope(
        "job-1",
        "failed",
        http_status=200,
        error={"code": "ServerError", "message": "An error occurred", "details": "An error"},
    )
    mindee.queue_answers("job-1", json_response(failed))
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "failed"
    assert "ServerError: An error occurred" in job.last_error
    assert not job.reports.exists()


# ------------------------------------------------------------------------------- error table


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("response", "status", "words"),
    [
        (
            json_response(mindee_error("BadRequest", "Invalid fields in form", "pages"), 400),
            "failed",
            "BadRequest: Invalid fields in form",
        ),
        (
            json_response(mindee_error("Unauthorized", "Authorization required", ""), 401),
            "failed",
            "refused our credentials",
        ),
        (
            json_response(mindee_error("PlanLimitReached", "Plan limit reached", ""), 403),
            "failed",
            "PlanLimitReached",
        ),
        (
            json_response(mindee_error("Forbidden", "Access forbidden", ""), 403),
            "failed",
            "blocked API access (403: Forbidden: Access forbidden)",
        ),
        (
            json_response(mindee_error("NotFound", "Product not found", ""), 404),
            "failed",
            "NotFound: Product not found",
        ),
        (
            json_response(mindee_error("TooManyRequests", "Too many requests", ""), 429),
            "queued",
            "rate limiting us",
        ),
        (Response("Too Many Requests", status=429), "queued", "Too Many Requests"),
        (Response("<html>Gateway timeout</html>", status=504), "queued", "answered 504"),
        (Response("Internal error", status=500), "queued", "answered 500"),
        (Response("not json at all", status=201), "queued", "not JSON"),
        (
            json_response(
                {"api_request": {"status": "failure", "status_code": 500, "error": {}}}, 201
            ),
            "queued",
            "Mindee reported a failure",
        ),
    ],
)
def test_the_error_table_maps_onto_retry_or_failure(mindee, response, status, words):
    mindee.passport_answers(response)
    job = mindee_job(identity_document())
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == status
    assert words in job.last_error
    if status == "queued":
        assert job.next_poll_at is not None
    assert not job.reports.exists()


@pytest.mark.django_db
def test_429_waits_for_retry_after(mindee):
    mindee.passport_answers(
        json_response(
            mindee_error("TooManyRequests", "Too many requests", ""),
            429,
            {"Retry-After": "90"},
        )
    )
    job = mindee_job(identity_document())
    with freeze_time("2025-03-03 09:00:00"):
        jobs.job_submit(job.pk)
        assert reload(job).next_poll_at >= timezone.now() + dt.timedelta(seconds=90)


@pytest.mark.django_db
def test_a_poll_timeout_is_retried(mindee, settings):
    job = submitted_id_card(mindee)
    settings.MINDEE_TIMEOUT = 0.2
    mindee.queue_answers("job-1", slow(1.0, json_response(job_envelope("job-1", "processing"))))
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "submitted"
    assert "did not answer within 0.2 s" in job.last_error


@pytest.mark.django_db
def test_a_non_json_queue_answer_is_retried(mindee):
    job = submitted_id_card(mindee)
    mindee.queue_answers("job-1", Response("<html>Bad gateway</html>", status=200))
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert job.status == "submitted"
    assert "not JSON" in job.last_error


@pytest.mark.django_db
def test_a_5xx_on_the_queue_is_retried(mindee):
    job = submitted_id_card(mindee)
    mindee.queue_answers("job-1", Response("Service Unavailable", status=503))
    jobs.job_poll(job.pk, force=True)
    job = reload(job)
    assert (job.status, job.error_count) == ("submitted", 1)
    assert "answered 503" in job.last_error


# ------------------------------------------------------------------------------------ limits


def test_documents_over_the_size_limits_are_not_taken_and_the_page_says_why(settings):
    provider = MindeeProvider()
    assert provider.document_operation(document_input("passport", 10 * MB)) == "passport"
    big_passport = document_input("passport", 10 * MB + 1)
    assert provider.document_operation(big_passport) is None
    assert "up to 10 MB" in provider.skip_reason(big_passport)
    assert provider.document_operation(document_input("id_card", 15 * MB)) == "international_id"
    big_card = document_input("id_card", 20 * MB + 1)
    assert provider.document_operation(big_card) is None
    assert "up to 20 MB" in provider.skip_reason(big_card)
    other = document_input("bank_statement", 100)
    assert provider.document_operation(other) is None
    assert "passports, identity cards and residence permits" in provider.skip_reason(other)


@pytest.mark.django_db
def test_a_passport_scan_over_10_mb_gets_no_mindee_job(mindee):
    content = png_bytes() + b"\0" * (10 * MB)
    document = identity_document(content=content)
    assert not document.jobs.exists()
    [(label, reason)] = jobs.skipped_providers(document)
    assert label == "Mindee"
    assert "up to 10 MB" in reason
    assert mindee.uploads == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "pages", "limit"),
    [(Document.Kind.PASSPORT, 11, 10), (Document.Kind.ID_CARD, 21, 20)],
)
def test_a_pdf_over_the_page_limit_is_refused_before_sending(mindee, kind, pages, limit):
    document = identity_document(kind, content=pdf_with_pages(pages), name="scan.pdf")
    job = mindee_job(document)
    jobs.job_submit(job.pk)
    job = reload(job)
    assert job.status == "failed"
    assert f"up to {limit} pages; this one has {pages}" in job.last_error
    assert mindee.uploads == []


@pytest.mark.django_db
def test_a_pdf_within_the_page_limit_is_sent(mindee):
    mindee.passport_answers(json_response(passport_response(), 201))
    job = mindee_job(identity_document(content=pdf_with_pages(10), name="scan.pdf"))
    jobs.job_submit(job.pk)
    assert reload(job).status == "completed"


def test_the_rate_limiter_waits_when_four_calls_were_made_in_the_last_second():
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(((4, 1.0), (75, 60.0)), clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.acquire()
        now[0] += 0.1
    assert sleeps == []
    limiter.acquire()  # the fifth call in the same second
    assert sleeps == [pytest.approx(0.6)]


def test_the_rate_limiter_refuses_rather_than_sleeping_a_minute():
    now = [0.0]
    limiter = RateLimiter(((4, 1.0), (75, 60.0)), clock=lambda: now[0], sleep=lambda s: None)
    for _ in range(75):
        limiter.acquire()
        now[0] += 0.3
    with pytest.raises(ProviderError) as error:
        limiter.acquire()
    assert error.value.retryable
    assert 30 < error.value.retry_after <= 60


def test_the_rate_limiter_holds_across_threads():
    limiter = RateLimiter(((4, 0.5),))
    stamps: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        limiter.acquire()
        with lock:
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    stamps.sort()
    assert len(stamps) == 10
    # Any five consecutive calls span at least the window (small slack for clock reads).
    assert all(stamps[i + 4] - stamps[i] >= 0.49 for i in range(len(stamps) - 4))


# ---------------------------------------------------------------------------------- webhooks


def post_webhook(client, body: bytes, signature: str | None):
    headers = {"HTTP_X_MINDEE_HMAC_SIGNATURE": signature} if signature is not None else {}
    return client.post("/webhooks/mindee/", data=body, content_type="application/json", **headers)


def webhook_body(job_id: str = "job-1", doc_id: str = "id-doc-1") -> bytes:
    return json.dumps(id_document_response(doc_id, job_id)).encode()


@pytest.mark.django_db
def test_a_forged_signature_is_rejected_and_nothing_is_processed(client, mindee):
    body = webhook_body()
    response = post_webhook(client, body, mindee_sign(body, "not-the-secret"))
    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert (event.state, event.signature_verdict) == ("rejected", "invalid")
    # A refusal keeps a short prefix (the OCR further in is never stored) and the size.
    assert bytes(event.body) == body[: webhooks.REFUSED_BODY_PREFIX]
    assert event.body_size == len(body)
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_a_missing_signature_is_rejected(client, mindee):
    response = post_webhook(client, webhook_body(), None)
    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert (event.state, event.signature_verdict) == ("rejected", "missing")


@pytest.mark.django_db
def test_without_a_signing_secret_the_mindee_endpoint_is_404_and_stores_nothing(
    client, mindee, settings
):
    settings.MINDEE_WEBHOOK_SECRET = ""
    body = webhook_body()
    response = post_webhook(client, body, mindee_sign(body, ""))
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()
    # And the provider itself never takes such a delivery as signed.
    assert MindeeProvider().verify_webhook({}, body) == Verdict.INVALID


def test_the_signature_over_the_body_without_line_breaks_is_accepted_like_the_sdk(settings):
    settings.MINDEE_WEBHOOK_SECRET = MINDEE_SECRET
    body = json.dumps(id_document_response("d", "j"), indent=2).replace("\n", "\r\n").encode()
    stripped = body.replace(b"\r", b"").replace(b"\n", b"")
    provider = MindeeProvider()
    headers = {"X-Mindee-Hmac-Signature": mindee_sign(stripped)}
    assert provider.verify_webhook(headers, body) == Verdict.VALID
    assert provider.verify_webhook({"x-mindee-hmac-signature": mindee_sign(body)}, body) == (
        Verdict.VALID
    )
    assert provider.verify_webhook({"X-Mindee-Hmac-Signature": "é" * 64}, body) == (Verdict.INVALID)


def test_parse_webhook_names_the_job_and_never_raises_on_garbage():
    provider = MindeeProvider()
    info = provider.parse_webhook({}, webhook_body("job-7", "doc-7"))
    assert (info.event_type, info.dedupe_key, info.external_ids) == (
        "completed",
        "job:job-7:document:doc-7",
        ("job-7",),
    )
    garbage = provider.parse_webhook({}, b"\xff not json")
    assert garbage.event_type == ""
    assert garbage.dedupe_key.startswith("sha256:")
    assert garbage.external_ids == ()


@pytest.mark.django_db
def test_a_valid_signed_webhook_finishes_the_job_before_the_next_poll(
    client, mindee, django_capture_on_commit_callbacks
):
    with freeze_time("2025-03-03 09:00:00"):
        job = submitted_id_card(mindee)
    assert job.next_poll_at == dt.datetime(2025, 3, 3, 9, 0, 2, tzinfo=dt.UTC)
    mindee.done("job-1", "id-doc-1")
    body = webhook_body("job-1", "id-doc-1")

    with freeze_time("2025-03-03 09:00:01"):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_webhook(client, body, mindee_sign(body))
        assert response.status_code == 200
        event = WebhookEvent.objects.get()
        assert (event.signature_verdict, event.dedupe_key) == (
            "valid",
            "mindee:job:job-1:document:id-doc-1",
        )
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.webhook_process(event.pk)
        refetch = DBTaskResult.objects.get(task_path="kyc.services.jobs.refetch_job_task")
        refetch_job_task.call(*refetch.args_kwargs["args"])

    job = reload(job)
    assert job.status == "completed"
    assert job.finished_at < dt.datetime(2025, 3, 3, 9, 0, 2, tzinfo=dt.UTC)
    assert len(mindee.queue_polls) == 1

    # The same delivery again is stored as a duplicate and triggers nothing more.
    response = post_webhook(client, body, mindee_sign(body))
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(state="duplicate").count() == 1


# ------------------------------------------------------------------------------ real worker


def worker_env(mindee: FakeMindee, **extra: str) -> dict[str, str]:
    return {
        "KYC_TEST_PROVIDERS": MINDEE,
        "MINDEE_API_KEY": MINDEE_KEY,
        "MINDEE_BASE_URL": mindee.url,
        "MINDEE_WEBHOOK_SECRET": MINDEE_SECRET,
        **extra,
    }


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_reads_a_passport(mindee, db_tasks, tmp_path):
    mindee.passport_answers(json_response(passport_response("passport-doc-1"), 201))
    document = identity_document()
    worker = run_db_worker(media_root=tmp_path / "private", **worker_env(mindee))
    assert worker.returncode == 0, worker.stderr[-3000:]
    job = mindee_job(document)
    assert job.status == "completed", job.last_error
    assert mindee.uploads[0].content == original_bytes(document)
    assert OcrResult.objects.get(document=document).fields["last_name"] == "MARTIN"
    assert Report.objects.get(job=job).flag_color == "green"


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_polls_an_id_card_through_the_302(mindee, db_tasks, tmp_path):
    mindee.accept_id("job-1")
    mindee.queue_once("job-1", "processing")
    mindee.done("job-1", "id-doc-1")
    document = identity_document(Document.Kind.ID_CARD)
    worker = run_db_worker(
        media_root=tmp_path / "private", **worker_env(mindee, MINDEE_POLL_SECONDS="0")
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    job = mindee_job(document)
    assert job.status == "completed", job.last_error
    assert (job.external_id, job.poll_count) == ("job-1", 2)
    assert len(mindee.queue_polls) == 2
    ocr = OcrResult.objects.get(document=document)
    assert (ocr.source, ocr.fields["document_number"]) == ("mindee_international_id", "X4RTBPFW4")


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_finishes_a_job_on_a_signed_webhook_before_the_next_poll(
    client, mindee, db_tasks, tmp_path
):
    mindee.accept_id("job-1")
    document = identity_document(Document.Kind.ID_CARD)
    env = worker_env(mindee, MINDEE_POLL_SECONDS="600")

    first = run_db_worker(media_root=tmp_path / "private", **env)
    assert first.returncode == 0, first.stderr[-3000:]
    job = mindee_job(document)
    assert job.status == "submitted", job.last_error
    next_poll = job.next_poll_at
    assert next_poll > timezone.now() + dt.timedelta(seconds=500)

    mindee.done("job-1", "id-doc-1")
    body = webhook_body("job-1", "id-doc-1")
    assert post_webhook(client, body, mindee_sign(body)).status_code == 200

    second = run_db_worker(media_root=tmp_path / "private", **env)
    assert second.returncode == 0, second.stderr[-3000:]
    job = reload(job)
    assert job.status == "completed", job.last_error
    assert job.finished_at < next_poll
    assert len(mindee.queue_polls) == 1
    assert WebhookEvent.objects.get().state == "processed"
    # The regular poll is still scheduled for later; it will find the job final and do nothing.
    assert DBTaskResult.objects.filter(
        task_path="kyc.services.jobs.poll_job_task", status="READY"
    ).exists()

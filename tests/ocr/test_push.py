"""The outbox worker against the fake Artemis: the exact PUT bodies, delivery state, retries with
backoff for what a retry can fix, the vendor's refusal shown as is, the Retry button, missing
links and their creation in Artemis, and corrections surviving OCR re-runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from werkzeug import Response

from kyc.models import AuditEvent, Customer, Document, OcrCorrection, OcrResult
from kyc.providers import artemis as client
from kyc.services import artemis_link_create, ocr, ocr_correct, ocr_push, ocr_push_retry
from kyc.tasks import push_ocr_correction_task
from tests.factories import make_customer, make_user
from tests.fake_vendors import json_response, mfield, slow
from tests.ocr.conftest import (
    ID_MRZ_FIXED,
    PASSPORT_MRZ,
    identity_document,
    mindee_passport_reading,
    store_reading,
)
from tests.ocr.fake_artemis import spring_error

pytestmark = pytest.mark.django_db

PUSH_TASK = "kyc.services.ocr.push_ocr_correction_task"


def correct(result: OcrResult, reason: str = "Checked against the scan.", **changes):
    return ocr_correct(ocr_result=result, changes=changes, reason=reason, actor=make_user())


def reload(correction: OcrCorrection) -> OcrCorrection:
    return OcrCorrection.objects.get(pk=correction.pk)


def scheduled_pushes() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=PUSH_TASK).order_by("enqueued_at", "id"))


# ------------------------------------------------------------------------------- exact bodies


def test_the_put_body_of_a_corrected_passport_is_exactly_the_contract(passport, artemis):
    correction = correct(
        passport,
        reason="Number and expiry misread;  compound first name.",
        first_name="MARIE-CLAIRE",
        document_number="19FR12345",
        expiry_date="2030-01-01",
    )

    ocr_push(correction.pk)

    (put,) = artemis.ocr_puts
    assert put.path == "/api/customer/9001/document/7001/ocr"
    assert put.body == {
        "error": None,
        "result": {
            "race": None,
            "gender": "F",
            "status": None,
            "address": None,
            "domicile": None,
            "employer": None,
            "full_name": "MARIE-CLAIRE MARTIN",
            "full_name2": None,
            "last_name": "MARTIN",
            "birth date": "1985-04-12",
            "final hash": "true",
            "first_name": "MARIE-CLAIRE",
            "identifier": None,
            "issue_date": "2020-01-02",
            "profession": None,
            "expiry date": "2030-01-01",
            "expiry_date": "2030-01-01",
            "nationality": "FRA",
            "date_of_birth": "1985-04-12",
            "document_type": "PASSPORT",
            "optional_data": None,
            "ignored_fields": [],
            "missing_fields": [],
            "mrz_raw_string": "\n".join(PASSPORT_MRZ),
            "birth date hash": "true",
            "document_number": "19FR12345",
            "issuing_country": "FRA",
            "passport_number": "19FR12345",
            "country_of_birth": None,
            "expiry date hash": "true",
            "optional data hash": "true",
            "personal_id_number": None,
            "valid country code": "true",
            "valid genre format": "true",
            "document number hash": "true",
            "document type format": "true",
            "optional data format": "true",
            "passport_expiry_date": "2030-01-01",
            "document number format": "true",
            "valid nationality code": "true",
        },
        "task_id": f"kyc-ocr-{passport.pk}-{correction.pk}",
        "description": (
            f"Corrected by an analyst in the KYC dashboard (correction #{correction.pk}): "
            "Number and expiry misread; compound first name."
        ),
        "status_task": "SUCCESS",
    }
    correction = reload(correction)
    assert correction.sync_status == "synced"
    assert (correction.sync_attempts, correction.sync_error) == (1, "")
    assert correction.synced_at is not None
    event = AuditEvent.objects.get(action="ocr.synced")
    assert event.actor is None
    assert event.after["corrections"] == [correction.pk]
    assert event.after["artemis_document_id"] == 7001


def test_the_put_body_of_a_corrected_id_card_is_exactly_the_contract(id_card, artemis):
    # Mindee read a check digit of line 2 wrong: its MRZ fails two checks until corrected.
    before = client.ocr_payload(
        id_card.fields, corrected=(), passport=False, task_id="", description=""
    )
    assert (before["result"]["birth date hash"], before["result"]["final hash"]) == (
        "false",
        "false",
    )

    correction = correct(
        id_card,
        reason="Line 2 birth-date check digit misread (1 for 4); card type.",
        mrz_raw_string="\n".join(ID_MRZ_FIXED),
        document_type="NATIONAL_ID",
    )
    ocr_push(correction.pk)

    (put,) = artemis.ocr_puts
    assert put.path == "/api/customer/9002/document/7002/ocr"
    assert put.body == {
        "error": None,
        "result": {
            "race": None,
            "gender": "F",
            "status": None,
            "address": "1 RUE DE LA PAIX 75002 PARIS",
            "domicile": None,
            "employer": None,
            "full_name": "MARIE CLAIRE MARTIN",
            "full_name2": None,
            "last_name": "MARTIN",
            "birth date": "1985-04-12",
            "final hash": "true",
            "first_name": "MARIE CLAIRE",
            "identifier": None,
            "issue_date": "2021-03-15",
            "profession": None,
            "expiry date": "2031-03-14",
            "expiry_date": "2031-03-14",
            "nationality": "FRA",
            "date_of_birth": "1985-04-12",
            "document_type": "NATIONAL_ID",
            "optional_data": None,
            "ignored_fields": [],
            # Still unread, still missing.
            "missing_fields": ["personal_id_number"],
            "mrz_raw_string": "\n".join(ID_MRZ_FIXED),
            "birth date hash": "true",
            "document_number": "X4RTBPFW4",
            "issuing_country": "FRA",
            "passport_number": None,
            "country_of_birth": None,
            "expiry date hash": "true",
            # TD1 cards have no check digit on optional data: nothing failed.
            "optional data hash": "true",
            "personal_id_number": None,
            "valid country code": "true",
            "valid genre format": "true",
            "document number hash": "true",
            "document type format": "true",
            "optional data format": "true",
            "passport_expiry_date": None,
            "document number format": "true",
            "valid nationality code": "true",
        },
        "task_id": f"kyc-ocr-{id_card.pk}-{correction.pk}",
        "description": (
            f"Corrected by an analyst in the KYC dashboard (correction #{correction.pk}): "
            "Line 2 birth-date check digit misread (1 for 4); card type."
        ),
        "status_task": "SUCCESS",
    }
    assert reload(correction).sync_status == "synced"


def test_a_401_gets_a_new_token_and_the_push_succeeds(passport, artemis):
    artemis.ocr_answers = [json_response(spring_error(401, "Token expired"), 401)]
    correction = correct(passport, document_number="19FR12345")

    ocr_push(correction.pk)

    assert [put.bearer for put in artemis.ocr_puts] == ["tok-1", "tok-2"]
    assert reload(correction).sync_status == "synced"


# ------------------------------------------------------------------------------------ failures


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (json_response(spring_error(503, "Down for maintenance"), 503), "503"),
        (slow(1.0, json_response({})), "did not answer within 0.3 s"),
    ],
    ids=["503", "timeout"],
)
def test_a_retryable_failure_keeps_the_correction_and_retries_with_backoff(
    passport, artemis, settings, django_capture_on_commit_callbacks, failure, message
):
    settings.ARTEMIS_TIMEOUT = 0.3
    artemis.ocr_answers = [failure, failure]
    correction = correct(passport, document_number="19FR12345")

    started = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        ocr_push(correction.pk)

    failed = reload(correction)
    assert (failed.sync_status, failed.sync_attempts) == ("failed", 1)
    assert message in failed.sync_error
    (retry,) = scheduled_pushes()
    assert retry.args_kwargs["args"] == [correction.pk]
    # 10 s base, up to 20% jitter.
    assert started + dt.timedelta(seconds=10) <= retry.run_after
    assert retry.run_after <= timezone.now() + dt.timedelta(seconds=12)
    event = AuditEvent.objects.get(action="ocr.sync_error")
    assert event.after["retry_at"] == retry.run_after.isoformat()
    assert event.after["retryable"] is True

    # The retry fails again: the next one waits twice as long.
    with django_capture_on_commit_callbacks(execute=True):
        push_ocr_correction_task.call(correction.pk)
    second = scheduled_pushes()[-1]
    assert second.run_after >= timezone.now() + dt.timedelta(seconds=19)
    assert reload(correction).sync_attempts == 2

    # Artemis is back: the third attempt delivers.
    push_ocr_correction_task.call(correction.pk)
    delivered = reload(correction)
    assert (delivered.sync_status, delivered.sync_attempts, delivered.sync_error) == (
        "synced",
        3,
        "",
    )
    assert len(artemis.ocr_puts) == 3


def test_a_429_waits_at_least_as_long_as_artemis_asks(
    passport, artemis, django_capture_on_commit_callbacks
):
    artemis.ocr_answers = [json_response({"message": "slow down"}, 429, {"Retry-After": "120"})]
    correction = correct(passport, document_number="19FR12345")
    with django_capture_on_commit_callbacks(execute=True):
        ocr_push(correction.pk)
    (retry,) = scheduled_pushes()
    assert retry.run_after >= timezone.now() + dt.timedelta(seconds=119)


def test_a_400_is_kept_with_artemis_message_and_not_retried(
    passport, artemis, django_capture_on_commit_callbacks
):
    artemis.ocr_answers = [
        json_response(spring_error(400, "result.gender: must be one of M, F, X"), 400)
    ]
    correction = correct(passport, document_number="19FR12345")
    with django_capture_on_commit_callbacks(execute=True):
        ocr_push(correction.pk)

    failed = reload(correction)
    assert failed.sync_status == "failed"
    assert "result.gender: must be one of M, F, X" in failed.sync_error
    assert "400" in failed.sync_error
    assert not scheduled_pushes()
    assert AuditEvent.objects.get(action="ocr.sync_error").after["http_status"] == 400


def test_automatic_retries_stop_after_the_last_attempt(
    passport, artemis, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ocr, "MAX_AUTOMATIC_ATTEMPTS", 2)
    artemis.ocr_answers = [json_response(spring_error(502, "Bad gateway"), 502)] * 2
    correction = correct(passport, document_number="19FR12345")
    with django_capture_on_commit_callbacks(execute=True):
        ocr_push(correction.pk)
        ocr_push(correction.pk)
    assert len(scheduled_pushes()) == 1  # after the first failure only
    assert reload(correction).sync_status == "failed"


def test_a_crash_in_the_client_fails_the_push_instead_of_leaving_it_pending(
    passport, artemis, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("unexpected shape")

    monkeypatch.setattr(client, "put_ocr_result", broken)
    correction = correct(passport, document_number="19FR12345")
    ocr_push(correction.pk)
    failed = reload(correction)
    assert failed.sync_status == "failed"
    assert "RuntimeError: unexpected shape" in failed.sync_error


def test_a_missing_artemis_link_fails_without_calling_artemis(artemis, no_providers):
    document = identity_document(artemis_customer_id="9001")  # the document is not linked
    result = store_reading(document, mindee_passport_reading())
    correction = correct(result, document_number="19FR12346")

    ocr_push(correction.pk)

    failed = reload(correction)
    assert failed.sync_status == "failed"
    assert "the document has no Artemis id yet" in failed.sync_error
    assert not artemis.calls
    assert not scheduled_pushes()


# ---------------------------------------------------------------------------- several pushes


def test_one_push_delivers_every_earlier_correction_and_later_tasks_do_nothing(passport, artemis):
    first = correct(passport, document_number="19FR12345")
    second = correct(passport, expiry_date="2030-01-01")

    ocr_push(first.pk)
    ocr_push(second.pk)  # its own task, run after: already delivered
    ocr_push(first.pk)  # a task run twice

    (put,) = artemis.ocr_puts
    assert (put.body["result"]["document_number"], put.body["result"]["expiry_date"]) == (
        "19FR12345",
        "2030-01-01",
    )
    assert put.body["task_id"] == f"kyc-ocr-{passport.pk}-{second.pk}"
    assert {reload(c).sync_status for c in (first, second)} == {"synced"}
    assert reload(second).sync_attempts == 1


def test_a_failure_with_a_newer_correction_on_its_way_leaves_the_retry_to_it(
    passport, artemis, django_capture_on_commit_callbacks, monkeypatch
):
    first = correct(passport, document_number="19FR12345")
    claim = ocr._claim(passport.pk, first.pk)
    second = correct(passport, expiry_date="2030-01-01")  # saved while the first push runs
    with django_capture_on_commit_callbacks(execute=True):
        ocr._push_failed(claim, client.ProviderError("Artemis answered 503", retryable=True))
    assert reload(first).sync_status == "failed"
    assert reload(second).sync_status == "pending"
    assert not scheduled_pushes()


def test_a_new_ocr_run_after_a_correction_keeps_it_in_the_next_push(passport, artemis):
    first = correct(passport, document_number="19FR12345", expiry_date="2030-01-01")
    ocr_push(first.pk)

    # Mindee reads the document again (a new scan): misreads again, and a different sex.
    store_reading(
        passport.document,
        mindee_passport_reading(
            id_number=mfield("19FR1Z34S"), expiry_date=mfield("2031-01-07"), gender=mfield("M")
        ),
    )
    values = ocr.effective_fields(
        OcrResult.objects.get(pk=passport.pk), list(passport.corrections.all())
    )
    assert (values["document_number"], values["expiry_date"], values["gender"]) == (
        "19FR12345",
        "2030-01-01",
        "M",
    )

    second = correct(passport, gender="F", reason="The new scan's sex was misread.")
    ocr_push(second.pk)

    result = artemis.ocr_puts[-1].body["result"]
    assert (result["document_number"], result["passport_number"]) == ("19FR12345", "19FR12345")
    assert (result["expiry_date"], result["expiry date"], result["passport_expiry_date"]) == (
        "2030-01-01",
        "2030-01-01",
        "2030-01-01",
    )
    assert result["gender"] == "F"
    assert reload(second).changes == {"gender": {"old": "M", "new": "F"}}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks: PostgreSQL only")
def test_a_push_waits_while_another_worker_pushes_the_same_result(
    passport, artemis, django_capture_on_commit_callbacks
):
    from django.db import connections

    correction = correct(passport, document_number="19FR12345")
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext('ocr-push'), %s)", [passport.pk])
        with django_capture_on_commit_callbacks(execute=True):
            ocr_push(correction.pk)
    finally:
        other.close()
    assert not artemis.ocr_puts
    assert reload(correction).sync_status == "pending"
    (later,) = scheduled_pushes()
    assert later.run_after > timezone.now()


# ------------------------------------------------------------------------------- Retry button


def test_retry_sends_a_failed_correction_again(
    passport, artemis, django_capture_on_commit_callbacks
):
    artemis.ocr_answers = [json_response(spring_error(400, "Unknown document"), 400)]
    correction = correct(passport, document_number="19FR12345")
    ocr_push(correction.pk)
    analyst = make_user()

    with django_capture_on_commit_callbacks(execute=True):
        ocr_push_retry(correction=correction, actor=analyst)

    retried = reload(correction)
    assert (retried.sync_status, retried.sync_error) == ("pending", "")
    (task,) = scheduled_pushes()
    assert task.args_kwargs["args"] == [correction.pk]
    event = AuditEvent.objects.get(action="ocr.sync_retry")
    assert (event.actor, event.before["status"]) == (analyst, {str(correction.pk): "failed"})
    push_ocr_correction_task.call(correction.pk)
    assert reload(correction).sync_status == "synced"


def test_retry_refuses_a_delivered_correction_and_a_server_without_artemis(
    passport, artemis, settings
):
    correction = correct(passport, document_number="19FR12345")
    ocr_push(correction.pk)
    with pytest.raises(ValidationError, match="Only a failed or unsent"):
        ocr_push_retry(correction=correction, actor=make_user())
    settings.ARTEMIS_DOMAIN_ID = ""
    with pytest.raises(ValidationError, match="not configured"):
        ocr_push_retry(correction=correction, actor=make_user())


def test_corrections_saved_before_artemis_was_configured_can_be_sent(passport, artemis, settings):
    domain = settings.ARTEMIS_DOMAIN_ID
    settings.ARTEMIS_DOMAIN_ID = ""
    correction = correct(passport, document_number="19FR12345")
    assert correction.sync_status == "not_configured"
    settings.ARTEMIS_DOMAIN_ID = domain

    ocr_push_retry(correction=correction, actor=make_user())
    ocr_push(correction.pk)

    assert reload(correction).sync_status == "synced"


# ---------------------------------------------------------------------------- Artemis links


def test_create_in_artemis_links_customer_and_document_then_sends_the_corrections(
    artemis, no_providers, django_capture_on_commit_callbacks
):
    document = identity_document()
    result = store_reading(document, mindee_passport_reading())
    correction = correct(result, document_number="19FR12346")
    ocr_push(correction.pk)
    assert reload(correction).sync_status == "failed"  # not linked yet
    analyst = make_user()

    with django_capture_on_commit_callbacks(execute=True):
        artemis_link_create(document=document, country_of_residence="fra", actor=analyst)

    document.refresh_from_db()
    document.customer.refresh_from_db()
    assert (document.customer.artemis_customer_id, document.artemis_document_id) == (
        "9001",
        "7001",
    )
    (create,) = artemis.calls_to("POST", "/api/customer")
    assert create.body["particular"] == {
        "name": "MARIE CLAIRE MARTIN",
        "gender": "FEMALE",
        "countryOfResidence": "FRA",
        "nationality": ["FRA"],
    }
    assert create.body["profileReferenceId"] == f"kyc-customer-{document.customer_id}"
    (upload,) = artemis.calls_to("POST", "/document")
    with document.file.open("rb") as handle:
        assert upload.files["front"][2] == handle.read()  # the original bytes
    assert upload.files["front"][0] == document.original_name
    assert (
        AuditEvent.objects.filter(
            action__in=["artemis.customer_create", "artemis.document_create"], actor=analyst
        ).count()
        == 2
    )
    assert reload(correction).sync_status == "pending"
    (task,) = scheduled_pushes()
    push_ocr_correction_task.call(*task.args_kwargs["args"])
    assert artemis.ocr_puts[-1].path == "/api/customer/9001/document/7001/ocr"
    assert reload(correction).sync_status == "synced"


def test_create_in_artemis_refuses_bad_input_and_reports_artemis_errors(artemis, no_providers):
    document = identity_document()
    store_reading(document, mindee_passport_reading())
    with pytest.raises(ValidationError) as caught:
        artemis_link_create(document=document, country_of_residence="XX", actor=make_user())
    assert "country_of_residence" in caught.value.message_dict
    assert not artemis.calls

    artemis.customer_answers = [json_response(spring_error(400, "nationality is invalid"), 400)]
    with pytest.raises(ValidationError, match="nationality is invalid"):
        artemis_link_create(document=document, country_of_residence="FRA", actor=make_user())
    assert Customer.objects.get(pk=document.customer_id).artemis_customer_id == ""

    # The customer was created but the document upload fails: the customer stays linked.
    artemis.document_answers = [Response("Document uploaded successfully", status=200)]
    with pytest.raises(ValidationError, match="administration"):
        artemis_link_create(document=document, country_of_residence="FRA", actor=make_user())
    assert Customer.objects.get(pk=document.customer_id).artemis_customer_id == "9001"
    assert Document.objects.get(pk=document.pk).artemis_document_id == ""


def test_a_company_is_not_created_in_artemis_from_here(artemis, no_providers):
    company = make_customer(kind="company", legal_name="ACME SAS", siren="732829320")
    document = identity_document(customer=company)
    with pytest.raises(ValidationError, match="Only individuals"):
        artemis_link_create(document=document, country_of_residence="FRA", actor=make_user())
    assert not artemis.calls


# ------------------------------------------------------------------------------------- sweeper


def test_the_sweeper_sends_again_a_correction_whose_push_was_lost(
    passport, artemis, django_capture_on_commit_callbacks
):
    # Saved, its push task enqueued... and lost (a flushed queue, a dead worker).
    correction = correct(passport, document_number="19FR12345")
    assert ocr.corrections_sweep() == 0  # not stale yet: its task may still run
    later = timezone.now() + ocr.STALE_PENDING + dt.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert ocr.corrections_sweep(later) == 1
    (task,) = scheduled_pushes()
    assert task.args_kwargs["args"] == [correction.pk]
    assert AuditEvent.objects.filter(action="ocr.sync_retry", actor=None).count() == 1
    push_ocr_correction_task.call(correction.pk)
    assert reload(correction).sync_status == "synced"
    assert ocr.corrections_sweep(later + dt.timedelta(hours=1)) == 0


def test_the_sweeper_leaves_corrections_alone_without_artemis(passport, settings):
    correct(passport, document_number="19FR12345")
    later = timezone.now() + dt.timedelta(days=1)
    assert ocr.corrections_sweep(later) == 0


# ---------------------------------------------------------------------- workers without Artemis


def test_a_worker_without_artemis_leaves_the_push_pending_for_one_that_has_it(
    passport, artemis, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        correction = correct(passport, document_number="19FR12345")
    (task,) = scheduled_pushes()
    assert task.queue_name == "artemis"  # the queue of the workers that hold Artemis's keys

    # A worker on a host without Artemis credentials takes the task anyway.
    secret, settings.ARTEMIS_CLIENT_SECRET = settings.ARTEMIS_CLIENT_SECRET, ""
    push_ocr_correction_task.call(correction.pk)

    left = reload(correction)
    assert (left.sync_status, left.sync_attempts, left.sync_error) == ("pending", 0, "")
    assert artemis.ocr_puts == []
    assert not AuditEvent.objects.filter(action="ocr.sync_error").exists()
    # Its sweeper cannot send it either, and does not try.
    later = timezone.now() + ocr.STALE_PENDING + dt.timedelta(minutes=1)
    assert ocr.corrections_sweep(later) == 0

    # The sweeper of a host with Artemis sends it again, to the Artemis queue, and it arrives.
    settings.ARTEMIS_CLIENT_SECRET = secret
    with django_capture_on_commit_callbacks(execute=True):
        assert ocr.corrections_sweep(later) == 1
    resent = [t for t in scheduled_pushes() if t.id != task.id]
    assert [t.queue_name for t in resent] == ["artemis"]
    push_ocr_correction_task.call(correction.pk)
    assert reload(correction).sync_status == "synced"
    assert len(artemis.ocr_puts) == 1

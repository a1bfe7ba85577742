"""A job's error is written by the worker (in English) and read by analysts in their language.

The engine keeps the error twice: `last_error`, English text (logs, audit rows, jobs_list, admin),
and `last_error_detail`, the translatable message (kyc.i18n.Deferred) that the customer file shows
in the reader's language. Plain strings (a vendor's own words) pass through unchanged.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop
from werkzeug import Response

from kyc.i18n import Deferred, as_detail, as_text, from_detail
from kyc.models import AuditEvent, ProviderJob
from kyc.providers import http
from kyc.providers.base import Outcome, ProviderError, State, Submission
from kyc.services import jobs, privacy
from kyc.templatetags.kyc_tags import job_error
from tests.factories import make_customer, make_document
from tests.fakes import FakeProvider

ANSWERED = gettext_noop("%(vendor)s answered %(status)s on %(where)s: %(detail)s")
ANSWERED_FR = "Vendor a répondu 503 sur GET /x\u00a0: 100% busy, try %(later)s or %d"
VENDOR_DETAIL = "100% busy, try %(later)s or %d"  # a vendor's text that looks like a template

NOT_ANALYSED_EN = "The provider could not analyse this document."
NOT_ANALYSED_FR = "Le prestataire n\u2019a pas pu analyser ce document."


def answered(**params) -> Deferred:
    values = {"vendor": "Vendor", "status": 503, "where": "GET /x", "detail": VENDOR_DETAIL}
    return Deferred(ANSWERED, **{**values, **params})


# ------------------------------------------------------------------------------ the message type


def test_a_deferred_message_renders_in_the_active_language():
    message = answered()
    with translation.override("fr"):
        assert str(message) == ANSWERED_FR
    with translation.override("en"):
        assert str(message) == "Vendor answered 503 on GET /x: 100% busy, try %(later)s or %d"
    assert message.render("fr") == ANSWERED_FR


def test_a_message_survives_a_json_round_trip_with_its_types():
    message = Deferred(
        gettext_noop("Finovox sent a retrieve token longer than %(max)d characters."), max=255
    )
    stored = json.loads(json.dumps(message.to_json()))
    assert stored == {
        "msgid": "Finovox sent a retrieve token longer than %(max)d characters.",
        "params": {"max": 255},
    }
    again = Deferred.from_json(stored)
    assert again == message
    assert str(again) == "Finovox sent a retrieve token longer than 255 characters."


def test_vendor_text_with_percent_signs_is_kept_verbatim():
    again = Deferred.from_json(json.loads(json.dumps(answered().to_json())))
    assert again.params["detail"] == VENDOR_DETAIL
    with translation.override("fr"):
        assert str(again) == ANSWERED_FR


def test_a_nested_message_is_translated_too_and_round_trips():
    message = Deferred(
        gettext_noop("Mindee could not process the document: %(error)s"),
        error=Deferred(gettext_noop("no reason given")),
    )
    again = Deferred.from_json(json.loads(json.dumps(message.to_json())))
    assert again == message
    assert again.render("en") == "Mindee could not process the document: no reason given"
    assert again.render("fr") == (
        "Mindee n\u2019a pas pu traiter le document\u00a0: aucun motif indiqué"
    )


def test_parameters_that_json_cannot_keep_become_their_text():
    message = Deferred(gettext_noop("could not read the stored file: %(error)s"), error=OSError(5))
    assert message.params == {"error": "5"}
    json.dumps(message.to_json())


def test_a_message_whose_parameters_do_not_fit_falls_back_to_the_msgid():
    message = Deferred(gettext_noop("the built-in engine failed: %(error)s"), other="x")
    assert message.render("fr") == "the built-in engine failed: %(error)s"


def test_a_broken_translation_falls_back_to_the_english_message(monkeypatch):
    # A translator's typo in a placeholder must not hide the error (nor raise in a template).
    monkeypatch.setattr(translation, "gettext", lambda msgid: "%(erreur)s cassé")
    message = Deferred(gettext_noop("the built-in engine failed: %(error)s"), error="OOM")
    assert str(message) == "the built-in engine failed: OOM"


@pytest.mark.parametrize(
    "detail",
    [
        "not a dict",
        ["msgid"],
        {"params": {}},
        {"msgid": 5},
        {"msgid": "x %(a)s", "params": ["a"]},
        {"msgid": "x %(a)s", "params": {"a": ["list"]}},
        {"msgid": "x", "params": {"a": {"b": 1}}},
    ],
)
def test_anything_else_is_not_a_stored_message(detail):
    with pytest.raises(ValueError):
        Deferred.from_json(detail)
    assert from_detail(detail, "the English text") == "the English text"


def test_plain_strings_are_accepted_wherever_a_message_is():
    assert as_text("Vendor said 100% %(x)s") == "Vendor said 100% %(x)s"
    assert as_detail("Vendor said 100% %(x)s") is None
    error = ProviderError("Vendor said no", retryable=False)
    assert (str(error), error.message, error.text) == ("Vendor said no",) * 3


def test_last_error_text_is_english_even_from_a_french_request():
    with translation.override("fr"):
        assert (
            as_text(answered()) == "Vendor answered 503 on GET /x: 100% busy, try %(later)s or %d"
        )


def test_a_real_http_failure_is_a_deferred_message_with_the_vendor_words_kept(httpserver):
    httpserver.expect_request("/x").respond_with_response(
        Response(json.dumps({"message": VENDOR_DETAIL}), status=503)
    )
    with pytest.raises(ProviderError) as caught:
        http.request("Vendor", "GET", httpserver.url_for("/x?token=secret"), timeout=5)
    text = caught.value.text
    assert isinstance(text, Deferred)
    assert text.msgid == ANSWERED
    assert text.render("fr") == ANSWERED_FR
    assert "token=secret" not in json.dumps(text.to_json())


# ---------------------------------------------------------------------------------- the engine


@pytest.fixture
def failed_job(db, fake_provider, analyst):
    """A job the engine failed with a translatable vendor error (not retryable)."""

    def fail(error: ProviderError | Outcome) -> ProviderJob:
        customer = make_customer(actor=analyst)
        job = make_document(customer=customer, actor=analyst).jobs.get()
        if isinstance(error, Outcome):
            fake_provider.script = [Submission(external_id="x", outcome=error)]
        else:
            fake_provider.script = [error]
        jobs.job_submit(job.pk)
        job.refresh_from_db()
        assert job.status == ProviderJob.Status.FAILED
        return job

    return fail


def customer_file(client, job: ProviderJob, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    url = reverse("kyc:customer-detail", args=[job.request.customer_id])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def live_status(client, job: ProviderJob, **headers) -> str:
    url = reverse("kyc:customer-status", args=[job.request.customer_id])
    response = client.get(url, **headers)
    assert response.status_code in (200, 286)
    return response.content.decode()


def test_the_customer_file_shows_a_job_error_in_the_analysts_language(failed_job, analyst_client):
    job = failed_job(ProviderError(answered(detail="overloaded"), retryable=False))
    assert job.last_error == "Vendor answered 503 on GET /x: overloaded"
    assert job.last_error_detail == answered(detail="overloaded").to_json()

    french = customer_file(analyst_client, job, "fr")
    assert "Vendor a répondu 503 sur GET /x\u00a0: overloaded" in french
    assert job.last_error not in french

    english = customer_file(analyst_client, job, "en")
    assert job.last_error in english
    assert "a répondu" not in english


def test_the_live_status_fragment_follows_the_browser_language(failed_job, analyst_client):
    job = failed_job(Outcome(state=State.FAILED))  # no message: the engine's own default
    assert job.last_error == NOT_ANALYSED_EN
    french = live_status(analyst_client, job, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert NOT_ANALYSED_FR in french
    assert NOT_ANALYSED_EN not in french
    english = live_status(analyst_client, job, HTTP_ACCEPT_LANGUAGE="en")
    assert NOT_ANALYSED_EN in english


def test_audit_rows_keep_the_english_text(failed_job):
    with translation.override("fr"):
        job = failed_job(ProviderError(answered(detail="overloaded"), retryable=False))
    event = AuditEvent.objects.filter(object_id=str(job.pk), action="job.submit_error").get()
    assert event.after["error"] == "Vendor answered 503 on GET /x: overloaded"


def test_a_plain_vendor_string_passes_through_unchanged(failed_job, analyst_client):
    job = failed_job(ProviderError("Bad file: 100% %(unreadable)s", retryable=False))
    assert job.last_error == "Bad file: 100% %(unreadable)s"
    assert job.last_error_detail is None
    assert "Bad file: 100% %(unreadable)s" in customer_file(analyst_client, job, "fr")


def test_hostile_vendor_text_in_a_message_is_escaped(failed_job, analyst_client):
    job = failed_job(ProviderError(answered(detail="<script>alert(1)</script>"), retryable=False))
    page = customer_file(analyst_client, job, "fr")
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_a_malformed_detail_falls_back_to_the_english_text(failed_job, analyst_client):
    job = failed_job(ProviderError(answered(detail="overloaded"), retryable=False))
    ProviderJob.objects.filter(pk=job.pk).update(last_error_detail={"msgid": ["not", "text"]})
    page = customer_file(analyst_client, job, "fr")
    assert job.last_error in page
    job.refresh_from_db()
    with translation.override("fr"):
        assert job_error(job) == job.last_error


def test_retry_clears_the_error_and_its_detail(failed_job, analyst):
    job = failed_job(ProviderError(answered(), retryable=False))
    assert job.last_error and job.last_error_detail
    jobs.job_retry(job_id=job.pk, actor=analyst)
    job.refresh_from_db()
    assert (job.status, job.last_error, job.last_error_detail) == ("queued", "", None)


def test_a_successful_call_clears_a_retryable_error_and_its_detail(db, fake_provider, analyst):
    job = make_document(customer=make_customer(actor=analyst), actor=analyst).jobs.get()
    fake_provider.script = [ProviderError(answered(), retryable=True)]
    jobs.job_submit(job.pk)
    job.refresh_from_db()
    assert job.status == "queued" and job.last_error_detail == answered().to_json()
    ProviderJob.objects.filter(pk=job.pk).update(next_poll_at=None)
    jobs.job_submit(job.pk)
    job.refresh_from_db()
    assert (job.status, job.last_error, job.last_error_detail) == ("submitted", "", None)


def test_the_default_expiry_message_is_translated(db, fake_provider, analyst, monkeypatch):
    monkeypatch.setattr(FakeProvider, "expiry_message", "")
    job = make_document(customer=make_customer(actor=analyst), actor=analyst).jobs.get()
    jobs.job_submit(job.pk)
    ProviderJob.objects.filter(pk=job.pk).update(deadline_at=timezone.now())
    jobs.job_poll(job.pk, force=True)
    job.refresh_from_db()
    assert job.status == "expired"
    assert job.last_error.startswith("No result before the deadline")
    with translation.override("fr"):
        assert job_error(job) != job.last_error
        assert job_error(job) == translation.gettext(job.last_error)


def test_erasure_fails_active_jobs_with_a_translated_message(
    db, fake_provider, analyst, admin_user
):
    customer = make_customer(actor=analyst)
    job = make_document(customer=customer, actor=analyst).jobs.get()
    privacy.customer_erase(customer=customer, reason="Request", actor=admin_user)
    job.refresh_from_db()
    assert (job.status, job.last_error) == ("failed", "Customer erased.")
    with translation.override("fr"):
        assert job_error(job) == "Client effacé."

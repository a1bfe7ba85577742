"""Inbound webhooks: stored first, answered fast, deduplicated, processed by a task."""

from __future__ import annotations

import json

import pytest
from django_tasks_db.models import DBTaskResult

from kyc.models import ProviderJob, WebhookEvent
from kyc.services import jobs, webhooks
from tests.factories import make_document
from tests.fakes import FakeProvider, sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _only_the_fake_provider(fake_provider):
    return fake_provider


def post(client, body: bytes, *, signature: str | None = "auto", provider: str = "fake"):
    headers = {}
    if signature == "auto":
        headers["HTTP_X_FAKE_SIGNATURE"] = sign(body)
    elif signature is not None:
        headers["HTTP_X_FAKE_SIGNATURE"] = signature
    return client.post(
        f"/webhooks/{provider}/", data=body, content_type="application/json", **headers
    )


def submitted_job() -> ProviderJob:
    job = make_document().jobs.get()
    jobs.job_submit(job.pk)
    job.refresh_from_db()
    return job


def test_a_signed_webhook_is_stored_acknowledged_and_triggers_a_refetch(
    client, django_capture_on_commit_callbacks
):
    job = submitted_job()
    body = json.dumps({"event": "done", "delivery": "d1", "ids": [job.external_id]}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    assert event.signature_verdict == "valid"
    assert event.event_type == "done"
    assert event.headers["X-Fake-Signature"] == sign(body)
    assert (
        DBTaskResult.objects.filter(task_path=webhooks.process_webhook_task.module_path).count()
        == 1
    )

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_process(event.pk)
    event.refresh_from_db()
    assert event.state == "processed"
    refetch = DBTaskResult.objects.get(task_path="kyc.services.jobs.refetch_job_task")
    assert refetch.args_kwargs["args"] == [job.pk]

    # The re-fetch polls at once, ahead of the scheduled poll, with our own credentials.
    FakeProvider.pending_polls = 0
    jobs.job_poll(job.pk, force=True)
    job.refresh_from_db()
    assert job.status == "completed"


def test_a_duplicate_delivery_is_stored_once_as_duplicate_and_processed_once(client):
    job = submitted_job()
    body = json.dumps({"event": "done", "delivery": "same", "ids": [job.external_id]}).encode()
    assert post(client, body).status_code == 200
    assert post(client, body).status_code == 200
    first, second = WebhookEvent.objects.order_by("id")
    assert second.state == "duplicate"
    assert second.duplicate_of == first
    assert second.dedupe_key is None
    webhooks.webhook_process(first.pk)
    webhooks.webhook_process(second.pk)
    webhooks.webhook_process(first.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("processed", "duplicate")


def test_an_unknown_id_is_stored_acknowledged_and_ignored(client):
    body = json.dumps({"event": "done", "delivery": "x", "ids": ["nobody-knows"]}).encode()
    response = post(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    webhooks.webhook_process(event.pk)
    event.refresh_from_db()
    assert event.state == "ignored"
    assert "nobody-knows" in event.error


def test_a_body_that_is_not_json_is_stored_and_acknowledged(client):
    response = post(client, b"<html>not json</html>")
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.dedupe_key.startswith("fake:sha256:")
    webhooks.webhook_process(event.pk)
    event.refresh_from_db()
    assert event.state == "ignored"


@pytest.mark.parametrize("signature", [None, "0" * 64], ids=["missing", "forged"])
def test_a_missing_or_forged_signature_is_refused_stored_and_never_processed(client, signature):
    job = submitted_job()
    body = json.dumps({"event": "done", "delivery": "d", "ids": [job.external_id]}).encode()
    response = post(client, body, signature=signature)
    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.state == "rejected"
    assert event.signature_verdict == ("missing" if signature is None else "invalid")
    assert not DBTaskResult.objects.filter(
        task_path=webhooks.process_webhook_task.module_path
    ).exists()
    webhooks.webhook_process(event.pk)
    job.refresh_from_db()
    assert job.status == "submitted"


def test_an_unknown_provider_is_404_and_stores_nothing(client):
    response = post(client, b"{}", provider="nobody")
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_an_oversized_body_is_refused_before_it_is_read(client, settings):
    settings.WEBHOOK_MAX_BYTES = 100
    response = post(client, b"{" + b" " * 200 + b"}")
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_webhooks_need_no_login_and_no_csrf_token(client):
    client.handler.enforce_csrf_checks = True
    body = json.dumps({"event": "ping", "delivery": "p"}).encode()
    assert post(client, body).status_code == 200


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/fake/").status_code == 405


def test_credentials_in_headers_are_not_stored(client):
    body = json.dumps({"event": "ping", "delivery": "c"}).encode()
    client.post(
        "/webhooks/fake/",
        data=body,
        content_type="application/json",
        HTTP_X_FAKE_SIGNATURE=sign(body),
        HTTP_AUTHORIZATION="Bearer secret",
        HTTP_COOKIE="sessionid=abc",
    )
    headers = WebhookEvent.objects.get().headers
    assert headers["Authorization"] == "[redacted]"
    assert "abc" not in json.dumps(headers)

"""Webhook intake when the task queue or the cache is down, and deliveries whose task was lost:
stored and acknowledged anyway, enqueued again by `manage.py jobs_sweep`, and every delivery
ends. Redis outages are real ones: the cache and the RQ backend point at a closed local port."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time

from kyc.models import AuditEvent, ProviderJob, WebhookEvent
from kyc.services import jobs, webhooks
from tests.factories import make_customer, make_document, make_user
from tests.fakes import sign
from tests.scaleout.conftest import closed_port

PROCESS_TASK = "kyc.services.webhooks.process_webhook_task"


def post(client, body: bytes, **extra):
    extra.setdefault("HTTP_X_FAKE_SIGNATURE", sign(body))
    return client.post("/webhooks/fake/", data=body, content_type="application/json", **extra)


def delivery(n: int | str, ids: tuple[str, ...] = ()) -> bytes:
    return json.dumps({"event": "done", "delivery": f"d{n}", "ids": list(ids)}).encode()


def redis_down(settings) -> None:
    """Redis is gone: the cache (rate limits) and the task queue (RQ) point at a closed port."""
    url = f"redis://127.0.0.1:{closed_port()}/11"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": url}}


def sweep() -> str:
    out = StringIO()
    call_command("jobs_sweep", stdout=out)
    return out.getvalue()


def process_tasks() -> list[int]:
    return [
        result.args_kwargs["args"][0]
        for result in DBTaskResult.objects.filter(task_path=PROCESS_TASK).order_by("enqueued_at")
    ]


# ------------------------------------------------------------------------- 11. Redis is down


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_stored_and_acknowledged_while_redis_is_down_then_swept_in(
    client, fake_provider, settings
):
    # No role group: an earlier transactional test may have flushed the roles migration.
    actor = make_user(role=None)
    job = make_document(customer=make_customer(actor=actor), actor=actor).jobs.get()
    jobs.job_submit(job.pk)
    job.refresh_from_db()
    database_tasks = settings.TASKS
    redis_down(settings)

    response = post(client, delivery(1, ids=(job.external_id,)))

    # Committed for real (transaction=True): the enqueue on commit met the closed port.
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.state, event.requeued) == ("received", 0)
    assert process_tasks() == []

    # Still down at the next sweep: nothing is counted against the delivery.
    with freeze_time(event.received_at + dt.timedelta(seconds=301)):
        assert "0 webhook(s) re-enqueued" in sweep()
    event.refresh_from_db()
    assert (event.state, event.requeued) == ("received", 0)

    # Redis is back (here: the database queue): the sweep hands the delivery over.
    settings.TASKS = database_tasks
    with freeze_time(event.received_at + dt.timedelta(seconds=302)):
        assert "1 webhook(s) re-enqueued" in sweep()
    assert process_tasks() == [event.pk]
    webhooks.webhook_process(event.pk)
    event.refresh_from_db()
    assert event.state == "processed"
    assert job.external_id in json.loads(bytes(event.body))["ids"]


@pytest.mark.django_db
def test_the_rate_limit_still_counts_while_its_cache_is_down(client, fake_provider, settings):
    redis_down(settings)
    settings.WEBHOOK_RATE_PER_SECOND = 1
    settings.WEBHOOK_RATE_BURST = 2
    settings.WEBHOOK_REFUSED_BURST = 1
    with freeze_time("2026-03-02 09:00:00"):
        statuses = [post(client, delivery(n), REMOTE_ADDR="192.0.2.50").status_code for n in "ab"]
        assert statuses == [200, 200]
        assert post(client, delivery("c"), REMOTE_ADDR="192.0.2.50").status_code == 429
        # Refusals have their own bucket, also counted in this process meanwhile.
        forged = {"HTTP_X_FAKE_SIGNATURE": "0" * 64, "REMOTE_ADDR": "192.0.2.51"}
        assert post(client, delivery("f1"), **forged).status_code == 401
        assert post(client, delivery("f2"), **forged).status_code == 429
    assert WebhookEvent.objects.count() == 3


# ----------------------------------------------------------- 12. deliveries whose task was lost


@pytest.mark.django_db
def test_the_sweeper_enqueues_again_a_delivery_whose_task_died_after_the_set_age(
    client, fake_provider, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_STALE_SECONDS = 120
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, delivery(1)).status_code == 200
    event = WebhookEvent.objects.get()
    # Its task was taken by a worker that died: the row stays `received`.
    assert process_tasks() == [event.pk]
    received = event.received_at

    with freeze_time(received + dt.timedelta(seconds=119)):
        assert "0 webhook(s) re-enqueued" in sweep()
    with freeze_time(received + dt.timedelta(seconds=121)):
        assert "1 webhook(s) re-enqueued" in sweep()
    # Counted from the last hand-over, not from receipt.
    with freeze_time(received + dt.timedelta(seconds=200)):
        assert "0 webhook(s) re-enqueued" in sweep()
    with freeze_time(received + dt.timedelta(seconds=242)):
        assert "1 webhook(s) re-enqueued" in sweep()
    assert process_tasks() == [event.pk] * 3
    event.refresh_from_db()
    assert event.requeued == 2

    webhooks.webhook_process(event.pk)
    with freeze_time(received + dt.timedelta(days=1)):
        assert "0 webhook(s) re-enqueued" in sweep()
    event.refresh_from_db()
    assert (event.state, event.requeued) == ("ignored", 2)


@pytest.mark.django_db
def test_a_delivery_no_worker_ever_finishes_ends_failed_after_the_last_hand_over(
    fake_provider, settings
):
    settings.WEBHOOK_STALE_SECONDS = 60
    event = webhooks.webhook_receive(
        provider=fake_provider(),
        headers={"X-Fake-Signature": sign(delivery(2))},
        body=delivery(2),
        remote_addr="192.0.2.1",
    ).event
    assert event.state == "received"
    with freeze_time(event.received_at) as clock:
        for _ in range(webhooks.MAX_REQUEUES):
            clock.tick(61)
            assert webhooks.webhooks_sweep() == {"requeued": 1, "failed": 0}
        clock.tick(61)
        assert webhooks.webhooks_sweep() == {"requeued": 0, "failed": 1}
        clock.tick(61)
        assert webhooks.webhooks_sweep() == {"requeued": 0, "failed": 0}

    event.refresh_from_db()
    assert event.state == "failed"
    assert "no worker finished it" in event.error
    assert event.processed_at is not None
    audit = AuditEvent.objects.get(action="webhook.fail")
    assert audit.object_id == str(event.pk)
    assert len(process_tasks()) == webhooks.MAX_REQUEUES


@pytest.mark.django_db
def test_the_sweep_leaves_finished_and_recent_deliveries_alone(fake_provider, settings):
    settings.WEBHOOK_STALE_SECONDS = 60
    done = webhooks.webhook_receive(
        provider=fake_provider(),
        headers={"X-Fake-Signature": sign(delivery("p"))},
        body=delivery("p"),
        remote_addr=None,
    ).event
    webhooks.webhook_process(done.pk)
    recent = webhooks.webhook_receive(
        provider=fake_provider(),
        headers={"X-Fake-Signature": sign(delivery("r"))},
        body=delivery("r"),
        remote_addr=None,
    ).event
    WebhookEvent.objects.filter(pk=done.pk).update(
        received_at=done.received_at - dt.timedelta(hours=1)
    )

    assert webhooks.webhooks_sweep() == {"requeued": 0, "failed": 0}
    assert process_tasks() == []
    assert ProviderJob.objects.count() == 0
    recent.refresh_from_db()
    assert recent.requeued == 0

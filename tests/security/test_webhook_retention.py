"""Retention of webhook payloads: raw bodies and headers (Mindee's carry the OCR of identity
documents) are blanked WEBHOOK_RETENTION_DAYS after receipt once processed, the rows stay so
that replays are still caught as duplicates, and each run is audited once. Against the real
database, through the real service, command, endpoint and admin."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from kyc.models import AuditEvent, WebhookEvent
from kyc.services import privacy, webhooks
from tests.builders import make_webhook_event
from tests.fake_vendors import MINDEE_SECRET, id_document_response, mindee_sign

pytestmark = pytest.mark.django_db

LONG_AGO = "2024-01-15 08:00:00"
MINDEE = "kyc.providers.mindee.MindeeProvider"
FINAL_STATES = ["processed", "duplicate", "ignored", "rejected", "failed"]


def old_event(state: str = "processed", *, when: str = LONG_AGO, **overrides) -> WebhookEvent:
    with freeze_time(when):
        return make_webhook_event(state=state, **overrides)


def days_ago(days: float, state: str = "processed", **overrides) -> WebhookEvent:
    when = timezone.now() - dt.timedelta(days=days)
    with freeze_time(when):
        return make_webhook_event(state=state, **overrides)


def payload(event: WebhookEvent) -> tuple[bytes, dict, dt.datetime | None]:
    event.refresh_from_db()
    return bytes(event.body), event.headers, event.payload_purged_at


def purge_audits():
    return AuditEvent.objects.filter(action="webhook.purge")


# ------------------------------------------------------------------------------------ service


def test_webhook_retention_defaults_to_thirty_days(settings):
    assert settings.WEBHOOK_RETENTION_DAYS == 30


@pytest.mark.parametrize("state", FINAL_STATES)
def test_old_finished_deliveries_are_blanked_and_stamped_and_keep_their_row(state):
    event = old_event(state, payload={"lastName": "MARTIN", "birthDate": "1980-02-29"})
    before = WebhookEvent.objects.filter(pk=event.pk).values().get()
    now = timezone.now()

    result = privacy.webhook_payloads_purge(now=now)

    assert (result.count, result.dry_run) == (1, False)
    assert result.cutoff == now - dt.timedelta(days=30)
    assert payload(event) == (b"", {}, now)
    after = WebhookEvent.objects.filter(pk=event.pk).values().get()
    # Only the payload changed: the row, its dedupe key and its history stay.
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"body", "headers", "payload_purged_at"}
    assert after["dedupe_key"] == before["dedupe_key"] is not None


def test_recent_deliveries_are_kept():
    recent = days_ago(29)
    old = days_ago(31)
    body, headers = bytes(recent.body), recent.headers

    result = privacy.webhook_payloads_purge()

    assert result.count == 1
    assert payload(recent) == (body, headers, None)
    assert payload(old)[2] is not None


def test_a_delivery_received_moments_ago_is_left_to_its_task_even_with_no_retention():
    waiting = days_ago(0.0001, state="received")  # about nine seconds old
    body, headers = bytes(waiting.body), waiting.headers
    processed = old_event("processed")

    result = privacy.webhook_payloads_purge(days=0)

    assert result.count == 1
    assert payload(waiting) == (body, headers, None)
    waiting.refresh_from_db()
    assert waiting.state == "received"
    assert payload(processed)[0] == b""
    # Once processed, it goes at the next run.
    WebhookEvent.objects.filter(pk=waiting.pk).update(state="processed")
    assert privacy.webhook_payloads_purge(days=0).count == 1
    assert payload(waiting)[0] == b""


def test_a_delivery_never_processed_is_ended_and_blanked_at_the_end_of_its_retention():
    # Its task died with its worker and no sweeper ran: its body (identity OCR, for Mindee)
    # must not stay for ever.
    lost = old_event("received", provider="mindee")
    recent = days_ago(1, state="received")

    result = privacy.webhook_payloads_purge()

    assert (result.count, result.providers) == (1, {"mindee": 1})
    lost.refresh_from_db()
    assert (bytes(lost.body), lost.headers) == (b"", {})
    assert lost.payload_purged_at is not None
    assert lost.state == "failed"
    assert "retention ran out" in lost.error
    assert lost.processed_at is not None
    assert purge_audits().get().after["unprocessed"] == 1
    # Past its retention, its task finding it now does nothing.
    webhooks.webhook_process(lost.pk)
    lost.refresh_from_db()
    assert lost.state == "failed"
    recent.refresh_from_db()
    assert (recent.state, recent.payload_purged_at) == ("received", None)


def test_the_retention_follows_the_setting_and_the_argument(settings):
    event = days_ago(10)
    settings.WEBHOOK_RETENTION_DAYS = 11
    assert privacy.webhook_payloads_purge().count == 0
    settings.WEBHOOK_RETENTION_DAYS = 9
    assert privacy.webhook_payloads_purge(days=11).count == 0
    assert privacy.webhook_payloads_purge().count == 1
    assert payload(event)[0] == b""


def test_a_dry_run_counts_and_changes_nothing():
    events = [old_event("processed"), old_event("ignored", provider="mindee")]
    days_ago(1, state="received")  # still within its retention
    before = list(WebhookEvent.objects.order_by("pk").values())
    audits = AuditEvent.objects.count()

    result = privacy.webhook_payloads_purge(dry_run=True)

    assert (result.dry_run, result.count) == (True, len(events))
    assert result.providers == {"october": 1, "mindee": 1}
    assert list(WebhookEvent.objects.order_by("pk").values()) == before
    assert AuditEvent.objects.count() == audits


def test_a_second_run_purges_nothing_and_audits_nothing():
    first = old_event()
    assert privacy.webhook_payloads_purge().count == 1
    stamped = payload(first)[2]
    audits = AuditEvent.objects.count()

    again = privacy.webhook_payloads_purge()

    assert again.count == 0
    assert again.providers == {}
    assert payload(first)[2] == stamped  # not stamped again
    assert AuditEvent.objects.count() == audits


def test_one_audit_row_summarises_the_run():
    for state in FINAL_STATES:
        old_event(state)
    old_event("processed", provider="mindee")
    audit_before = list(AuditEvent.objects.order_by("pk").values())

    result = privacy.webhook_payloads_purge(days=30)

    assert list(AuditEvent.objects.order_by("pk").values())[: len(audit_before)] == audit_before
    event = purge_audits().get()
    assert event.actor is None
    assert event.customer is None
    assert (event.object_type, event.object_id) == ("webhookevent", "")
    assert event.after == {
        "reason": "retention",
        "retention_days": 30,
        "received_before": result.cutoff.isoformat(),
        "webhooks": len(FINAL_STATES) + 1,
        "unprocessed": 0,
        "providers": {"october": len(FINAL_STATES), "mindee": 1},
    }
    # No personal value in the audit row.
    assert "evt-" not in json.dumps(event.after)


def test_the_purge_is_one_update_per_batch():
    events = [old_event() for _ in range(5)]

    with CaptureQueriesContext(connection) as queries:
        result = privacy.webhook_payloads_purge(batch_size=2)

    updates = [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith('UPDATE "KYC_WEBHOOKEVENT"')
    ]
    assert len(updates) == 3  # 2 + 2 + 1
    assert result.count == 5
    assert all(payload(event)[0] == b"" for event in events)
    assert purge_audits().get().after["webhooks"] == 5


# ---------------------------------------------------------------------- replays stay duplicates


@pytest.fixture
def mindee_webhooks(settings):
    settings.KYC_PROVIDERS = [MINDEE]
    settings.MINDEE_API_KEY = "test-mindee-key"
    settings.MINDEE_WEBHOOK_SECRET = MINDEE_SECRET


def post_mindee(client, body: bytes):
    return client.post(
        "/webhooks/mindee/",
        data=body,
        content_type="application/json",
        HTTP_X_MINDEE_HMAC_SIGNATURE=mindee_sign(body),
    )


def test_a_replayed_delivery_is_still_a_duplicate_after_its_payload_was_purged(
    client, mindee_webhooks
):
    body = json.dumps(id_document_response("id-doc-1", "job-1")).encode()
    with freeze_time(LONG_AGO):
        response = post_mindee(client, body)
        assert response.status_code == 200
        first = WebhookEvent.objects.get()
        assert first.dedupe_key == "mindee:job:job-1:document:id-doc-1"
        webhooks.webhook_process(first.pk)  # no job of ours: ignored, processing is over
    first.refresh_from_db()
    assert first.state == "ignored"
    assert b"id-doc-1" in bytes(first.body)

    assert privacy.webhook_payloads_purge().count == 1
    assert payload(first)[0] == b""

    response = post_mindee(client, body)

    assert response.status_code == 200
    assert response.json()["state"] == "duplicate"
    replay = WebhookEvent.objects.exclude(pk=first.pk).get()
    assert (replay.state, replay.duplicate_of_id, replay.dedupe_key) == (
        "duplicate",
        first.pk,
        None,
    )
    assert replay.signature_verdict == "valid"
    assert bytes(replay.body) == body  # kept until its own retention ends
    assert replay.payload_purged_at is None


# ------------------------------------------------------------------------------------ command


def run_purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_documents", *args, stdout=out)
    return out.getvalue()


def test_the_daily_command_purges_webhook_payloads_and_says_how_many():
    old_event("processed")
    old_event("duplicate")
    waiting = days_ago(1, state="received")

    dry = run_purge("--dry-run")
    assert "would purge 2 webhook payload(s) received before 20" in dry
    assert not WebhookEvent.objects.filter(payload_purged_at__isnull=False).exists()

    output = run_purge()

    assert "purged 0 document(s)" in output  # documents are still purged by the same command
    cutoff = privacy.webhook_payloads_due_for_purge()[1].date().isoformat()
    assert f"purged 2 webhook payload(s) received before {cutoff}" in output
    assert WebhookEvent.objects.filter(payload_purged_at__isnull=False).count() == 2
    assert payload(waiting)[2] is None
    assert "purged 0 webhook payload(s)" in run_purge()


def test_webhook_days_overrides_the_webhook_retention_only():
    event = days_ago(10)

    assert "purged 0 webhook payload(s)" in run_purge("--days", "5")
    assert payload(event)[2] is None

    assert "purged 1 webhook payload(s)" in run_purge("--webhook-days", "5")
    assert payload(event)[0] == b""
    assert purge_audits().get().after["retention_days"] == 5


def test_a_negative_webhook_retention_is_refused():
    event = old_event()

    with pytest.raises(CommandError, match="--webhook-days must be zero or more"):
        run_purge("--webhook-days", "-1")

    assert payload(event)[2] is None
    assert not purge_audits().exists()


# -------------------------------------------------------------------------------------- admin


def test_the_admin_says_the_payload_was_purged(client, admin_user):
    client.force_login(admin_user)
    event = old_event(payload={"lastName": "MARTIN"}, headers={"X-Trace": "trace-123"})
    kept = make_webhook_event(state="processed")
    url = reverse("admin:kyc_webhookevent_change", args=[event.pk])
    page = client.get(url).text
    assert "MARTIN" in page and "trace-123" in page

    privacy.webhook_payloads_purge()

    page = client.get(url).text
    assert "MARTIN" not in page and "trace-123" not in page
    assert page.count("(deleted at the end of its retention period)") == 2
    assert "Payload purged at" in page
    changelist = client.get(
        reverse("admin:kyc_webhookevent_changelist") + "?payload_purged_at__isempty=0"
    )
    assert changelist.status_code == 200
    assert f"#{event.pk} (processed)" in changelist.text
    assert f"#{kept.pk} (processed)" not in changelist.text
    kept_page = client.get(reverse("admin:kyc_webhookevent_change", args=[kept.pk])).text
    assert "(deleted at the end of its retention period)" not in kept_page

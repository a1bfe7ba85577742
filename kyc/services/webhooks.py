"""Inbound webhooks: store every authentic delivery first, answer fast, process later in a task.

A webhook is only a trigger: processing re-fetches the job's result from the provider with our own
credentials, never trusting the body. Unknown events and unknown ids are stored and acknowledged.

What a delivery costs the database is bounded by who sent it:
- a provider that takes no webhooks here (unknown, not configured, no webhooks at all, no signing
  secret) is answered 404 by the view before anything is read or stored;
- a delivery refused for its signature keeps only its metadata and a short prefix of its body
  (REFUSED_BODY_PREFIX bytes), and refusals have their own small rate limit (past it: 429, no
  row), so that an anonymous flood of forgeries grows the table by a few rows a second;
- an authentic delivery is stored whole, as raw bytes, whatever they hold (NUL, invalid UTF-8):
  text taken from it (event, dedupe key, headers) is made storable on every database, and ids
  no vendor could have issued make its processing end `failed` with the reason, never a 500.

Storing never depends on the task queue or the cache: a delivery is answered 2xx once its row is
committed; if the queue is down, or the worker dies with the task, `webhooks_sweep` (run by
`manage.py jobs_sweep`) enqueues it again after WEBHOOK_STALE_SECONDS, and ends it `failed`
after MAX_REQUEUES tries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from kyc import providers, throttle
from kyc.models import ProviderJob, WebhookEvent
from kyc.providers.base import Provider, Verdict, WebhookInfo
from kyc.services.audit import audit_record

logger = logging.getLogger(__name__)

# Never stored: they may carry credentials of the sender or of our own proxy.
REDACTED_HEADERS = frozenset(
    {"cookie", "authorization", "proxy-authorization", "x-october-webhook-secret"}
)
# What a delivery refused for its signature keeps: enough to see what was sent, not a payload.
REFUSED_BODY_PREFIX = 512
REFUSED_MAX_HEADERS = 40
REFUSED_HEADER_CHARS = 256
MAX_HEADERS = 100
HEADER_CHARS = 2000
HEADER_NAME_CHARS = 100
# ProviderJob.external_id holds 255 characters: a longer id cannot be one of ours.
ID_MAX_CHARS = 255
# Hand-overs to the task queue by the sweeper before a delivery still not processed ends failed.
MAX_REQUEUES = 5
SWEEP_BATCH = 1000


@dataclass(frozen=True)
class Receipt:
    """What `webhook_receive` did: the HTTP status to answer, the row stored (if any), and for a
    429 the seconds to wait."""

    status: int
    event: WebhookEvent | None = None
    retry_after: float = 0.0


def _printable(value: object, limit: int) -> str:
    """Text every database stores and every log shows: characters that are not printable (NUL,
    which PostgreSQL refuses; lone surrogates, which are not UTF-8; other controls) written as
    escapes, cut to `limit`."""
    text = value if isinstance(value, str) else str(value)
    if not text.isprintable():
        text = "".join(
            char if char.isprintable() else f"\\u{ord(char):04x}" if ord(char) < 0x10000 else "?"
            for char in text
        )
    return text[:limit]


def _safe_headers(headers: Mapping[str, str], *, refused: bool = False) -> dict[str, str]:
    count, chars = (
        (REFUSED_MAX_HEADERS, REFUSED_HEADER_CHARS) if refused else (MAX_HEADERS, HEADER_CHARS)
    )
    safe: dict[str, str] = {}
    for name, value in list(headers.items())[:count]:
        key = _printable(name, HEADER_NAME_CHARS)
        safe[key] = "[redacted]" if key.lower() in REDACTED_HEADERS else _printable(value, chars)
    return safe


def _valid_id(value: str) -> bool:
    """Whether `value` could be a vendor's id: printable and short enough to be a job's."""
    return len(value) <= ID_MAX_CHARS and value.isprintable()


def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def _body_key(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _parse(provider: Provider, headers: Mapping[str, str], body: bytes) -> WebhookInfo:
    try:
        return provider.parse_webhook(headers, body)
    except Exception:
        # Garbage must still be stored and acknowledged: key it by its content.
        logger.warning("unreadable %s webhook body", provider.name, exc_info=True)
        return WebhookInfo(event_type="", dedupe_key=_body_key(body))


def webhook_receive(
    *,
    provider: Provider,
    headers: Mapping[str, str],
    body: bytes,
    remote_addr: str | None,
    query: Mapping[str, str] | None = None,
) -> Receipt:
    """Store one delivery and say what to answer.

    401 for a missing or wrong signature (stored as rejected with a prefix of the body, nothing
    processed), or 429 when this sender's refusals are over their own rate (nothing stored); 200
    for everything else, including duplicates (stored, pointing to the first delivery), events we
    do not know and bodies we cannot read. The caller has checked `provider.webhooks_enabled()`.
    """
    remote_addr = _ip(remote_addr)
    verdict = provider.verify_webhook(headers, body, query)
    if verdict in (Verdict.INVALID, Verdict.MISSING):
        return _refuse(provider, headers, body, verdict, remote_addr)

    info = _parse(provider, headers, body)
    key = info.dedupe_key if info.dedupe_key.isprintable() else _body_key(body)
    dedupe_key = f"{provider.name}:{key}"[:255]
    common = {
        "provider": provider.name,
        "headers": _safe_headers(headers),
        "body": body,
        "body_size": len(body),
        "signature_verdict": verdict,
        "remote_addr": remote_addr,
        "event_type": _printable(info.event_type, 64),
    }
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(**common, dedupe_key=dedupe_key)
            transaction.on_commit(lambda: _enqueue_processing(event.pk), robust=True)
    except IntegrityError:
        first = WebhookEvent.objects.filter(dedupe_key=dedupe_key).first()
        event = WebhookEvent.objects.create(
            **common,
            state=WebhookEvent.State.DUPLICATE,
            duplicate_of=first,
            processed_at=timezone.now(),
        )
    return Receipt(200, event)


def _refuse(
    provider: Provider,
    headers: Mapping[str, str],
    body: bytes,
    verdict: Verdict,
    remote_addr: str | None,
) -> Receipt:
    """A delivery that failed its signature check: metadata and a prefix, within the refusals'
    own rate limit, so that a forger cannot grow the table faster than a few rows a second."""
    wait = throttle.webhook_allow(provider.name, remote_addr, refused=True)
    if wait:
        logger.info(
            "refused %s webhook from %s not stored: over the refusals' rate",
            provider.name,
            remote_addr or "?",
        )
        return Receipt(429, retry_after=wait)
    event = WebhookEvent.objects.create(
        provider=provider.name,
        headers=_safe_headers(headers, refused=True),
        body=body[:REFUSED_BODY_PREFIX],
        body_size=len(body),
        signature_verdict=verdict,
        remote_addr=remote_addr,
        state=WebhookEvent.State.REJECTED,
        error=_("Signature missing or wrong: not processed."),
    )
    return Receipt(401, event)


def _enqueue_processing(event_id: int) -> None:
    try:
        process_webhook_task.enqueue(event_id)
    except Exception:
        # The row is committed: the sweeper hands it to the queue once the queue is back.
        logger.warning(
            "webhook #%s is stored but the task queue is unreachable; jobs_sweep will enqueue it",
            event_id,
            exc_info=True,
        )


def webhook_process(event_id: int) -> None:
    """Turn a stored delivery into re-fetches of the jobs it names. Idempotent."""
    from kyc.services import jobs

    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.state != WebhookEvent.State.RECEIVED:
            return
        provider = providers.get_provider(event.provider)
        now = timezone.now()
        event.processed_at = now
        if provider is None:
            event.state = WebhookEvent.State.IGNORED
            event.error = _("No provider called %(name)s.") % {"name": event.provider}
            event.save()
            return
        info = _parse(provider, event.headers, bytes(event.body))
        external_ids = [i for i in info.external_ids if i]
        refused = next((i for i in external_ids if not _valid_id(i)), None)
        if refused is not None:
            event.state = WebhookEvent.State.FAILED
            event.error = _(
                "Not processed: the delivery names the id “%(id)s”, which no vendor issues "
                "(control characters, invalid Unicode or over %(max)s characters)."
            ) % {"id": _printable(refused, 80), "max": ID_MAX_CHARS}
            event.save()
            return
        job_ids = list(
            ProviderJob.objects.filter(
                provider=provider.name,
                external_id__in=external_ids,
                status__in=ProviderJob.ACTIVE_STATUSES,
            ).values_list("pk", flat=True)
        )
        if job_ids:
            event.state = WebhookEvent.State.PROCESSED
            jobs.jobs_refetch(
                job_ids=job_ids, provider_name=provider.name, announced_ids=info.resource_ids
            )
        else:
            event.state = WebhookEvent.State.IGNORED
            event.error = (
                _("No active job matches %(ids)s.") % {"ids": ", ".join(external_ids)}
                if external_ids
                else _("Event %(event)s names no job we track.")
                % {"event": event.event_type or "?"}
            )
        event.save()


# ------------------------------------------------------------------------------------- sweep


def webhooks_stale(now: dt.datetime | None = None):
    """Deliveries still `received` WEBHOOK_STALE_SECONDS after they were last handed to the task
    queue: their task was lost (a worker died with it, the queue was down or flushed)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.WEBHOOK_STALE_SECONDS)
    return WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).filter(
        Q(requeued_at__lt=cutoff) | Q(requeued_at__isnull=True, received_at__lt=cutoff)
    )


def webhooks_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Hand stale deliveries (`webhooks_stale`) to the task queue again, oldest first; end
    `failed` those that MAX_REQUEUES hand-overs did not get processed, so that every delivery
    ends. While the queue is unreachable nothing is counted against a delivery: the sweep stops
    and the next one tries again. Safe to run at any time and from several places: processing
    is idempotent."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    stale = list(
        webhooks_stale(now)
        .order_by("received_at", "pk")
        .values_list("pk", "requeued")[:SWEEP_BATCH]
    )
    for event_id, requeued in stale:
        if requeued >= MAX_REQUEUES:
            counts["failed"] += _give_up(event_id, now)
            continue
        try:
            process_webhook_task.enqueue(event_id)
        except Exception:
            logger.warning(
                "jobs_sweep: the task queue is unreachable; %d webhook(s) still waiting",
                len(stale) - counts["requeued"] - counts["failed"],
                exc_info=True,
            )
            break
        counts["requeued"] += WebhookEvent.objects.filter(
            pk=event_id, state=WebhookEvent.State.RECEIVED
        ).update(requeued=F("requeued") + 1, requeued_at=now)
    return counts


@transaction.atomic
def _give_up(event_id: int, now: dt.datetime) -> int:
    event = (
        WebhookEvent.objects.select_for_update()
        .filter(pk=event_id, state=WebhookEvent.State.RECEIVED)
        .first()
    )
    if event is None:
        return 0
    event.state = WebhookEvent.State.FAILED
    event.processed_at = now
    event.error = _(
        "Not processed: handed to the task queue %(count)s times, no worker finished it. The "
        "jobs it names are still polled."
    ) % {"count": event.requeued + 1}
    event.save(update_fields=["state", "processed_at", "error"])
    audit_record(
        actor=None,
        action="webhook.fail",
        obj=event,
        after={"state": event.state, "requeued": event.requeued},
    )
    return 1


@task()
def process_webhook_task(event_id: int) -> None:
    webhook_process(event_id)

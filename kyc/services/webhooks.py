"""Inbound webhooks: store every delivery first, answer fast, process later in a task.

A webhook is only a trigger: processing re-fetches the job's result from the provider with our own
credentials, never trusting the body. Unknown events and unknown ids are stored and acknowledged.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kyc import providers
from kyc.models import ProviderJob, WebhookEvent
from kyc.providers.base import Provider, Verdict, WebhookInfo

logger = logging.getLogger(__name__)

# Never stored: they may carry credentials of the sender or of our own proxy.
REDACTED_HEADERS = frozenset(
    {"cookie", "authorization", "proxy-authorization", "x-october-webhook-secret"}
)


def _safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: ("[redacted]" if name.lower() in REDACTED_HEADERS else value[:2000])
        for name, value in headers.items()
    }


def _parse(provider: Provider, headers: Mapping[str, str], body: bytes) -> WebhookInfo:
    try:
        return provider.parse_webhook(headers, body)
    except Exception:
        # Garbage must still be stored and acknowledged: key it by its content.
        logger.warning("unreadable %s webhook body", provider.name, exc_info=True)
        return WebhookInfo(event_type="", dedupe_key="sha256:" + hashlib.sha256(body).hexdigest())


def webhook_receive(
    *,
    provider: Provider,
    headers: Mapping[str, str],
    body: bytes,
    remote_addr: str | None,
    query: Mapping[str, str] | None = None,
) -> tuple[WebhookEvent, int]:
    """Store one delivery and return it with the HTTP status to answer.

    401 for a missing or wrong signature (stored as rejected, nothing processed); 200 for
    everything else, including duplicates (stored, pointing to the first delivery) and events we
    do not know.
    """
    verdict = provider.verify_webhook(headers, body, query)
    common = {
        "provider": provider.name,
        "headers": _safe_headers(headers),
        "body": body,
        "signature_verdict": verdict,
        "remote_addr": remote_addr,
    }
    if verdict in (Verdict.INVALID, Verdict.MISSING):
        event = WebhookEvent.objects.create(
            **common,
            state=WebhookEvent.State.REJECTED,
            error=_("Signature missing or wrong: not processed."),
        )
        return event, 401

    info = _parse(provider, headers, body)
    dedupe_key = f"{provider.name}:{info.dedupe_key}"[:255]
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                **common, event_type=info.event_type[:64], dedupe_key=dedupe_key
            )
            transaction.on_commit(lambda: _enqueue_processing(event.pk), robust=True)
    except IntegrityError:
        first = WebhookEvent.objects.filter(dedupe_key=dedupe_key).first()
        event = WebhookEvent.objects.create(
            **common,
            event_type=info.event_type[:64],
            state=WebhookEvent.State.DUPLICATE,
            duplicate_of=first,
            processed_at=timezone.now(),
        )
    return event, 200


def _enqueue_processing(event_id: int) -> None:
    from kyc.tasks import process_webhook_task

    process_webhook_task.enqueue(event_id)


def webhook_process(event_id: int) -> None:
    """Turn a stored delivery into re-fetches of the jobs it names. Idempotent."""
    from kyc.services import jobs

    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.state != WebhookEvent.State.RECEIVED:
            return
        provider = providers.get_provider(event.provider)
        now = timezone.now()
        if provider is None:
            event.state = WebhookEvent.State.IGNORED
            event.error = _("No provider called %(name)s.") % {"name": event.provider}
            event.processed_at = now
            event.save()
            return
        info = _parse(provider, event.headers, bytes(event.body))
        job_ids = list(
            ProviderJob.objects.filter(
                provider=provider.name,
                external_id__in=[i for i in info.external_ids if i],
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
                _("No active job matches %(ids)s.") % {"ids": ", ".join(info.external_ids)}
                if info.external_ids
                else _("Event %(event)s names no job we track.") % {"event": info.event_type or "?"}
            )
        event.processed_at = now
        event.save()

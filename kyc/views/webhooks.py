"""Vendor webhook endpoints: public, CSRF-exempt, rate-limited and size-limited; the signature is
checked before the body is parsed or anything is processed."""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kyc import providers, throttle
from kyc.middleware import client_ip
from kyc.request_body import BodyTooLarge, LengthRequired, read_body, reads_chunked_body
from kyc.services import webhooks

logger = logging.getLogger(__name__)


def _retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


@csrf_exempt
@login_not_required
@require_POST
@reads_chunked_body
def receive(request: HttpRequest, provider: str) -> HttpResponse:
    vendor = providers.get_provider(provider)
    if vendor is None or not vendor.webhooks_enabled():
        # Unknown, not configured here, sends no webhooks, or no way to authenticate them: one
        # answer for all, before the body is read, the cache is asked or a row is written.
        if vendor is not None and vendor.sends_webhooks:
            logger.info("webhook to %s refused: its webhooks are not configured", vendor.name)
        return JsonResponse({"error": "not found"}, status=404)
    # Before the body is even read: a flood costs a cache lookup, not a database row each.
    wait = throttle.webhook_allow(vendor.name, client_ip(request))
    if wait:
        response = JsonResponse({"error": "rate limited"}, status=429)
        response["Retry-After"] = _retry_after(wait)
        return response
    try:
        body = read_body(request, limit=settings.WEBHOOK_MAX_BYTES)
    except BodyTooLarge:
        return JsonResponse({"error": "body too large"}, status=413)
    except LengthRequired:
        return JsonResponse({"error": "send a Content-Length (chunked bodies)"}, status=411)
    receipt = webhooks.webhook_receive(
        provider=vendor,
        headers=request.headers,
        body=body,
        query=request.GET,
        remote_addr=client_ip(request),
    )
    if receipt.status == 429:
        response = JsonResponse({"error": "rate limited"}, status=429)
        response["Retry-After"] = _retry_after(receipt.retry_after)
        return response
    if receipt.status == 401:
        return JsonResponse({"error": "invalid signature"}, status=401)
    event = receipt.event
    assert event is not None  # a delivery that was not refused is stored (Receipt(200, event))
    return JsonResponse({"received": event.pk, "state": event.state}, status=receipt.status)

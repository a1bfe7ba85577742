"""Vendor webhook endpoints: public, CSRF-exempt, rate-limited and size-limited; the signature is
checked before the body is parsed or anything is processed."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kyc import providers, throttle
from kyc.middleware import client_ip
from kyc.services import webhooks


@csrf_exempt
@login_not_required
@require_POST
def receive(request, provider: str):
    vendor = providers.get_provider(provider)
    if vendor is None:
        raise Http404("unknown provider")
    # Before the body is even read: a flood costs a cache lookup, not a database row each.
    wait = throttle.webhook_allow(vendor.name, client_ip(request))
    if wait:
        response = JsonResponse({"error": "rate limited"}, status=429)
        response["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.WEBHOOK_MAX_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"error": "body too large"}, status=413)
    if len(body) > settings.WEBHOOK_MAX_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    event, status = webhooks.webhook_receive(
        provider=vendor,
        headers=request.headers,
        body=body,
        query=request.GET,
        remote_addr=client_ip(request),
    )
    if status == 401:
        return JsonResponse({"error": "invalid signature"}, status=401)
    return JsonResponse({"received": event.pk, "state": event.state}, status=status)

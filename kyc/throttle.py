"""The webhook rate limit, kept in Django's cache.

No ORM here. The cache is local memory by default (per process: with N web processes each one
counts on its own, so a sender gets up to N times the allowance) and Redis when REDIS_URL is set
(shared by every process). Both are good enough for keeping a flood of webhooks off the database.
Log-in failures are not counted here: they are in the database (django-axes, kyc.lockout), so
that a Redis outage cannot stop anyone from logging in.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

PREFIX = "kyc:throttle"


def _key(kind: str, value: str) -> str:
    # Hashed: user input never becomes a cache key as it is (length, characters).
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{PREFIX}:{kind}:{digest}"


# ----------------------------------------------------------------------------------- webhooks


def webhook_allow(provider: str, ip: str | None, *, now: float | None = None) -> float:
    """A token bucket per provider and source IP: 0 when this delivery may go on, otherwise the
    seconds to wait (for Retry-After).

    WEBHOOK_RATE_PER_SECOND tokens come back every second up to WEBHOOK_RATE_BURST; each
    delivery takes one. A rate of 0 turns the limit off. Read-modify-write without a lock: two
    processes racing may both take the last token, which a rate limit can live with.
    """
    rate = float(settings.WEBHOOK_RATE_PER_SECOND)
    burst = float(max(1, settings.WEBHOOK_RATE_BURST))
    if rate <= 0:
        return 0.0
    now = time.time() if now is None else now
    key = _key("webhook", f"{provider}|{ip or '-'}")
    tokens, stamp = cache.get(key) or (burst, now)
    tokens = min(burst, tokens + max(0.0, now - stamp) * rate)
    if tokens >= 1:
        cache.set(key, (tokens - 1, now), timeout=math.ceil(burst / rate) + 60)
        return 0.0
    cache.set(key, (tokens, now), timeout=math.ceil(burst / rate) + 60)
    return (1 - tokens) / rate

"""The webhook rate limit, kept in Django's cache.

No ORM here. The cache is local memory by default (per process: with N web processes each one
counts on its own, so a sender gets up to N times the allowance) and Redis when REDIS_URL is set
(shared by every process). Both are good enough for keeping a flood of webhooks off the database.
Log-in failures are not counted here: they are in the database (django-axes, kyc.lockout), so
that a Redis outage cannot stop anyone from logging in.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache

PREFIX = "kyc:throttle"
logger = logging.getLogger(__name__)


def _key(kind: str, value: str) -> str:
    # Hashed: user input never becomes a cache key as it is (length, characters).
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{PREFIX}:{kind}:{digest}"


# ----------------------------------------------------------------------------------- webhooks

# Where the webhook buckets count while the shared cache (Redis) does not answer: this process's
# memory. Intake must go on during an outage (the README calls Redis disposable); the limit is
# then per process, as it is without REDIS_URL.
_LOCAL_BUCKETS = LocMemCache("kyc-webhook-buckets", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


def webhook_allow(
    provider: str, ip: str | None, *, now: float | None = None, refused: bool = False
) -> float:
    """A token bucket per provider and source IP: 0 when this delivery may go on, otherwise the
    seconds to wait (for Retry-After).

    WEBHOOK_RATE_PER_SECOND tokens come back every second up to WEBHOOK_RATE_BURST; each
    delivery takes one. With `refused`, the bucket of deliveries refused for their signature
    instead (WEBHOOK_REFUSED_RATE_PER_SECOND, WEBHOOK_REFUSED_BURST): counted apart, so that
    forgeries are held to their own small allowance. A rate of 0 turns a limit off.
    Read-modify-write without a lock: two processes racing may both take the last token, which
    a rate limit can live with.
    """
    if refused:
        rate = float(settings.WEBHOOK_REFUSED_RATE_PER_SECOND)
        burst = float(max(1, settings.WEBHOOK_REFUSED_BURST))
    else:
        rate = float(settings.WEBHOOK_RATE_PER_SECOND)
        burst = float(max(1, settings.WEBHOOK_RATE_BURST))
    if rate <= 0:
        return 0.0
    now = time.time() if now is None else now
    key = _key("webhook-refused" if refused else "webhook", f"{provider}|{ip or '-'}")
    try:
        return _take(cache, key, rate, burst, now)
    except Exception:  # the shared cache is down: count here rather than refuse or crash
        _warn_cache_down()
        return _take(_LOCAL_BUCKETS, key, rate, burst, now)


_warned_at = -math.inf


def _warn_cache_down() -> None:
    # Once a minute per process, not once per delivery of a 1,000/s burst.
    global _warned_at
    if time.monotonic() - _warned_at >= 60:
        _warned_at = time.monotonic()
        logger.warning("webhook rate limit: the cache is unreachable, counting in this process")


def _take(store: BaseCache, key: str, rate: float, burst: float, now: float) -> float:
    tokens, stamp = store.get(key) or (burst, now)
    tokens = min(burst, tokens + max(0.0, now - stamp) * rate)
    timeout = math.ceil(burst / rate) + 60
    if tokens >= 1:
        store.set(key, (tokens - 1, now), timeout=timeout)
        return 0.0
    store.set(key, (tokens, now), timeout=timeout)
    return (1 - tokens) / rate

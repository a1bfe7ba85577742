"""Throttles kept in Django's cache: log-in failures and webhook deliveries.

No ORM here. The cache is local memory by default (per process: with N web processes each one
counts on its own, so an attacker gets up to N times the allowance) and Redis when REDIS_URL is
set (shared by every process). Both are good enough for what these throttles are for: slowing
password guessing to a crawl and keeping a flood of webhooks off the database.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

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


def normalise_username(username: str) -> str:
    return (username or "").strip().casefold()[:150]


# ------------------------------------------------------------------------------------- log-in


@dataclass(frozen=True)
class LoginScope:
    """One thing failures are counted against: a username or a source IP."""

    name: str  # "username" or "ip"
    value: str
    limit: int


def login_scopes(username: str, ip: str | None) -> list[LoginScope]:
    scopes = [LoginScope("username", normalise_username(username), settings.LOGIN_MAX_FAILURES)]
    if ip:
        scopes.append(LoginScope("ip", ip, settings.LOGIN_MAX_FAILURES_PER_IP))
    return [scope for scope in scopes if scope.value and scope.limit > 0]


def login_locked_for(username: str, ip: str | None) -> int:
    """Seconds left before this username or IP may try again; 0 when neither is locked."""
    now = time.time()
    keys = [_key(f"login-lock-{scope.name}", scope.value) for scope in login_scopes(username, ip)]
    until = max(cache.get_many(keys).values(), default=0)
    return max(0, math.ceil(until - now))


def login_failure(username: str, ip: str | None) -> list[LoginScope]:
    """Count one failed log-in; returns the scopes this failure has just locked.

    Failures are counted in a window of LOGIN_LOCKOUT_SECONDS from the first one; reaching the
    limit locks the scope for LOGIN_LOCKOUT_SECONDS.
    """
    window = settings.LOGIN_LOCKOUT_SECONDS
    locked = []
    for scope in login_scopes(username, ip):
        key = _key(f"login-fail-{scope.name}", scope.value)
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=window)
            count = 1
        if count >= scope.limit:
            lock_key = _key(f"login-lock-{scope.name}", scope.value)
            if cache.add(lock_key, time.time() + window, timeout=window):
                locked.append(scope)
            cache.delete(key)
    return locked


def login_success(username: str) -> None:
    """A successful log-in clears the username's failures. The IP's count is left to expire:
    otherwise one valid account would let its owner guess other accounts' passwords forever."""
    value = normalise_username(username)
    cache.delete_many([_key("login-fail-username", value), _key("login-lock-username", value)])


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

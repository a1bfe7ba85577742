"""Log-in lockouts, counted in the database by django-axes (AXES_HANDLER is LockoutHandler).

The counters used to live in Django's cache: in local memory each web process counted on its
own, and on Redis an outage of Redis turned every log-in into a 500. django-axes' database handler
keeps them where the rest of a log-in already is (sessions, users): shared by every process,
unaffected by Redis, and visible in the admin (Axes > Access attempts; deleting a row unlocks).

What axes does as it is: it records every failed log-in (an AccessAttempt row per username,
address and user agent), and its authentication backend (AxesStandaloneBackend, first in
AUTHENTICATION_BACKENDS) refuses to check a password while the attempt is locked, on every page
that logs in. What this module keeps of the throttle it replaces, with the same settings:
- one limit per scope: LOGIN_MAX_FAILURES for a username, LOGIN_MAX_FAILURES_PER_IP for an
  address (an office may share one); axes compares its lockout parameters with a single limit;
- failures count until LOGIN_LOCKOUT_SECONDS pass without one, and a lock lasts as long;
- usernames are counted case-insensitively, unknown ones too (the page tells nothing about which
  accounts exist);
- a successful log-in clears its username's failures, never the other failures from its address:
  otherwise one valid account would let its owner reset the count of an address that guesses
  other accounts' passwords;
- how long a lock has left, for the log-in page.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone


def normalise_username(username: str | None) -> str:
    return (username or "").strip().casefold()[:150]


def username_of(request: HttpRequest, credentials: dict | None = None) -> str:
    """The username failures are counted against (settings.AXES_USERNAME_CALLABLE)."""
    if credentials and credentials.get("username") is not None:
        return normalise_username(credentials["username"])
    return normalise_username(request.POST.get("username"))


def cool_off(request: HttpRequest | None = None) -> dt.timedelta:
    """How long failures count and a lock lasts (settings.AXES_COOLOFF_TIME), read at each call
    so that LOGIN_LOCKOUT_SECONDS can change without a restart of the handler."""
    return dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


@dataclass(frozen=True)
class Scope:
    """One thing failures are counted against: a username or a source address."""

    name: str  # "username" or "ip" (as written in the audit rows)
    field: str  # the AccessAttempt column
    value: str
    limit: int


def scopes(request: HttpRequest, username: str) -> list[Scope]:
    found = [
        Scope("username", "username", normalise_username(username), settings.LOGIN_MAX_FAILURES)
    ]
    ip = getattr(request, "axes_ip_address", None)
    if ip:
        found.append(Scope("ip", "ip_address", ip, settings.LOGIN_MAX_FAILURES_PER_IP))
    return [scope for scope in found if scope.value and scope.limit > 0]


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler with one limit per scope and a username-only reset on success."""

    def locked_scopes(
        self, request: HttpRequest, credentials: dict | None = None
    ) -> dict[Scope, int]:
        """{Scope: seconds left} for each scope locked now (request updated by axes' proxy).

        A scope is locked while the failures of its attempts newer than the cool-off reach its
        limit; it unlocks when the attempt that made the count reach the limit, counting from the
        newest, grows older than the cool-off.
        """
        now = getattr(request, "axes_attempt_time", None) or timezone.now()
        window = cool_off(request)
        locked: dict[Scope, int] = {}
        for scope in scopes(request, username_of(request, credentials)):
            attempts = (
                AccessAttempt.objects.filter(
                    **{scope.field: scope.value}, attempt_time__gte=now - window
                )
                .order_by("-attempt_time")
                .values_list("attempt_time", "failures_since_start")[: scope.limit]
            )
            total = 0
            for attempt_time, failures in attempts:
                total += failures
                if total >= scope.limit:
                    locked[scope] = max(1, math.ceil((attempt_time + window - now).total_seconds()))
                    break
        return locked

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        return bool(self.locked_scopes(request, credentials))

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        super().user_logged_in(sender, request, user, **kwargs)
        AccessAttempt.objects.filter(username=normalise_username(user.get_username())).delete()


def _handler(request: HttpRequest) -> LockoutHandler:
    AxesProxyHandler.update_request(request)  # the client's address and the attempt's time
    return AxesProxyHandler.get_implementation()


def locked_scopes(request: HttpRequest, username: str) -> dict[Scope, int]:
    """The scopes of this log-in attempt that are locked now, with their seconds left."""
    return _handler(request).locked_scopes(request, {"username": username})


def locked_for(request: HttpRequest, username: str) -> int:
    """Seconds left before this username, from this address, may try again; 0 when free."""
    return max(locked_scopes(request, username).values(), default=0)

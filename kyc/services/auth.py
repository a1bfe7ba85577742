"""Log-in failures: counted against the username and the source IP, locked past a limit, audited.

The counting lives in kyc.throttle (Django's cache); this module records what happened in the
audit trail. Only failures that reached the password check are recorded: attempts refused
while locked are not, so a password-guessing robot cannot fill the audit table.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from kyc import throttle
from kyc.middleware import current_context
from kyc.models import AuditEvent


def _audit(action: str, *, username: str, after: dict) -> None:
    # The attempted username may name nobody, so there is not always a row to point at: this
    # writes the AuditEvent itself rather than through audit_record(obj=...).
    user = (
        get_user_model()
        .objects.filter(username__iexact=username.strip())
        .values_list("pk", flat=True)
        .first()
    )
    context = current_context()
    AuditEvent.objects.create(
        actor=None,
        action=action,
        object_type="user",
        object_id=str(user) if user else "",
        after={"username": username.strip()[:150], **after},
        ip_address=context.ip_address if context else None,
    )


@transaction.atomic
def login_failed_record(*, username: str, ip: str | None) -> int:
    """Count and audit one failed log-in ("auth.login_failed"); when it reaches a limit, audit
    the lock too ("auth.locked"). Returns the seconds the caller must now wait (0: not locked).
    """
    locked = throttle.login_failure(username, ip)
    _audit("auth.login_failed", username=username, after={})
    for scope in locked:
        _audit(
            "auth.locked",
            username=username,
            after={
                "scope": scope.name,
                "failures": scope.limit,
                "seconds": settings.LOGIN_LOCKOUT_SECONDS,
            },
        )
    return throttle.login_locked_for(username, ip)


def login_succeeded(*, username: str) -> None:
    """A successful log-in clears the username's failure count (see kyc.throttle)."""
    throttle.login_success(username)

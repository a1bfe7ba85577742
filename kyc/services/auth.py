"""Log-in failures in the audit trail.

django-axes counts them (kyc.lockout: in the database, against the username and the source
address); this module records what happened. Only failures that reached the password check are
recorded: attempts refused while locked are not, so a password-guessing robot cannot fill the
audit table.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest

from kyc import lockout
from kyc.services.audit import audit_record


def _audit(action: str, *, username: str, after: dict) -> None:
    # The attempted username may name nobody: the row then points at the user model, no id.
    user = get_user_model().objects.filter(username__iexact=username.strip()).only("pk").first()
    audit_record(
        actor=None,
        action=action,
        obj=user or get_user_model(),
        after={"username": username.strip()[:150], **after},
    )


@transaction.atomic
def login_failed_record(*, request: HttpRequest, username: str) -> int:
    """Audit one failed log-in that axes has just counted ("auth.login_failed") and each lock it
    caused ("auth.locked"). Returns the seconds the caller must now wait (0: not locked).

    The caller checked that nothing was locked before this attempt, so every scope locked now was
    locked by this failure.
    """
    _audit("auth.login_failed", username=username, after={})
    locked = lockout.locked_scopes(request, username)
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
    return max(locked.values(), default=0)

"""Roles are groups. Every permission decision on the server goes through these helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Who `request.user` is: the signed-in user, or the anonymous one.
type RequestUser = User | AnonymousUser

ANALYST = "analyst"
REVIEWER = "reviewer"
ADMIN = "admin"
ALL_ROLES = (ANALYST, REVIEWER, ADMIN)


def roles_of(user: RequestUser) -> frozenset[str]:
    """The user's role names, cached on the user object for the request (in its `__dict__`,
    as `cached_property` does)."""
    if not user.is_authenticated:
        return frozenset()
    cached: frozenset[str] | None = user.__dict__.get("_kyc_roles")
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {ADMIN}
        user.__dict__["_kyc_roles"] = cached
    return cached


def has_role(user: RequestUser, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def can_work_cases(user: RequestUser) -> bool:
    """Register customers, upload documents, propose decisions."""
    return has_role(user, ANALYST, REVIEWER, ADMIN)


def can_review(user: RequestUser) -> bool:
    """Confirm or send back a decision proposed by someone else."""
    return has_role(user, REVIEWER, ADMIN)


def can_administer(user: RequestUser) -> bool:
    return has_role(user, ADMIN)


def require_case_worker(user: RequestUser) -> None:
    """PermissionDenied (403) unless the user may work cases (analyst, reviewer or admin)."""
    if not can_work_cases(user):
        raise PermissionDenied(_("Your account has no analyst role."))

"""Roles are groups. Every permission decision on the server goes through these helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

ANALYST = "analyst"
REVIEWER = "reviewer"
ADMIN = "admin"
ALL_ROLES = (ANALYST, REVIEWER, ADMIN)


def roles_of(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_kyc_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        if user.is_superuser:  # type: ignore[attr-defined]
            cached = cached | {ADMIN}
        user._kyc_roles = cached  # type: ignore[union-attr]
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def can_work_cases(user) -> bool:
    """Register customers, upload documents, propose decisions."""
    return has_role(user, ANALYST, REVIEWER, ADMIN)


def can_review(user) -> bool:
    """Confirm or send back a decision proposed by someone else."""
    return has_role(user, REVIEWER, ADMIN)


def can_administer(user) -> bool:
    return has_role(user, ADMIN)

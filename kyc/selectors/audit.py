"""The global audit log: filters on who, what, which customer and when; reviewers and admins
only (decided in kyc.roles)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kyc import roles
from kyc.models import AuditEvent

SYSTEM = "system"


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""  # "" (anyone) | "system" | a user id
    action: str = ""  # an action, or a prefix ending with "." such as "decision."
    customer_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def as_dict(self) -> dict:
        """JSON-friendly, for the audit row of an export."""
        return {
            key: value.isoformat() if isinstance(value, dt.date) else value
            for key, value in asdict(self).items()
            if value not in ("", None)
        }

    @property
    def active(self) -> bool:
        return bool(self.as_dict())


def action_suggestions() -> list[tuple[str, str]]:
    """What the action filter offers: each family of `AuditEvent.Action` ("decision.", which
    matches all of them) followed by its actions, as (value, label)."""
    suggestions: list[tuple[str, str]] = []
    families: set[str] = set()
    for value, label in AuditEvent.Action.choices:
        family = value.split(".", 1)[0]
        if family not in families:
            families.add(family)
            suggestions.append((f"{family}.", _("Every %(family)s action") % {"family": family}))
        suggestions.append((value, str(label)))
    return suggestions


def _day_start(day: dt.date) -> dt.datetime:
    # Days are the user's days (TIME_ZONE), not UTC ones.
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_log(user, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Audit events matching the filters, newest first, with actor and customer joined.

    Every filter maps onto an index (actor+time, action, customer+time, time), and the caller
    pages without COUNT(*).
    """
    if not roles.can_review(user):
        return AuditEvent.objects.none()
    queryset = AuditEvent.objects.all()
    if filters.actor == SYSTEM:
        queryset = queryset.filter(actor__isnull=True)
    elif filters.actor.isdigit():
        queryset = queryset.filter(actor_id=int(filters.actor))
    if filters.action:
        if filters.action.endswith("."):
            queryset = queryset.filter(action__startswith=filters.action)
        else:
            queryset = queryset.filter(action=filters.action)
    if filters.customer_id is not None:
        queryset = queryset.filter(customer_id=filters.customer_id)
    if filters.date_from:
        queryset = queryset.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        queryset = queryset.filter(
            created_at__lt=_day_start(filters.date_to + dt.timedelta(days=1))
        )
    return queryset.select_related("actor", "customer").order_by("-created_at", "-id")

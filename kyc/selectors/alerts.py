"""Manager X-Ray alerts: per customer (persons -> companies -> dated alerts) and the inbox
across every customer the user may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kyc.models import Customer, ManagerAlert, Officer, OfficerRole
from kyc.selectors.access import customers_visible_to

Level = ManagerAlert.Level
ReviewStatus = ManagerAlert.ReviewStatus

INBOX_LEVELS = (Level.HIGH, Level.MEDIUM)
DEFAULT_INBOX_DAYS = 30
MAX_INBOX_DAYS = 3650


def _date_order(newest_first: bool):
    # Undated alerts last either way: their place in time is unknown.
    date = F("date").desc(nulls_last=True) if newest_first else F("date").asc(nulls_last=True)
    return (date, "-id" if newest_first else "id")


def customer_officers(
    customer: Customer, *, levels: Sequence[str] = (), newest_first: bool = True
) -> list[Officer]:
    """The customer's officers with their companies and their alerts (3 queries).

    With `levels`, only alerts of those levels, and only the companies and persons that have
    some: a filter that leaves empty shells around is noise for the analyst.
    """
    alerts = ManagerAlert.objects.select_related("reviewed_by").order_by(*_date_order(newest_first))
    roles = OfficerRole.objects.order_by(F("start_date").desc(nulls_last=True), "id")
    officers = Officer.objects.filter(request__customer=customer)
    if levels:
        alerts = alerts.filter(level__in=levels)
        roles = roles.filter(
            Exists(ManagerAlert.objects.filter(role=OuterRef("pk"), level__in=levels))
        )
        officers = officers.filter(
            Exists(ManagerAlert.objects.filter(role__officer=OuterRef("pk"), level__in=levels))
        )
    return list(
        officers.prefetch_related(
            Prefetch("roles", queryset=roles.prefetch_related(Prefetch("alerts", queryset=alerts)))
        ).order_by("last_name", "first_name", "id")
    )


ALERT_COUNTS: dict[str, dict[str, str]] = {
    "total": {},
    "high": {"level": Level.HIGH},
    "medium": {"level": Level.MEDIUM},
    "low": {"level": Level.LOW},
    "open": {"review_status": ReviewStatus.OPEN},
    "open_high": {"review_status": ReviewStatus.OPEN, "level": Level.HIGH},
}


def alert_summary_annotations() -> dict[str, Coalesce]:
    """Subqueries on a Customer row counting its alerts (see ALERT_COUNTS), so that a page can
    fetch them with its other annotations of the customer row."""

    def count(**filters: str) -> Coalesce:
        counted = (
            ManagerAlert.objects.filter(customer=OuterRef("pk"), **filters)
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        )
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    return {f"alerts_{key}": count(**filters) for key, filters in ALERT_COUNTS.items()}


def alert_summary_from_row(row: dict) -> dict[str, int]:
    return {key: row.get(f"alerts_{key}") or 0 for key in ALERT_COUNTS}


def customer_alert_summary(customer: Customer) -> dict[str, int]:
    """Alert counts of a customer by level, and how many are still to review (1 query)."""
    annotations = alert_summary_annotations()
    row = (
        Customer.objects.filter(pk=customer.pk).annotate(**annotations).values(*annotations).first()
    )
    return alert_summary_from_row(row or {})


@dataclass(frozen=True)
class InboxFilters:
    days: int = DEFAULT_INBOX_DAYS
    status: str = "open"  # "open" | "reviewed" | "all"
    level: str = ""  # "" (high and medium) | "high" | "medium"


def alerts_inbox(user, filters: InboxFilters, *, today: dt.date | None = None) -> QuerySet:
    """High and medium alerts dated within the last `days` days, across the customers the user
    may see, newest first, with everything a row shows joined.

    Undated alerts are included: their age is unknown, and an alert that never shows up in the
    inbox is an alert nobody reviews.
    """
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=max(1, min(filters.days, MAX_INBOX_DAYS)))
    levels = (filters.level,) if filters.level in INBOX_LEVELS else INBOX_LEVELS
    queryset = ManagerAlert.objects.filter(
        customer__in=customers_visible_to(user), level__in=levels
    ).filter(Q(date__gte=since) | Q(date__isnull=True))
    if filters.status == "open":
        queryset = queryset.filter(review_status=ReviewStatus.OPEN)
    elif filters.status == "reviewed":
        queryset = queryset.exclude(review_status=ReviewStatus.OPEN)
    return queryset.select_related("customer", "role__officer", "reviewed_by").order_by(
        F("date").desc(nulls_first=True), "-id"
    )


def alert_for_review(user, pk: int) -> ManagerAlert:
    """An alert of a customer the user may see (404 otherwise)."""
    return get_object_or_404(
        ManagerAlert.objects.filter(customer__in=customers_visible_to(user)).select_related(
            "customer", "role__officer", "reviewed_by"
        ),
        pk=pk,
    )

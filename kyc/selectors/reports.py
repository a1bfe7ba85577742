"""Reports: one report with what its page shows, scoped to the customers the user may see."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from kyc.models import Officer, Report
from kyc.selectors.access import customers_visible_to


def report_for_detail(user, pk: int) -> Report:
    """A report of a customer the user may see (404 otherwise), with its request, customer,
    document and job joined."""
    return get_object_or_404(
        Report.objects.filter(request__customer__in=customers_visible_to(user)).select_related(
            "request__customer", "document", "job"
        ),
        pk=pk,
    )


def report_officers(report: Report) -> list[Officer]:
    """The Manager X-Ray persons this report found, with their companies (2 queries)."""
    return list(
        Officer.objects.filter(report=report)
        .prefetch_related("roles")
        .order_by("last_name", "first_name", "id")
    )

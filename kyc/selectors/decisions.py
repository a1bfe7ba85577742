"""Decisions of a customer file, for the review panels (manager alerts summary, decisions)."""

from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import get_object_or_404

from kyc.models import Customer, Decision
from kyc.selectors.access import customers_visible_to
from kyc.selectors.alerts import alert_summary_annotations, alert_summary_from_row
from kyc.services.decisions import (
    EvidenceChange,
    changes_since,
    evidence_annotations,
    evidence_from_row,
)

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class ReviewState:
    """What the customer file's review panels show."""

    history: list[Decision]  # newest first, the open proposal included
    open: Decision | None
    # Evidence changed since the open proposal: confirming it will be refused (and void it).
    changes: list[EvidenceChange]
    alert_summary: dict[str, int]


def customer_review(customer: Customer) -> ReviewState:
    """Decisions (with their users), alert counts and evidence timestamps of a customer, in 2
    queries whatever the number of decisions, alerts, documents and reports."""
    history = list(
        Decision.objects.filter(customer=customer)
        .select_related("proposed_by", "reviewed_by")
        .order_by("-proposed_at", "-id")[:HISTORY_LIMIT]
    )
    annotations = {**evidence_annotations(), **alert_summary_annotations()}
    row = (
        Customer.objects.filter(pk=customer.pk).annotate(**annotations).values(*annotations).first()
    ) or {}
    open_proposal = next((d for d in history if d.status == Decision.Status.PROPOSED), None)
    changes = (
        changes_since(evidence_from_row(row), open_proposal.proposed_at) if open_proposal else []
    )
    return ReviewState(
        history=history,
        open=open_proposal,
        changes=changes,
        alert_summary=alert_summary_from_row(row),
    )


def decision_for_review(user, pk: int) -> Decision:
    """A decision of a customer the user may see (404 otherwise)."""
    return get_object_or_404(
        Decision.objects.filter(customer__in=customers_visible_to(user)).select_related(
            "customer", "proposed_by"
        ),
        pk=pk,
    )

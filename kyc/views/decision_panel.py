"""The customer file's review panels (manager alerts summary and decisions): their context,
shared by the customer file (kyc.views.common) and the decision views (kyc.views.decisions)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from kyc import roles
from kyc.forms import DecisionProposeForm, DecisionReviewForm
from kyc.models import Customer
from kyc.selectors import decisions as selectors
from kyc.services.decisions import ReasonCode

PANEL_TEMPLATE = "kyc/decisions/_panel.html"


def reason_code_label(code: str) -> str:
    """The label of a reason code; codes outside today's list are shown as they are."""
    try:
        return str(ReasonCode(code).label)
    except ValueError:
        return code


def review_panels_context(
    request: HttpRequest, customer: Customer, *, form: forms.Form | None = None
) -> dict[str, Any]:
    """Context of the customer file's review panels, the manager alerts summary and the
    decisions panel (2 queries whatever the number of alerts, decisions and evidence)."""
    state = selectors.customer_review(customer)
    user = request.user
    open_proposal = state.open
    stale = bool(state.changes)
    for decision in state.history:
        decision.reason_label = reason_code_label(decision.reason_code)
    return {
        "alert_summary": state.alert_summary,
        # The open proposal has its own block above the history.
        "decisions": [d for d in state.history if d is not open_proposal],
        "open_proposal": open_proposal,
        "evidence_changes": state.changes,
        "evidence_changed": stale,
        # An open proposal whose evidence changed is voided by the next proposal.
        "can_propose": roles.can_work_cases(user) and (open_proposal is None or stale),
        "can_review": roles.can_review(user),
        "is_proposer": open_proposal is not None and open_proposal.proposed_by_id == user.pk,
        "decision_form": form or DecisionProposeForm(),
        "review_form": DecisionReviewForm(),
        "review_error": "",
    }

"""The decisions panel of the customer file: propose, then confirm or send back (four eyes).

The panel hides what a user may not do and says why; the services refuse it anyway. With htmx
each form re-renders the panel in place and announces `decisions-changed`; without JS, a POST
redirects back to the customer file (or re-renders it with the form's errors).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from kyc import services
from kyc.forms import DecisionProposeForm
from kyc.models import Customer
from kyc.selectors import decisions as selectors
from kyc.selectors.customers import customer_for_detail
from kyc.views.common import customer_file_context
from kyc.views.decision_panel import PANEL_TEMPLATE, review_panels_context
from kyc.views.types import HtmxHttpRequest

EVENT = "decisions-changed"


def _panel(
    request: HttpRequest,
    customer: Customer,
    *,
    form: forms.Form | None = None,
    error: str = "",
    changed: bool = False,
) -> HttpResponse:
    context = {"customer": customer, **review_panels_context(request, customer, form=form)}
    context["review_error"] = error
    response = render(request, PANEL_TEMPLATE, context)
    return trigger_client_event(response, EVENT) if changed else response


def _back_to_file(customer: Customer) -> HttpResponseRedirect:
    return redirect(reverse("kyc:customer-detail", args=[customer.pk]) + "#decisions-panel")


@require_POST
def decision_propose(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    customer = customer_for_detail(request.user, pk)
    form = DecisionProposeForm(request.POST)
    if form.is_valid():
        try:
            services.decision_propose(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            if request.htmx:
                return _panel(request, customer, changed=True)
            messages.success(request, _("Decision proposed: a reviewer must now confirm it."))
            return _back_to_file(customer)
    if request.htmx:
        return _panel(request, customer, form=form)
    # Without JS, the whole file again with the form and its errors (nothing typed is lost).
    context = customer_file_context(request, customer)
    context["decision_form"] = form
    return render(request, "kyc/customers/detail.html", context, status=200)


def _review(request: HtmxHttpRequest, pk: int, *, confirm: bool) -> HttpResponse:
    decision = selectors.decision_for_review(request.user, pk)
    customer = decision.customer
    comment = request.POST.get("comment", "")
    try:
        # PermissionDenied (not a reviewer, or the proposer) propagates: 403, nothing written.
        if confirm:
            decision = services.decision_confirm(
                decision=decision, actor=request.user, comment=comment
            )
        else:
            decision = services.decision_send_back(
                decision=decision, actor=request.user, comment=comment
            )
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if request.htmx:
            # A proposal found void was recorded so: other panels may refresh too.
            return _panel(request, customer, error=error, changed=True)
        messages.error(request, error)
        return _back_to_file(customer)
    if request.htmx:
        return _panel(request, decision.customer, changed=True)
    if confirm:
        messages.success(
            request,
            _("Decision confirmed: the customer file is now “%(status)s”.")
            % {"status": decision.customer.get_status_display()},
        )
    else:
        messages.success(request, _("Proposal sent back to the analyst."))
    return _back_to_file(customer)


@require_POST
def decision_confirm(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _review(request, pk, confirm=True)


@require_POST
def decision_send_back(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _review(request, pk, confirm=False)

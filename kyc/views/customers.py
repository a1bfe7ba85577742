"""The case queue (home page), customer creation, the customer file and assignment."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from stdnum.fr import siren as stdnum_siren

from kyc import roles, services
from kyc.forms import CompanyForm, IndividualForm, QueueFilterForm, add_service_errors
from kyc.identifiers import normalise_digits
from kyc.models import Customer
from kyc.selectors import customers as selectors
from kyc.selectors.access import customers_visible_to
from kyc.views.common import customer_file_context
from kyc.views.navigation import redirect_to_next
from kyc.views.types import HtmxHttpRequest


@require_GET
def queue(request: HtmxHttpRequest) -> HttpResponse:
    """The case queue. With htmx, only the table is re-rendered (filters, sorting, pages)."""
    form = QueueFilterForm(request.GET)
    filters, page_number = form.filters()
    page = selectors.paginate(selectors.case_queue(request.user, filters), page_number)
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "querystring": params.urlencode(),
        "sort_querystring": sort_params.urlencode(),
        "can_work": roles.can_work_cases(request.user),
    }
    template = "kyc/customers/queue.html"
    if request.htmx and request.htmx.target == "case-table":
        template += "#case-table"
    return render(request, template, context)


@require_POST
def take_next(request: HttpRequest) -> HttpResponse:
    roles.require_case_worker(request.user)
    customer = services.customer_take_next(actor=request.user)
    if customer is None:
        messages.info(request, _("There is no unassigned open case left."))
        return redirect("kyc:home")
    messages.success(request, _("Case assigned to you."))
    return redirect("kyc:customer-detail", pk=customer.pk)


@require_POST
def assign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Assign to me (or unassign with `unassign=1`). Returns the queue row for htmx."""
    roles.require_case_worker(request.user)
    customer = selectors.customer_for_detail(request.user, pk)
    assignee = None if request.POST.get("unassign") else request.user
    services.customer_assign(customer_id=customer.pk, assignee=assignee, actor=request.user)
    if request.htmx and request.POST.get("row"):
        row = selectors.case_queue(request.user, selectors.QueueFilters()).get(pk=customer.pk)
        return render(
            request,
            "kyc/customers/queue.html#case-row",
            {"customer": row, "can_work": True},
        )
    return redirect_to_next(request, reverse("kyc:customer-detail", args=[customer.pk]))


@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    roles.require_case_worker(request.user)
    kind = request.POST.get("kind") or request.GET.get("kind") or Customer.Kind.COMPANY
    # Bound only to a submission: a new, empty form shows no errors.
    data = request.POST if request.method == "POST" else None
    if kind not in Customer.Kind.values:
        if data is not None:
            messages.error(request, _("Choose an individual or a company."))
        kind = Customer.Kind.COMPANY
        data = None
    company_form = CompanyForm(data if kind == Customer.Kind.COMPANY else None)
    individual_form = IndividualForm(data if kind == Customer.Kind.INDIVIDUAL else None)
    form = company_form if kind == Customer.Kind.COMPANY else individual_form
    existing = []
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        confirmed = values.pop("confirm_duplicate", False)
        if kind == Customer.Kind.COMPANY:
            siren = values["siren"]  # normalised by CompanyForm.clean_siren
            existing = list(services.customers_with_siren(siren)[:5])
            if existing and not confirmed:
                resubmitted = request.POST.copy()
                resubmitted["confirm_duplicate"] = "on"
                resubmitted["siren"] = siren
                form.data = resubmitted
                return render(
                    request,
                    "kyc/customers/create.html",
                    {
                        "kind": kind,
                        "company_form": company_form,
                        "individual_form": individual_form,
                        "existing": existing,
                    },
                )
        try:
            customer = services.customer_create(kind=kind, actor=request.user, **values)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Customer file created."))
            return redirect("kyc:customer-detail", pk=customer.pk)
    return render(
        request,
        "kyc/customers/create.html",
        {"kind": kind, "company_form": company_form, "individual_form": individual_form},
    )


@require_GET
def siren_check(request: HttpRequest) -> HttpResponse:
    """As the analyst types a SIREN: is it valid, how is it written, does a file exist already?"""
    roles.require_case_worker(request.user)
    raw = request.GET.get("siren", "")[:30]
    digits = normalise_digits(raw)
    context = {"raw": raw, "valid": False, "formatted": "", "existing": []}
    if digits:
        try:
            normalized = services.normalize_siren(digits)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
        else:
            context["valid"] = True
            context["formatted"] = stdnum_siren.format(normalized)
            context["existing"] = list(
                customers_visible_to(request.user).filter(siren=normalized)[:5]
            )
    return render(request, "kyc/customers/_siren_check.html", context)


@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_detail(request.user, pk)
    return render(request, "kyc/customers/detail.html", customer_file_context(request, customer))

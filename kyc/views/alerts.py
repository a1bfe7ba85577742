"""Manager alerts: per customer (persons, companies, dated alerts), the inbox across customers,
and acknowledge / dismiss. htmx swaps a fragment in place; without JS, plain GET forms and a
POST that redirects back."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from kyc import roles, services
from kyc.models import ManagerAlert
from kyc.roles import RequestUser
from kyc.selectors import alerts as selectors
from kyc.selectors.customers import customer_for_detail, paginate
from kyc.services.alerts import ACKNOWLEDGE, DISMISS, MAX_NOTE_LENGTH
from kyc.views.navigation import safe_next_url
from kyc.views.types import HtmxHttpRequest

Level = ManagerAlert.Level
INBOX_PAGE_SIZE = 50


# --------------------------------------------------------------------------------------- forms


class CustomerAlertFilterForm(forms.Form):
    """Filters of a customer's alerts, from the query string; bad values fall back to "all"."""

    level = forms.MultipleChoiceField(
        label=gettext_lazy("Level"),
        required=False,
        choices=[
            (Level.HIGH, Level.HIGH.label),
            (Level.MEDIUM, Level.MEDIUM.label),
            (Level.LOW, Level.LOW.label),
        ],
        widget=forms.CheckboxSelectMultiple,
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("Order"),
        required=False,
        choices=[
            ("newest", gettext_lazy("Newest first")),
            ("oldest", gettext_lazy("Oldest first")),
        ],
    )

    def values(self) -> tuple[list[str], bool]:
        self.is_valid()
        data = self.cleaned_data
        levels = [] if "level" in self.errors else list(data.get("level") or [])
        return levels, (data.get("sort") or "newest") != "oldest"


class InboxFilterForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("Last days"),
        required=False,
        min_value=1,
        max_value=selectors.MAX_INBOX_DAYS,
        widget=forms.NumberInput(attrs={"class": "short"}),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Review"),
        required=False,
        choices=[
            ("open", gettext_lazy("To review")),
            ("reviewed", gettext_lazy("Reviewed")),
            ("all", gettext_lazy("All")),
        ],
    )
    level = forms.ChoiceField(
        label=gettext_lazy("Level"),
        required=False,
        choices=[
            ("", gettext_lazy("High and medium")),
            (Level.HIGH, Level.HIGH.label),
            (Level.MEDIUM, Level.MEDIUM.label),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def filters(self) -> tuple[selectors.InboxFilters, int]:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return (
            selectors.InboxFilters(
                days=data.get("days") or selectors.DEFAULT_INBOX_DAYS,
                status=data.get("status") or "open",
                level=data.get("level") or "",
            ),
            data.get("page") or 1,
        )


class AlertReviewForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(ACKNOWLEDGE, gettext_lazy("Acknowledge")), (DISMISS, gettext_lazy("Dismiss"))]
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --------------------------------------------------------------------------------------- views


def _require_case_worker(user: RequestUser) -> None:
    if not roles.can_work_cases(user):
        raise PermissionDenied(_("Your account has no analyst role."))


@require_GET
def customer_alerts(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A customer's managers: each person, their companies, and each company's dated alerts."""
    customer = customer_for_detail(request.user, pk)
    form = CustomerAlertFilterForm(request.GET)
    levels, newest_first = form.values()
    context = {
        "customer": customer,
        "form": form,
        "levels": levels,
        "newest_first": newest_first,
        "officers": selectors.customer_officers(customer, levels=levels, newest_first=newest_first),
        "summary": selectors.customer_alert_summary(customer),
        "can_work": roles.can_work_cases(request.user),
        "next_url": request.get_full_path(),
    }
    template = "kyc/alerts/customer.html"
    if request.htmx and request.htmx.target == "alerts-timeline":
        template += "#alerts-timeline"
    return render(request, template, context)


@require_GET
def alerts_inbox(request: HtmxHttpRequest) -> HttpResponse:
    """High and medium alerts of the last N days across customers, newest first."""
    _require_case_worker(request.user)
    form = InboxFilterForm(request.GET)
    filters, page_number = form.filters()
    page = paginate(
        selectors.alerts_inbox(request.user, filters), page_number, size=INBOX_PAGE_SIZE
    )
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "querystring": params.urlencode(),
        "can_work": True,
        "next_url": request.get_full_path(),
    }
    template = "kyc/alerts/inbox.html"
    if request.htmx and request.htmx.target == "alerts-inbox-table":
        template += "#alerts-inbox-table"
    return render(request, template, context)


@require_POST
def alert_review(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Acknowledge or dismiss one alert. htmx: the alert's review fragment, re-rendered (with
    the error, if any) and an `alerts-changed` event; otherwise a message and a redirect."""
    _require_case_worker(request.user)
    alert = selectors.alert_for_review(request.user, pk)
    form = AlertReviewForm(request.POST)
    error = ""
    if not form.is_valid():
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    else:
        try:
            alert = services.alert_review(
                alert=alert,
                action=form.cleaned_data["action"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
            alert = selectors.alert_for_review(request.user, pk)
    next_url = safe_next_url(request, request.POST.get("next", ""), reverse("kyc:alerts-inbox"))
    if request.htmx:
        response = render(
            request,
            "kyc/alerts/_review.html",
            {
                "alert": alert,
                "review_error": error,
                "note": request.POST.get("note", "") if error else "",
                "can_work": True,
                "next_url": next_url,
            },
        )
        return response if error else trigger_client_event(response, "alerts-changed")
    if error:
        messages.error(request, f"{alert.name}: {error}")
    else:
        messages.success(
            request,
            _("Alert “%(name)s”: %(status)s.")
            % {"name": alert.name, "status": alert.get_review_status_display().lower()},
        )
    return HttpResponseRedirect(next_url)

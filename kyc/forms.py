"""Forms: parse and check user input; services re-check and write."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from kyc.dates import EARLIEST_DATE, LATEST_DATE
from kyc.identifiers import normalize_siren
from kyc.models import Customer, Decision, Document, FlagColor
from kyc.selectors.customers import DEFAULT_SORT, SORTS, QueueFilters
from kyc.services.decisions import MAX_REASON_LENGTH, ReasonCode


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: by field when it names one, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class BoundedDateField(forms.DateField):
    """A DateField that refuses, with a message saying the range, a date outside
    kyc.dates.EARLIEST_DATE..LATEST_DATE (why: see there); its date input carries the bounds."""

    def validate(self, value: dt.date | None) -> None:
        super().validate(value)
        if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValidationError(
                _("Enter a date between %(earliest)s and %(latest)s."),
                code="date_out_of_range",
                params={
                    "earliest": formats.date_format(EARLIEST_DATE),
                    "latest": formats.date_format(LATEST_DATE),
                },
            )

    def widget_attrs(self, widget: forms.Widget) -> dict[str, str]:
        attrs = super().widget_attrs(widget)
        if isinstance(widget, forms.DateInput):
            attrs.update(min=EARLIEST_DATE.isoformat(), max=LATEST_DATE.isoformat())
        return attrs


class QueueFilterForm(forms.Form):
    """The case queue's filters, all from the query string. Unknown values fall back to "any"
    instead of failing: a stale bookmark must still open."""

    q = forms.CharField(required=False, max_length=100, label=_("Search"))
    status = forms.ChoiceField(
        required=False, choices=[("", _("Any status")), *Customer.Status.choices]
    )
    risk = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("Any risk")),
            ("red", FlagColor.RED.label),
            ("orange", FlagColor.ORANGE.label),
            ("green", FlagColor.GREEN.label),
            ("none", FlagColor.NONE.label),
        ],
    )
    assignee = forms.ChoiceField(
        required=False,
        choices=[("", _("Anyone")), ("me", _("Me")), ("unassigned", _("Unassigned"))],
    )
    kind = forms.ChoiceField(
        required=False, choices=[("", _("Individuals and companies")), *Customer.Kind.choices]
    )
    failed = forms.BooleanField(required=False, label=_("Has failed jobs"))
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORTS])
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def filters(self) -> tuple[QueueFilters, int]:
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return (
            QueueFilters(
                status=data.get("status") or "",
                risk=data.get("risk") or "",
                assignee=data.get("assignee") or "",
                kind=data.get("kind") or "",
                failed=bool(data.get("failed")),
                q=(data.get("q") or "").strip(),
                sort=data.get("sort") or DEFAULT_SORT,
            ),
            data.get("page") or 1,
        )


class CompanyForm(forms.Form):
    legal_name = forms.CharField(label=_("Legal name"), max_length=255)
    siren = forms.CharField(
        label=_("SIREN"),
        max_length=20,
        help_text=_("Nine digits; spaces are fine."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    siret = forms.CharField(label=_("SIRET (optional)"), max_length=30, required=False)
    confirm_duplicate = forms.BooleanField(
        required=False, widget=forms.HiddenInput, label=_("Create another file for this SIREN")
    )

    def clean_siren(self) -> str:
        # Nine ASCII digits from here on: the duplicate lookup and the service see the number the
        # database holds, whatever digits and separators were typed.
        return normalize_siren(self.cleaned_data["siren"])


class IndividualForm(forms.Form):
    first_name = forms.CharField(label=_("First names"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    birth_date = BoundedDateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    nationality = forms.CharField(
        label=_("Nationality"),
        max_length=3,
        required=False,
        help_text=_("ISO 3166 alpha-3, e.g. FRA"),
    )


class DocumentRowForm(forms.Form):
    """The metadata of one uploaded file (several files are sent at once)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Document.Kind.choices)
    period = forms.ChoiceField(label=_("Period"), choices=Document.Period.choices, required=False)
    document_date = BoundedDateField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_document_date(self):
        value = self.cleaned_data.get("document_date")
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("The document date cannot be in the future."))
        return value


class DecisionProposeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=Decision.Outcome.choices, widget=forms.RadioSelect
    )
    reason_code = forms.ChoiceField(
        label=_("Reason code"),
        choices=[("", _("Choose a reason…")), *ReasonCode.choices],
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the reviewer needs to know to confirm it."),
    )


class DecisionReviewForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

"""Django admin for every model of the dashboard.

The admin is a back-office tool for administrators, not the analysts' interface. What it must
never do:
- write a field that a service owns: a customer's status (only a confirmed four-eyes decision
  changes it), risk level, assignee or erasure; a job's state; what vendors and our engine found
  (reports, officers, alerts, OCR results) and their review; OCR corrections and their delivery to
  Artemis; a document's stored-file facts and links. Those admins are view-only, and no kyc row is
  added or deleted here: each is created by its service, which also writes what follows from it
  (the analysis request, the jobs, the audit rows). What an administrator may still correct is a
  customer's identity details, checked by the same rules as at creation;
- offer to change or delete audit rows or received webhooks (they are evidence);
- render vendor data as HTML: every JSON payload and raw body is escaped inside a <pre>;
- link to a stored file: documents are private and only the permission-checked view serves them;
- put a whole big table into a <select>: no form here edits a foreign key, and the views show
  them as links.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kyc.identifiers import company_number
from kyc.models import (
    AnalysisRequest,
    AuditEvent,
    Customer,
    Decision,
    Document,
    ManagerAlert,
    OcrCorrection,
    OcrResult,
    Officer,
    OfficerRole,
    ProviderJob,
    Report,
    WebhookEvent,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# --------------------------------------------------------------------------------------- helpers


def _pre(text: str) -> str:
    # format_html escapes its arguments: vendor data is never marked safe.
    return format_html("<pre>{}</pre>", text)


def pretty_json(value: Any) -> str | None:
    """A JSON value indented and escaped in a <pre>; None (shown as empty) for SQL NULL."""
    if value is None:
        return None
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    except RecursionError:
        # A hostile payload can nest deeper than the indenting encoder can follow.
        return _pre(str(_("(too deeply nested to display)")))
    return _pre(text)


def pretty_body(body: bytes | memoryview | None) -> str:
    """Raw bytes as UTF-8 text (undecodable bytes replaced), indented when they are JSON."""
    text = bytes(body or b"").decode("utf-8", errors="replace")
    # Not JSON (or too deep to re-indent): the text is shown as received.
    with contextlib.suppress(ValueError, RecursionError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    return _pre(text)


def _column_label(model: type[models.Model], name: str) -> StrOrPromise:
    """The verbose name of one of the model's own columns (not a reverse relation)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model._meta.label}.{name} is a reverse relation, not a column")
    return field.verbose_name


def json_display(model: type[models.Model], name: str) -> Callable[..., str | None]:
    """A read-only admin column showing `model.name` as pretty JSON, titled like the field."""

    def show(model_admin: admin.ModelAdmin, obj: models.Model) -> str | None:
        return pretty_json(getattr(obj, name))

    show.__name__ = f"{name}_pretty"
    return admin.display(description=_column_label(model, name))(show)


def file_name_display(model: type[models.Model], name: str) -> Callable[..., str | None]:
    """A read-only column with a FileField's stored name as plain text: never a link."""

    def show(model_admin: admin.ModelAdmin, obj: models.Model) -> str | None:
        return getattr(obj, name).name or None

    show.__name__ = f"{name}_name"
    return admin.display(description=_column_label(model, name))(show)


class SafeLookupsChangeList(ChangeList):
    """A change list that answers a hostile filter link like any other invalid filter (the list
    again, without it: ?e=1) instead of a 500:
    - a NUL character in a filter value, which PostgreSQL refuses in any string;
    - a date-hierarchy year too large for C (OverflowError) or past 9999 (Django catches the
      ValueError of building the first day, not of the year after)."""

    def get_filters(self, request: HttpRequest):
        for values in self.get_filters_params().values():
            if any("\x00" in str(value) for value in values):
                raise IncorrectLookupParameters("a NUL character in a filter value")
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class LeanChangeList(SafeLookupsChangeList):
    """Leaves the admin's `list_defer` columns (large payloads) out of the changelist query."""

    def get_queryset(
        self, request: HttpRequest, exclude_parameters: Any = None
    ) -> models.QuerySet[Any]:
        queryset = super().get_queryset(request, exclude_parameters)
        model_admin = self.model_admin
        assert isinstance(model_admin, KycModelAdmin)  # the only admin whose changelist this is
        return queryset.defer(*model_admin.list_defer)


def _audit_value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def _customer_of(obj: models.Model):
    from kyc.models import Customer

    if isinstance(obj, Customer):
        return obj
    for path in ("customer", "request", "document", "ocr_result"):
        related = getattr(obj, path, None)
        if related is not None:
            return _customer_of(related)
    return None


# Longer searches are refused: SQLite refuses a LIKE pattern over 50,000 bytes (a 500), and on
# PostgreSQL a megabyte-long ILIKE over every search field costs far more than any real search.
MAX_SEARCH_LENGTH = 200
_safe_changelists: dict[type, type] = {}


class SafeInputAdminMixin(admin.ModelAdmin):
    """For every model admin (ours and the ones Django and django-tasks-db register): a search
    term over MAX_SEARCH_LENGTH characters (or holding a NUL, which PostgreSQL refuses) finds
    nothing and says why, in the change list and in the autocomplete widgets, which search the
    same way; hostile filter links are invalid filters (SafeLookupsChangeList)."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        changelist = super().get_changelist(request, **kwargs)
        if issubclass(changelist, SafeLookupsChangeList):
            return changelist
        return _safe_changelists.setdefault(
            changelist, type(f"Safe{changelist.__name__}", (SafeLookupsChangeList, changelist), {})
        )

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str):
        if len(search_term) > MAX_SEARCH_LENGTH or "\x00" in search_term:
            if not request.path.endswith("/autocomplete/"):
                messages.warning(
                    request,
                    _("Searches are limited to %(max)d characters: nothing was searched.")
                    % {"max": MAX_SEARCH_LENGTH},
                )
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


class KycModelAdmin(SafeInputAdminMixin, admin.ModelAdmin):
    """Every change made through the admin lands in the audit trail too, in the same transaction
    (the admin's change views are atomic), with the changed fields' old and new values."""

    # Columns the changelist never shows and that can be large (vendor payloads).
    list_defer: tuple[str, ...] = ()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LeanChangeList

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from kyc.services import audit_record

        fields = [name for name in form.changed_data if name in {f.name for f in obj._meta.fields}]
        before = {}
        if change and fields:
            stored = type(obj).objects.filter(pk=obj.pk).values(*fields).first() or {}
            before = {name: _audit_value(stored.get(name)) for name in fields}
        super().save_model(request, obj, form, change)
        if change and not fields:
            return
        audit_record(
            actor=request.user,
            action="admin.change" if change else "admin.add",
            obj=obj,
            customer=_customer_of(obj),
            before=before or None,
            after={name: _audit_value(getattr(obj, name)) for name in fields},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        from kyc.services import audit_record

        audit_record(
            actor=request.user,
            action="admin.delete",
            obj=obj,
            customer=_customer_of(obj),
            before={"repr": str(obj)},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyModelAdmin(KycModelAdmin):
    """Viewable, never added, changed or deleted: the rows are evidence."""

    actions = None  # no "delete selected", no bulk action at all

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        # Everything shown is read-only (not get_fields(): it builds a form from this list).
        if self.fieldsets:
            return flatten_fieldsets(self.fieldsets)
        return self.fields or [field.name for field in self.model._meta.fields]


class CompanyNumberSearchMixin(admin.ModelAdmin):
    """A search for a SIREN or SIRET, however it is typed (spaces, dots, full-width or other
    non-ASCII digits), looks that number up in `company_number_fields` instead of splitting it
    into words: the admin's own search would AND "732", "829" and "320" as three substrings, and
    would find nothing for digits the database does not hold as typed."""

    company_number_fields: dict[str, tuple[str, ...]] = {}

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str):
        number = company_number(search_term)
        if number is not None and number[0] in self.company_number_fields:
            kind, digits = number
            condition = Q()
            for path in self.company_number_fields[kind]:
                condition |= Q(**{path: digits})
            return queryset.filter(condition), False
        return super().get_search_results(request, queryset, search_term)


# -------------------------------------------------------------------------------------- customers


class CustomerAdminForm(forms.ModelForm):
    """The identity details an administrator may correct, checked and normalised by the same
    rules as at creation (kyc.services.customer_details_clean): the SIRET against the file's
    SIREN, whatever digits it is typed in; a three-letter nationality; a birth date in the past."""

    IDENTITY_FIELDS = (
        "legal_name",
        "siret",
        "first_name",
        "last_name",
        "birth_date",
        "nationality",
    )

    class Meta:
        model = Customer
        # The Artemis id too: the Artemis link asks to "enter the company's Artemis id in the
        # administration".
        fields = (
            "legal_name",
            "siret",
            "first_name",
            "last_name",
            "birth_date",
            "nationality",
            "artemis_customer_id",
        )

    def clean(self) -> dict[str, Any]:
        from kyc.services import customer_details_clean

        super().clean()
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        details: dict[str, Any] = {name: cleaned.get(name) for name in self.IDENTITY_FIELDS}
        try:
            normalised = customer_details_clean(
                kind=self.instance.kind, siren=self.instance.siren, **details
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
            return cleaned
        cleaned.update({key: normalised[key] for key in details})
        return cleaned


@admin.register(Customer)
class CustomerAdmin(CompanyNumberSearchMixin, KycModelAdmin):
    form = CustomerAdminForm
    list_display = (
        "name",
        "kind",
        "siren",
        "status",
        "risk_level",
        "assignee",
        "artemis_customer_id",
        "last_activity_at",
    )
    list_select_related = ("assignee",)
    list_filter = (
        "kind",
        "status",
        "risk_level",
        ("assignee", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = (
        "name",
        "siren",
        "siret",
        "last_name",
        "first_name",
        "artemis_customer_id",
    )
    company_number_fields = {"siren": ("siren",), "siret": ("siret",)}
    date_hierarchy = "created_at"
    # Each written by its service only: the status by a confirmed four-eyes decision, the risk by
    # the reports, the assignee by the queue's assignment (audited as such), erased_at by the
    # erasure (which deletes the files and pseudonymises the data; setting it here would only hide
    # the file); the kind and SIREN name the analysis request (October's code is the SIREN).
    readonly_fields = (
        "kind",
        "name",
        "siren",
        "status",
        "risk_level",
        "assignee",
        "created_by",
        "created_at",
        "last_activity_at",
        "erased_at",
    )
    fieldsets = (
        (None, {"fields": ("kind", "name")}),
        (_("Company"), {"fields": ("legal_name", "siren", "siret")}),
        (_("Individual"), {"fields": ("last_name", "first_name", "birth_date", "nationality")}),
        (_("Case"), {"fields": ("status", "risk_level", "assignee", "artemis_customer_id")}),
        (_("Record"), {"fields": ("created_by", "created_at", "last_activity_at", "erased_at")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A customer file is opened by the dashboard's service, with its analysis request.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An erased customer's details are pseudonyms: nothing is left to correct.
        if obj is not None and obj.erased_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting rows would leave the stored files behind and skip the audit trail: a customer
        # is erased from its file's "Erase this customer" page instead.
        return False


@admin.register(AnalysisRequest)
class AnalysisRequestAdmin(CompanyNumberSearchMixin, ReadOnlyModelAdmin):
    """View-only: opened with its customer, advanced by the jobs."""

    list_display = (
        "code_id",
        "code_type",
        "customer",
        "status",
        "stage",
        "october_request_id",
        "created_at",
    )
    list_select_related = ("customer",)
    list_filter = ("status", "code_type")
    search_fields = ("code_id", "october_request_id", "customer__name", "customer__siren")
    company_number_fields = {
        "siren": ("customer__siren", "code_id"),
        "siret": ("customer__siret",),
    }
    date_hierarchy = "created_at"
    fields = (
        "customer",
        "code_type",
        "code_id",
        "status",
        "stage",
        "october_request_id",
        "created_by",
        "created_at",
        "updated_at",
    )


@admin.register(Document)
class DocumentAdmin(ReadOnlyModelAdmin):
    """View-only: the upload service stores the file and computes its facts (size, hash, type,
    duplicate), the jobs set its status and vendor ids; changing any of them here would make the
    row lie about the file the fraud engines read."""

    list_display = (
        "original_name",
        "kind",
        "customer",
        "request",
        "status",
        "content_type",
        "size",
        "created_at",
    )
    list_select_related = ("customer", "request")
    list_filter = ("kind", "status", "content_type")
    search_fields = ("original_name", "^sha256", "customer__name")
    date_hierarchy = "created_at"
    file_name = file_name_display(Document, "file")
    fieldsets = (
        (None, {"fields": ("customer", "request", "kind", "period", "document_date", "status")}),
        (
            _("Stored file"),
            {"fields": ("file_name", "original_name", "size", "sha256", "content_type")},
        ),
        (
            _("Links"),
            {"fields": ("duplicate_of", "october_media_id", "artemis_document_id")},
        ),
        (_("Record"), {"fields": ("uploaded_by", "created_at", "updated_at")}),
    )


# ------------------------------------------------------------------------------ jobs and reports


@admin.register(ProviderJob)
class ProviderJobAdmin(ReadOnlyModelAdmin):
    """View-only: a job's state belongs to the engine (claim, lease, polls, deadline); a failed
    job is retried from the customer file, which audits the retry."""

    list_display = (
        "__str__",
        "provider",
        "operation",
        "status",
        "request",
        "document",
        "attempts",
        "next_poll_at",
        "deadline_at",
        "created_at",
    )
    list_select_related = ("request", "document")
    list_filter = ("provider", "operation", "status")
    search_fields = ("external_id",)
    date_hierarchy = "created_at"


@admin.register(Report)
class ReportAdmin(ReadOnlyModelAdmin):
    """View-only: what a vendor or our engine found. A flag changed or a report added or deleted
    here would change the file's risk and what a decision is taken on."""

    list_display = (
        "__str__",
        "source",
        "flag_color",
        "score",
        "request",
        "request__customer",
        "document",
        "created_at",
    )
    list_select_related = ("request__customer", "document")
    list_filter = ("source", "flag_color")
    search_fields = ("external_id", "request__code_id", "request__customer__name")
    date_hierarchy = "created_at"
    list_defer = ("raw", "reasons", "summary")
    reasons_pretty = json_display(Report, "reasons")
    summary_pretty = json_display(Report, "summary")
    raw_pretty = json_display(Report, "raw")
    attachment_name = file_name_display(Report, "attachment")
    fields = (
        "request",
        "document",
        "job",
        "source",
        "external_id",
        "flag_color",
        "flag_value",
        "score",
        "reasons_pretty",
        "summary_pretty",
        "raw_pretty",
        "attachment_name",
        "created_at",
    )


# ----------------------------------------------------------------------------- Manager X-Ray


@admin.register(Officer)
class OfficerAdmin(ReadOnlyModelAdmin):
    """View-only, as are roles and alerts: Manager X-Ray's findings. An alert's review is the
    analysts' (audited, and required before an approval), never the admin's."""

    list_display = ("__str__", "birth_date", "confidence", "request", "request__customer")
    list_select_related = ("request__customer",)
    search_fields = ("last_name", "first_name", "request__customer__name")


@admin.register(OfficerRole)
class OfficerRoleAdmin(CompanyNumberSearchMixin, ReadOnlyModelAdmin):
    list_display = ("company_name", "siren", "officer", "start_date", "end_date")
    list_select_related = ("officer",)
    search_fields = ("company_name", "siren", "officer__last_name")
    company_number_fields = {"siren": ("siren",)}


@admin.register(ManagerAlert)
class ManagerAlertAdmin(CompanyNumberSearchMixin, ReadOnlyModelAdmin):
    list_display = ("name", "level", "review_status", "date", "customer", "role", "reviewed_by")
    list_select_related = ("customer", "role", "reviewed_by")
    list_filter = ("level", "review_status", "date")
    search_fields = ("name", "customer__name", "role__company_name", "role__siren")
    company_number_fields = {"siren": ("role__siren", "customer__siren")}
    date_hierarchy = "date"


# ------------------------------------------------------------------------------------------ OCR


@admin.register(OcrResult)
class OcrResultAdmin(ReadOnlyModelAdmin):
    """View-only: fields as read. Analysts correct them from the document's OCR page, which keeps
    the correction and delivers it to Artemis."""

    list_display = ("__str__", "source", "document", "document__customer", "created_at")
    list_select_related = ("document__customer",)
    list_filter = ("source",)
    search_fields = ("document__original_name", "document__customer__name")
    date_hierarchy = "created_at"
    list_defer = ("fields", "confidence")
    fields_pretty = json_display(OcrResult, "fields")
    confidence_pretty = json_display(OcrResult, "confidence")
    fields = (
        "document",
        "report",
        "source",
        "fields_pretty",
        "confidence_pretty",
        "created_at",
        "updated_at",
    )


@admin.register(OcrCorrection)
class OcrCorrectionAdmin(ReadOnlyModelAdmin):
    """View-only: a correction is an analyst's, and its delivery state is the outbox's (a failed
    delivery is retried from the OCR page)."""

    list_display = (
        "id",
        "ocr_result",
        "author",
        "created_at",
        "sync_status",
        "sync_attempts",
        "synced_at",
    )
    list_select_related = ("ocr_result", "author")
    list_filter = ("sync_status",)
    search_fields = ("reason", "author__username", "sync_error")
    date_hierarchy = "created_at"
    changes_pretty = json_display(OcrCorrection, "changes")
    fields = (
        "ocr_result",
        "changes_pretty",
        "reason",
        "author",
        "created_at",
        "sync_status",
        "sync_attempts",
        "sync_error",
        "synced_at",
    )


# ------------------------------------------------------------------------------------ decisions


@admin.register(Decision)
class DecisionAdmin(ReadOnlyModelAdmin):
    """Read-only: a decision changes only through the four-eyes flow of the customer file."""

    list_display = (
        "__str__",
        "customer",
        "outcome",
        "status",
        "reason_code",
        "proposed_by",
        "proposed_at",
        "reviewed_by",
        "reviewed_at",
    )
    list_select_related = ("customer", "proposed_by", "reviewed_by")
    list_filter = ("outcome", "status")
    search_fields = ("customer__name", "reason_code")
    date_hierarchy = "proposed_at"


# ------------------------------------------------------------------------- append-only records


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "customer",
        "ip_address",
    )
    list_select_related = ("actor", "customer")
    list_filter = ("action", "object_type", "created_at")
    search_fields = ("actor__username", "object_id")
    date_hierarchy = "created_at"
    list_defer = ("before", "after")
    show_full_result_count = False  # the table only grows; one COUNT per page is enough
    before_pretty = json_display(AuditEvent, "before")
    after_pretty = json_display(AuditEvent, "after")
    fields = (
        "created_at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "customer",
        "ip_address",
        "before_pretty",
        "after_pretty",
    )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "__str__",
        "provider",
        "event_type",
        "state",
        "signature_verdict",
        "received_at",
        "processed_at",
        "remote_addr",
    )
    list_filter = (
        "provider",
        "state",
        "signature_verdict",
        "event_type",
        ("payload_purged_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("dedupe_key", "event_type")
    date_hierarchy = "received_at"
    list_defer = ("headers", "body")
    show_full_result_count = False
    fields = (
        "provider",
        "event_type",
        "signature_verdict",
        "state",
        "error",
        "dedupe_key",
        "duplicate_of",
        "remote_addr",
        "received_at",
        "processed_at",
        "requeued",
        "requeued_at",
        "payload_purged_at",
        "body_size",
        "headers_pretty",
        "body_pretty",
    )

    @admin.display(description=WebhookEvent._meta.get_field("headers").verbose_name)
    def headers_pretty(self, obj: WebhookEvent) -> StrOrPromise | None:
        if obj.payload_purged_at is not None:
            return _("(deleted at the end of its retention period)")
        return pretty_json(obj.headers)

    @admin.display(description=WebhookEvent._meta.get_field("body").verbose_name)
    def body_pretty(self, obj: WebhookEvent) -> StrOrPromise:
        if obj.payload_purged_at is not None:
            return _("(deleted at the end of its retention period)")
        if not obj.body:
            return _("(empty)")
        return pretty_body(obj.body)


# ------------------------------------------------------------------------------ task results

# django_tasks_db registers its own admin; import it first so that the check below does not
# depend on the order of INSTALLED_APPS, and register a read-only fallback only if it did not.
if apps.is_installed("django_tasks_db"):
    from django_tasks_db.models import DBTaskResult

    with contextlib.suppress(ImportError):
        import_module("django_tasks_db.admin")

    if not admin.site.is_registered(DBTaskResult):

        @admin.register(DBTaskResult)
        class DBTaskResultAdmin(ReadOnlyModelAdmin):
            list_display = ("id", "task_name", "status", "enqueued_at", "finished_at")
            list_filter = ("status", "queue_name")
            search_fields = ("task_name",)


# ------------------------------------------------------------------------ every admin, bounded

# The admins registered by other apps (auth's users and groups, django-tasks-db's results) get the
# same search bound: registered again as a subclass of their own class with the mixin in front.
for _model, _model_admin in list(admin.site._registry.items()):
    if not isinstance(_model_admin, SafeInputAdminMixin):
        admin.site.unregister(_model)
        admin.site.register(
            _model,
            type(
                f"Bounded{type(_model_admin).__name__}",
                (SafeInputAdminMixin, type(_model_admin)),
                {},
            ),
        )

"""Domain model of the KYC dashboard (ARCHITECTURE.md section 4).

Status lives on our own rows, never only in a task result. Constraints keep data sane at the
database level so that a bug in a service cannot write an impossible row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Concat, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kyc.names import recorded_file_name, safe_file_name

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class TouchingQuerySet(models.QuerySet):
    """`update()` sets `updated_at` too, unless the caller sets it.

    `auto_now` applies to save() only. The live-status ETag (selectors.customer_live_state)
    reads the newest `updated_at` of a customer's documents and jobs: an `.update()` that forgot
    it left the ETag unchanged and the analyst's page stale (a 304 for a fragment that changed).
    Here no update can forget it; bulk_update() goes through update() as well.
    """

    def update(self, **kwargs):
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)


class FlagColor(models.TextChoices):
    """Risk colours, ordered from best to worst (see RISK_ORDER)."""

    NONE = "", _("Not analysed")
    GREEN = "green", _("Green")
    ORANGE = "orange", _("Orange")
    RED = "red", _("Red")


RISK_ORDER: dict[str, int] = {
    FlagColor.NONE: 0,
    FlagColor.GREEN: 1,
    FlagColor.ORANGE: 2,
    FlagColor.RED: 3,
}
# The choices a model's Meta.constraints check live at module level: a nested Meta cannot see
# the names of its model's class body. Each model keeps its name for them (Customer.Status).


class CustomerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    COMPANY = "company", _("Company")


class CustomerStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_REVIEW = "in_review", _("In review")
    INFO_REQUESTED = "info_requested", _("Information requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Customer(models.Model):
    Kind = CustomerKind
    Status = CustomerStatus

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Company
    legal_name = models.CharField(_("legal name"), max_length=255, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, db_index=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    # Individual
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    nationality = models.CharField(
        _("nationality"), max_length=3, blank=True, help_text=_("ISO 3166 alpha-3 code")
    )
    # One sortable, indexable display name whatever the kind, computed by the database.
    name = models.GeneratedField(
        expression=models.Case(
            models.When(kind="company", then="legal_name"),
            models.When(first_name="", then="last_name"),
            default=Concat("last_name", models.Value(" "), "first_name"),
            output_field=models.CharField(max_length=310),
        ),
        output_field=models.CharField(max_length=310),
        db_persist=True,
        verbose_name=_("name"),
    )

    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    risk_level = models.CharField(
        _("risk level"),
        max_length=8,
        choices=FlagColor.choices,
        default=FlagColor.NONE,
        blank=True,
        help_text=_("Worst flag across the customer's reports."),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_customers",
        verbose_name=_("assignee"),
    )
    artemis_customer_id = models.CharField(_("Artemis customer id"), max_length=64, blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_activity_at = models.DateTimeField(_("last activity"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(siren="") | Q(siren__regex=r"^[0-9]{9}$"),
                name="customer_siren_nine_digits",
                violation_error_message=_("A SIREN is exactly nine digits."),
            ),
            models.CheckConstraint(
                condition=Q(siret="") | Q(siret__regex=r"^[0-9]{14}$"),
                name="customer_siret_fourteen_digits",
                violation_error_message=_("A SIRET is exactly fourteen digits."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=CustomerKind.COMPANY) & ~Q(legal_name="") & ~Q(siren="")
                    | Q(kind=CustomerKind.INDIVIDUAL) & ~Q(last_name="") & Q(siren="") & Q(siret="")
                ),
                name="customer_kind_fields",
                violation_error_message=_(
                    "A company needs a legal name and a SIREN; an individual needs a last name."
                ),
            ),
            models.CheckConstraint(
                condition=Q(kind__in=CustomerKind.values), name="customer_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CustomerStatus.values), name="customer_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(risk_level__in=FlagColor.values),
                name="customer_risk_level_valid",
            ),
        ]
        indexes = [
            # The case queue's default order, carrying what its search and visibility test read:
            # a search by name walks this index alone instead of every customer row (4x faster on
            # SQLite at 100,000 customers), and deep pages count their offset in it.
            models.Index(
                fields=["-last_activity_at", "-id", "name", "erased_at"], name="customer_activity"
            ),
            models.Index(fields=["status", "-last_activity_at"], name="customer_status_activity"),
            models.Index(fields=["risk_level", "-last_activity_at"], name="customer_risk_activity"),
            models.Index(
                fields=["assignee", "-last_activity_at"], name="customer_assignee_activity"
            ),
            models.Index(fields=["kind", "-last_activity_at"], name="customer_kind_activity"),
            models.Index(fields=["name"], name="customer_name"),
            models.Index(fields=["birth_date"], name="customer_birth_date"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.COMPANY:
            return f"{self.legal_name} ({self.siren})"
        return f"{self.last_name.upper()} {self.first_name}".strip()

    @property
    def display_name(self) -> str:
        if self.kind == self.Kind.COMPANY:
            return self.legal_name
        return f"{self.last_name.upper()} {self.first_name}".strip()

    @property
    def siren_formatted(self) -> str:
        from stdnum.fr import siren

        return siren.format(self.siren) if self.siren else ""


class RequestCodeType(models.TextChoices):
    SIREN = "siren", _("SIREN")
    INTERNAL = "internal", _("Internal reference")


class AnalysisRequest(models.Model):
    """One KYC/KYB file for a customer: October's "request"."""

    CodeType = RequestCodeType

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PENDING_ANALYSIS = "pending_analysis", _("Pending analysis")
        ANALYSED = "analysed", _("Analysed")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="requests", verbose_name=_("customer")
    )
    code_type = models.CharField(_("code type"), max_length=16, choices=CodeType.choices)
    code_id = models.CharField(_("code"), max_length=64)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.OPEN
    )
    stage = models.CharField(_("stage"), max_length=16, blank=True)
    october_request_id = models.CharField(
        _("October request id"), max_length=64, null=True, blank=True, unique=True
    )
    # Which job is creating the vendor request, and until when (its lease): the other jobs of
    # the file wait for that id instead of each opening a vendor request of its own.
    vendor_request_claimed_by = models.PositiveBigIntegerField(
        _("vendor request being created by job"), null=True, blank=True, editable=False
    )
    vendor_request_claimed_until = models.DateTimeField(
        _("vendor request claim expires"), null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("analysis request")
        verbose_name_plural = _("analysis requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code_type__in=RequestCodeType.values) & ~Q(code_id=""),
                name="request_code_valid",
            ),
            models.CheckConstraint(
                condition=~Q(code_type=RequestCodeType.SIREN) | Q(code_id__regex=r"^[0-9]{9}$"),
                name="request_siren_code_nine_digits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code_type}:{self.code_id} ({self.get_status_display()})"

    @property
    def october_code(self) -> dict[str, str]:
        return {"type": self.code_type, "id": self.code_id}


def document_upload_to(instance: Document, filename: str) -> str:
    # The stored name never reuses the uploader's file name: no traversal, no collisions.
    return f"documents/{instance.customer_id}/{instance.sha256[:2]}/{instance.sha256}"


class DocumentKind(models.TextChoices):
    ID_CARD = "id_card", _("Identity card")
    PASSPORT = "passport", _("Passport")
    RESIDENCE_PERMIT = "residence_permit", _("Residence permit")
    BANK_STATEMENT = "bank_statement", _("Bank statement")
    FINANCIAL_STATEMENT = "financial_statement", _("Financial statement")
    COMPANY_REGISTRATION = "company_registration", _("Company registration (Kbis)")
    PROOF_OF_ADDRESS = "proof_of_address", _("Proof of address")
    OTHER = "other", _("Other")


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ONLINE = "online", _("Online")
    ANALYSED = "analysed", _("Analysed")
    PURGED = "purged", _("Purged")


class Document(models.Model):
    """An uploaded file, stored unaltered (October calls it a "medium")."""

    Kind = DocumentKind

    IDENTITY_KINDS = frozenset({Kind.ID_CARD, Kind.PASSPORT, Kind.RESIDENCE_PERMIT})

    class Period(models.TextChoices):
        NONE = "", _("None")
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")
        SEMESTER = "semester", _("Semester")
        YEAR = "year", _("Year")

    Status = DocumentStatus

    request = models.ForeignKey(
        AnalysisRequest,
        on_delete=models.CASCADE,
        related_name="documents",
        verbose_name=_("analysis request"),
    )
    # Denormalised from request.customer so access checks and duplicate detection need no join.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="documents", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    period = models.CharField(
        _("period"), max_length=16, choices=Period.choices, blank=True, default=Period.NONE
    )
    document_date = models.DateField(_("document date"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=255, blank=True)
    original_name = models.CharField(_("original file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("detected type"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ONLINE
    )
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("duplicate of"),
    )
    october_media_id = models.CharField(_("October media id"), max_length=64, blank=True)
    artemis_document_id = models.CharField(_("Artemis document id"), max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TouchingQuerySet.as_manager()
    # Set by kyc.selectors.customers.customer_documents (its jobs, by provider, newest first);
    # not a column.
    job_list: list[ProviderJob]

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"
            ),
            models.CheckConstraint(
                condition=Q(size__gt=0) | Q(status=DocumentStatus.PURGED), name="document_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=DocumentKind.values), name="document_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "sha256"], name="document_customer_sha"),
            models.Index(fields=["customer", "-created_at"], name="document_customer_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.download_name}"

    @property
    def download_name(self) -> str:
        """The name the file goes by wherever it leaves the server (download, archive, vendor
        upload, page): `original_name` made safe, with the extension of its sniffed type
        (kyc.names.safe_file_name). `original_name` stays what the uploader called it."""
        return safe_file_name(self.original_name, self.content_type)

    @property
    def uploaded_name(self) -> str:
        """`original_name` as a page shows it: what the uploader called the file, without
        invisible characters (kyc.names.recorded_file_name; rows stored before upload names
        were cleaned may hold some)."""
        return recorded_file_name(self.original_name)

    @property
    def is_identity(self) -> bool:
        return self.kind in self.IDENTITY_KINDS


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SUBMITTED = "submitted", _("Submitted")
    PROCESSING = "processing", _("Processing")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


# A job the engine still owns (at most one per document, provider and operation), one it is done
# with, and one that ended without a result (which Retry may start again).
JOB_ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.SUBMITTED, JobStatus.PROCESSING)
JOB_FINAL_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.EXPIRED)
JOB_UNSUCCESSFUL_STATUSES = (JobStatus.FAILED, JobStatus.EXPIRED)


class ProviderJob(models.Model):
    """One submission of a document (or of a whole request) to one provider."""

    Status = JobStatus

    ACTIVE_STATUSES = JOB_ACTIVE_STATUSES
    FINAL_STATUSES = JOB_FINAL_STATUSES
    UNSUCCESSFUL_STATUSES = JOB_UNSUCCESSFUL_STATUSES

    request = models.ForeignKey(
        AnalysisRequest, on_delete=models.CASCADE, related_name="jobs", verbose_name=_("request")
    )
    document = models.ForeignKey(
        Document,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("document"),
    )
    provider = models.CharField(_("provider"), max_length=32)
    operation = models.CharField(
        _("operation"),
        max_length=32,
        help_text=_("What the provider is asked for, e.g. doc_xray, manager_xray, risk, ocr."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    external_id = models.CharField(
        _("external id or retrieve token"), max_length=255, blank=True, db_index=True
    )
    attempts = models.PositiveIntegerField(
        _("attempts"), default=0, help_text=_("Calls made to the provider for this job.")
    )
    poll_count = models.PositiveIntegerField(_("polls"), default=0)
    error_count = models.PositiveIntegerField(
        _("consecutive errors"), default=0, help_text=_("Reset by every successful call.")
    )
    next_poll_at = models.DateTimeField(
        _("next poll"), null=True, blank=True, help_text=_("When the next submit or poll is due.")
    )
    lease_expires_at = models.DateTimeField(
        _("worker lease until"),
        null=True,
        blank=True,
        help_text=_("A worker is talking to the provider for this job until then."),
    )
    deadline_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # The same error as a translatable message (kyc.i18n.Deferred.to_json()), shown in the
    # reader's language; None when last_error is plain text (e.g. a vendor's own words).
    last_error_detail = models.JSONField(
        _("last error, translatable"), null=True, blank=True, default=None, editable=False
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TouchingQuerySet.as_manager()

    class Meta:
        verbose_name = _("provider job")
        verbose_name_plural = _("provider jobs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "provider", "operation"],
                condition=Q(status__in=list(JOB_ACTIVE_STATUSES)),
                name="job_one_active_per_document_provider",
                violation_error_message=_(
                    "This document already has an active job with this provider."
                ),
            ),
            models.UniqueConstraint(
                fields=["request", "provider", "operation"],
                condition=Q(document__isnull=True) & Q(status__in=list(JOB_ACTIVE_STATUSES)),
                name="job_one_active_per_request_provider",
            ),
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_poll_at"], name="job_status_next_poll"),
            models.Index(fields=["request", "status"], name="job_request_status"),
            models.Index(fields=["provider", "external_id"], name="job_provider_external"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.operation} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_retryable(self) -> bool:
        """Failed or expired: the Retry button may start it again (job_retry)."""
        return self.status in self.UNSUCCESSFUL_STATUSES


class Report(models.Model):
    """A normalised analysis result, plus the vendor's untouched payload."""

    class Source(models.TextChoices):
        DOC_XRAY = "doc_xray", _("October Doc X-Ray")
        MANAGER_XRAY = "manager_xray", _("October Manager X-Ray")
        FINOVOX_RISK = "finovox_risk", _("Finovox risk")
        MINDEE_PASSPORT = "mindee_passport", _("Mindee passport")
        MINDEE_INTERNATIONAL_ID = "mindee_international_id", _("Mindee international ID")
        LOCAL_FORENSICS = "local_forensics", _("Built-in forensics")
        LOCAL_MRZ = "local_mrz", _("Built-in MRZ reader")

    request = models.ForeignKey(
        AnalysisRequest, on_delete=models.CASCADE, related_name="reports", verbose_name=_("request")
    )
    document = models.ForeignKey(
        Document,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("document"),
    )
    job = models.ForeignKey(
        ProviderJob,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("job"),
    )
    source = models.CharField(_("source"), max_length=40, choices=Source.choices)
    external_id = models.CharField(_("vendor report id"), max_length=128, blank=True)
    flag_color = models.CharField(
        _("flag"), max_length=8, choices=FlagColor.choices, blank=True, default=FlagColor.NONE
    )
    flag_value = models.CharField(_("flag value"), max_length=64, blank=True)
    score = models.FloatField(
        _("score"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
    )
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    summary = models.JSONField(
        _("summary"), default=dict, blank=True, help_text=_("Source-specific normalised fields.")
    )
    raw = models.JSONField(_("raw payload"), default=dict, blank=True)
    attachment = models.FileField(
        _("attached report file"), upload_to="reports/%Y/%m/", max_length=255, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0.0) & Q(score__lte=1.0),
                name="report_score_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(flag_color__in=FlagColor.values),
                name="report_flag_color_valid",
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="report_unique_vendor_id",
            ),
        ]
        indexes = [
            models.Index(fields=["request", "source"], name="report_request_source"),
            models.Index(fields=["document", "source"], name="report_document_source"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk} ({self.flag_color or '-'})"


class Officer(models.Model):
    """A company manager found by Manager X-Ray."""

    request = models.ForeignKey(
        AnalysisRequest,
        on_delete=models.CASCADE,
        related_name="officers",
        verbose_name=_("request"),
    )
    report = models.ForeignKey(
        Report,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="officers",
        verbose_name=_("report"),
    )
    last_name = models.CharField(_("last name"), max_length=150)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    confidence = models.PositiveSmallIntegerField(
        _("match confidence (%)"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("officer")
        verbose_name_plural = _("officers")
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            # Two partial constraints instead of nulls_distinct=False, which SQLite lacks.
            models.UniqueConstraint(
                fields=["request", "last_name", "first_name", "birth_date"],
                condition=Q(birth_date__isnull=False),
                name="officer_unique_per_request",
            ),
            models.UniqueConstraint(
                fields=["request", "last_name", "first_name"],
                condition=Q(birth_date__isnull=True),
                name="officer_unique_per_request_no_birth_date",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__lte=100),
                name="officer_confidence_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}".strip()


class OfficerRole(models.Model):
    """A company in which an officer holds or held a position."""

    officer = models.ForeignKey(
        Officer, on_delete=models.CASCADE, related_name="roles", verbose_name=_("officer")
    )
    company_name = models.CharField(_("company name"), max_length=255)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, db_index=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        verbose_name = _("officer role")
        verbose_name_plural = _("officer roles")
        ordering = ["-start_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["officer", "company_name", "siren", "start_date"],
                condition=Q(start_date__isnull=False),
                name="officer_role_unique",
            ),
            models.UniqueConstraint(
                fields=["officer", "company_name", "siren"],
                condition=Q(start_date__isnull=True),
                name="officer_role_unique_no_start",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="officer_role_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.siren})"


class AlertLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ManagerAlert(models.Model):
    Level = AlertLevel

    class ReviewStatus(models.TextChoices):
        OPEN = "open", _("To review")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DISMISSED = "dismissed", _("Dismissed")

    role = models.ForeignKey(
        OfficerRole, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("company")
    )
    # Denormalised so the alerts inbox filters and sorts on one table.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="manager_alerts",
        verbose_name=_("customer"),
    )
    date = models.DateField(_("date"), null=True, blank=True)
    name = models.CharField(_("alert"), max_length=255)
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    review_status = models.CharField(
        _("review"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        verbose_name = _("manager alert")
        verbose_name_plural = _("manager alerts")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["role", "date", "name"],
                condition=Q(date__isnull=False),
                name="alert_unique",
            ),
            models.UniqueConstraint(
                fields=["role", "name"], condition=Q(date__isnull=True), name="alert_unique_no_date"
            ),
            models.CheckConstraint(
                condition=Q(level__in=AlertLevel.values), name="alert_level_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["level", "review_status", "-date"], name="alert_inbox"),
            models.Index(fields=["customer", "-date"], name="alert_customer_date"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.level}, {self.date})"


class OcrResult(models.Model):
    """Identity fields read from a document, in the Artemis OCR key set (vendor-apis.md 4.3)."""

    class Source(models.TextChoices):
        MINDEE_PASSPORT = "mindee_passport", _("Mindee passport")
        MINDEE_INTERNATIONAL_ID = "mindee_international_id", _("Mindee international ID")
        LOCAL_MRZ = "local_mrz", _("Built-in MRZ reader")

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="ocr_results", verbose_name=_("document")
    )
    report = models.ForeignKey(
        Report,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ocr_results",
        verbose_name=_("report"),
    )
    source = models.CharField(_("source"), max_length=40, choices=Source.choices)
    fields = models.JSONField(_("fields as read"), default=dict, blank=True)
    confidence = models.JSONField(_("confidence per field"), default=dict, blank=True)
    # The document number as read, upper-cased, computed by the database into a column of its
    # own so that the case queue's search by document number is an index lookup: an index on the
    # JSON path itself is not used by SQLite (Django passes the path as a query parameter).
    document_number = models.GeneratedField(
        expression=Upper(KeyTextTransform("document_number", "fields")),
        output_field=models.CharField(max_length=64),
        db_persist=True,
        verbose_name=_("document number"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("OCR result")
        verbose_name_plural = _("OCR results")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "source"], name="ocr_result_one_per_document_source"
            ),
        ]
        indexes = [models.Index(fields=["document_number"], name="ocr_document_number")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} on document #{self.document_id}"


class OcrCorrection(models.Model):
    """An analyst's correction of OCR fields, and its delivery state towards Artemis (outbox)."""

    class SyncStatus(models.TextChoices):
        NOT_CONFIGURED = "not_configured", _("Artemis not configured")
        PENDING = "pending", _("Pending")
        SYNCED = "synced", _("Synced")
        FAILED = "failed", _("Failed")

    ocr_result = models.ForeignKey(
        OcrResult,
        on_delete=models.CASCADE,
        related_name="corrections",
        verbose_name=_("OCR result"),
    )
    changes = models.JSONField(
        _("changes"), help_text=_('{"field": {"old": ..., "new": ...}} for each corrected field')
    )
    reason = models.TextField(_("reason"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sync_status = models.CharField(
        _("Artemis sync"), max_length=16, choices=SyncStatus.choices, default=SyncStatus.PENDING
    )
    sync_attempts = models.PositiveIntegerField(_("sync attempts"), default=0)
    sync_error = models.TextField(_("sync error"), blank=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("OCR correction")
        verbose_name_plural = _("OCR corrections")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="ocr_correction_reason_required"),
        ]
        indexes = [models.Index(fields=["sync_status"], name="ocr_correction_sync")]

    def __str__(self) -> str:
        return f"Correction #{self.pk} of {', '.join(self.changes or {})}"


class DecisionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    CONFIRMED = "confirmed", _("Confirmed")
    SENT_BACK = "sent_back", _("Sent back")
    VOID = "void", _("Void")


class Decision(models.Model):
    """An onboarding decision under the four-eyes rule."""

    class Outcome(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")
        REQUEST_INFO = "request_info", _("Request more information")

    Status = DecisionStatus

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("customer")
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason_code = models.CharField(_("reason code"), max_length=64)
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)
    void_reason = models.TextField(_("void reason"), blank=True)

    # Set for display by kyc.views.decision_panel (the reason code's label); not a column.
    reason_label: str

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            # Four eyes, enforced by the database too.
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=models.F("proposed_by")),
                name="decision_four_eyes",
                violation_error_message=_("The proposer cannot review their own decision."),
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status=DecisionStatus.PROPOSED),
                name="decision_one_open_proposal_per_customer",
                violation_error_message=_("This customer already has a decision awaiting review."),
            ),
            models.CheckConstraint(
                condition=~Q(reason_code="") & ~Q(reason=""), name="decision_reason_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.get_status_display()})"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")


def audit_action_choices() -> Sequence[tuple[str, StrOrPromise]]:
    """The field's choices, through a callable so that registering an action needs no migration
    (the migration names this function, not the list)."""
    return AuditEvent.Action.choices


class AuditEvent(models.Model):
    """Append-only record of who did what, to which object, when and from where."""

    class Action(models.TextChoices):
        """Every action the code writes: `audit_record` refuses any other, and the audit log's
        filter suggests these and their families (the part before the dot)."""

        CUSTOMER_CREATE = "customer.create", _("Customer created")
        CUSTOMER_ASSIGN = "customer.assign", _("Customer assigned")
        CUSTOMER_STATUS = "customer.status", _("Customer status changed")
        CUSTOMER_EXPORT = "customer.export", _("Customer data exported")
        CUSTOMER_ERASE = "customer.erase", _("Customer data erased")
        REQUEST_OPEN = "request.open", _("Analysis request opened")
        REQUEST_VENDOR_ID = "request.vendor_id", _("Vendor request id recorded")
        DOCUMENT_ADD = "document.add", _("Document added")
        DOCUMENT_VIEW = "document.view", _("Identity document viewed")
        DOCUMENT_DOWNLOAD = "document.download", _("Identity document downloaded")
        DOCUMENT_PURGE = "document.purge", _("Document purged")
        JOB_CREATE = "job.create", _("Job created")
        JOB_WAIT_WORKER = "job.wait_worker", _("Job waiting for a capable worker")
        JOB_SUBMIT = "job.submit", _("Job submitted")
        JOB_SUBMIT_ERROR = "job.submit_error", _("Job submission error")
        JOB_PROCESSING = "job.processing", _("Job processing")
        JOB_POLL_ERROR = "job.poll_error", _("Job poll error")
        JOB_EXPIRE = "job.expire", _("Job past its deadline")
        JOB_COMPLETED = "job.completed", _("Job completed")
        JOB_FAILED = "job.failed", _("Job failed")
        JOB_EXPIRED = "job.expired", _("Job expired")
        JOB_RETRY = "job.retry", _("Job retried")
        REPORT_DOWNLOAD = "report.download", _("Report downloaded")
        OCR_CORRECT = "ocr.correct", _("OCR corrected")
        OCR_SYNCED = "ocr.synced", _("OCR correction sent to Artemis")
        OCR_SYNC_ERROR = "ocr.sync_error", _("OCR correction not sent to Artemis")
        OCR_SYNC_RETRY = "ocr.sync_retry", _("OCR correction sent again")
        ARTEMIS_CUSTOMER_CREATE = "artemis.customer_create", _("Customer created in Artemis")
        ARTEMIS_DOCUMENT_CREATE = "artemis.document_create", _("Document created in Artemis")
        DECISION_PROPOSE = "decision.propose", _("Decision proposed")
        DECISION_CONFIRM = "decision.confirm", _("Decision confirmed")
        DECISION_SEND_BACK = "decision.send_back", _("Decision sent back")
        DECISION_VOID = "decision.void", _("Decision voided")
        ALERT_ACKNOWLEDGE = "alert.acknowledge", _("Alert acknowledged")
        ALERT_DISMISS = "alert.dismiss", _("Alert dismissed")
        WEBHOOK_FAIL = "webhook.fail", _("Webhook processing failed")
        WEBHOOK_PURGE = "webhook.purge", _("Webhook payloads purged")
        AUTH_LOGIN_FAILED = "auth.login_failed", _("Log-in failed")
        AUTH_LOCKED = "auth.locked", _("Log-in locked")
        ADMIN_ADD = "admin.add", _("Added in the admin")
        ADMIN_CHANGE = "admin.change", _("Changed in the admin")
        ADMIN_DELETE = "admin.delete", _("Deleted in the admin")
        AUDIT_EXPORT = "audit.export", _("Audit log exported")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
        help_text=_("Empty for the system (tasks, webhooks)."),
    )
    action = models.CharField(
        _("action"), max_length=64, db_index=True, choices=audit_action_choices
    )
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("customer"),
    )
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("source IP"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="audit_customer_time"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_time"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        # Guard, not logic: an existing audit row is never rewritten.
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class WebhookState(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    DUPLICATE = "duplicate", _("Duplicate")
    IGNORED = "ignored", _("Ignored")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class WebhookEvent(models.Model):
    """Every inbound webhook delivery, stored before anything else happens."""

    class Verdict(models.TextChoices):
        VALID = "valid", _("Valid signature")
        INVALID = "invalid", _("Invalid signature")
        MISSING = "missing", _("Missing signature")
        UNSIGNED = "unsigned", _("No signing scheme configured")

    State = WebhookState

    provider = models.CharField(_("provider"), max_length=32)
    headers = models.JSONField(_("headers"), default=dict)
    body = models.BinaryField(_("raw body"))
    body_size = models.PositiveIntegerField(
        _("body size"),
        null=True,
        blank=True,
        help_text=_(
            "Bytes received. A refused delivery keeps only a short prefix of its body, so this "
            "may be more than what is stored."
        ),
    )
    signature_verdict = models.CharField(_("signature"), max_length=16, choices=Verdict.choices)
    dedupe_key = models.CharField(
        _("dedupe key"),
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text=_("Empty on duplicates and rejected deliveries, which point to nothing new."),
    )
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("duplicate of"),
    )
    event_type = models.CharField(_("event"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.RECEIVED
    )
    error = models.TextField(_("error"), blank=True)
    remote_addr = models.GenericIPAddressField(_("source IP"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    requeued = models.PositiveSmallIntegerField(
        _("re-enqueued"),
        default=0,
        help_text=_("Times the sweeper handed this delivery to the task queue again."),
    )
    requeued_at = models.DateTimeField(_("last re-enqueued at"), null=True, blank=True)
    payload_purged_at = models.DateTimeField(
        _("payload purged at"),
        null=True,
        blank=True,
        help_text=_(
            "When the raw body and headers were deleted at the end of their retention; the row "
            "stays so that a replayed delivery is still recognised as a duplicate."
        ),
    )

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["provider", "state"], name="webhook_provider_state"),
            # The daily retention purge looks only at payloads not purged yet.
            models.Index(
                fields=["received_at"],
                name="webhook_payload_kept",
                condition=models.Q(payload_purged_at__isnull=True),
            ),
            # The sweeper looks only at deliveries still waiting for their task.
            models.Index(
                fields=["received_at"],
                name="webhook_waiting",
                condition=models.Q(state=WebhookState.RECEIVED),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '?'} #{self.pk} ({self.state})"


def stored_name(file: FieldFile) -> str:
    """The storage name of a file field's file (`Document.file`, `Report.attachment`).

    Raises FileNotFoundError when the field holds none (a purged document): callers check
    `if document.file` first where an empty field is expected.
    """
    if not file.name:
        raise FileNotFoundError(
            f"{file.instance._meta.label} #{file.instance.pk} has no stored file"
        )
    return file.name

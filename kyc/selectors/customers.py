"""The case queue and the customer file: reads with every relation the templates need."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from kyc.identifiers import company_number
from kyc.models import (
    AnalysisRequest,
    AuditEvent,
    Customer,
    Document,
    FlagColor,
    OcrResult,
    ProviderJob,
    Report,
)
from kyc.selectors.access import customers_visible_to

PAGE_SIZE = 50
# Customers one document number may lead to (the same passport read for several files).
MAX_DOCUMENT_MATCHES = 100

RISK_RANK = Case(
    When(risk_level=FlagColor.RED, then=Value(3)),
    When(risk_level=FlagColor.ORANGE, then=Value(2)),
    When(risk_level=FlagColor.GREEN, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)

# Sort keys offered to the analyst -> ORDER BY (always ending on a unique column, so pages are
# stable). Counts are not sortable: they would have to be computed for every row of the table.
SORTS: dict[str, tuple] = {
    "activity": ("-last_activity_at", "-id"),
    "-activity": ("last_activity_at", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "status": ("status", "-last_activity_at", "-id"),
    "-status": ("-status", "-last_activity_at", "-id"),
    "risk": ("-risk_rank", "-last_activity_at", "-id"),
    "-risk": ("risk_rank", "-last_activity_at", "-id"),
    "assignee": ("assignee__username", "-last_activity_at", "-id"),
    "-assignee": ("-assignee__username", "-last_activity_at", "-id"),
    "created": ("-created_at", "-id"),
    "-created": ("created_at", "id"),
}
DEFAULT_SORT = "activity"


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    risk: str = ""  # "", "none", "green", "orange", "red"
    assignee: str = ""  # "", "me", "unassigned"
    kind: str = ""
    failed: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT


def _job_count(statuses) -> Coalesce:
    counts = (
        ProviderJob.objects.filter(request__customer=OuterRef("pk"), status__in=statuses)
        .order_by()
        .values("request__customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def _failed_jobs():
    return ProviderJob.objects.filter(
        request__customer=OuterRef("pk"), status=ProviderJob.Status.FAILED
    )


def _search(queryset: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    text = text.strip()
    number = company_number(text)
    if number is not None:
        kind, digits = number
        return queryset.filter(**{kind: digits})
    # A document number as read by OCR (exact, any case), or part of the name. The document
    # numbers are looked up first, through their index, so that the name test stays a plain OR of
    # two indexable conditions (PostgreSQL then combines its trigram index on the name with the
    # primary key) instead of a subquery evaluated against every customer row.
    by_document = list(
        OcrResult.objects.filter(document_number=text.upper()).values_list(
            "document__customer_id", flat=True
        )[:MAX_DOCUMENT_MATCHES]
    )
    return queryset.filter(Q(name__icontains=text) | Q(pk__in=by_document))


def case_queue(user, filters: QueueFilters) -> QuerySet[Customer]:
    """One row per customer file, with its pending and failed job counts."""
    queryset = customers_visible_to(user)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.risk:
        queryset = queryset.filter(risk_level="" if filters.risk == "none" else filters.risk)
    if filters.assignee == "me":
        queryset = queryset.filter(assignee=user)
    elif filters.assignee == "unassigned":
        queryset = queryset.filter(assignee__isnull=True)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.failed:
        queryset = queryset.filter(Exists(_failed_jobs()))
    if filters.q:
        queryset = _search(queryset, filters.q)
    ordering = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
    if any("risk_rank" in key for key in ordering):
        queryset = queryset.annotate(risk_rank=RISK_RANK)
    return (
        queryset.select_related("assignee")
        .annotate(
            pending_jobs=_job_count(ProviderJob.ACTIVE_STATUSES),
            failed_jobs=_job_count([ProviderJob.Status.FAILED]),
        )
        .order_by(*ordering)
    )


@dataclass(frozen=True)
class Page:
    """A page of rows without COUNT(*): we fetch one row more to know whether a next page exists."""

    rows: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    def __iter__(self):
        return iter(self.rows)


def paginate(queryset: QuerySet, number: int, size: int = PAGE_SIZE) -> Page:
    """One page of `queryset` (ordered). Past the first page, the offset is counted on primary
    keys alone (read from an index, no join, no per-row subquery), and only the page's rows are
    then read in full: page 1,000 of 100,000 customers costs what page 2 does, near enough."""
    number = max(1, number)
    offset = (number - 1) * size
    if offset == 0:
        rows = list(queryset[: size + 1])
    else:
        keys = list(queryset.values_list("pk", flat=True)[offset : offset + size + 1])
        rows = list(queryset.filter(pk__in=keys)) if keys else []
    return Page(rows=rows[:size], number=number, has_next=len(rows) > size)


# --------------------------------------------------------------------------------- customer file


def customer_for_detail(user, pk: int) -> Customer:
    return get_object_or_404(
        customers_visible_to(user).select_related("assignee", "created_by"), pk=pk
    )


def customer_documents(customer: Customer) -> tuple[list[Document], list[ProviderJob]]:
    """The documents panel and its live status: documents (newest first), each with its jobs in
    `document.job_list` (by provider, newest first), and the request-level jobs (e.g. Manager
    X-Ray, newest first). Two queries whatever the numbers: the panel is re-rendered every 2 s
    while analyses run, and each query costs about a millisecond of ORM work."""
    documents = list(Document.objects.filter(customer=customer).order_by("-created_at", "-id"))
    jobs = list(
        ProviderJob.objects.filter(request__customer=customer).order_by("provider", "-created_at")
    )
    by_document: dict[int, list[ProviderJob]] = {document.pk: [] for document in documents}
    request_jobs = []
    for job in jobs:
        if job.document_id is None:
            request_jobs.append(job)
        elif job.document_id in by_document:
            by_document[job.document_id].append(job)
    for document in documents:
        document.job_list = by_document[document.pk]
    request_jobs.sort(key=lambda job: job.created_at, reverse=True)
    return documents, request_jobs


def customer_reports(customer: Customer) -> list[Report]:
    """Every report of the customer without its raw payload (the summary panel does not need it)."""
    return list(
        Report.objects.filter(request__customer=customer)
        .select_related("document")
        .defer("raw", "summary")
        .order_by("-created_at", "-id")
    )


def customer_timeline(customer: Customer, limit: int = 50) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(customer=customer)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


@functools.cache
def _live_state_sql() -> str:
    """Raw SQL, built once: the same aggregates through the ORM cost 3 ms of query building
    per poll, more than the rest of a 304 answer."""
    table = {
        name: connection.ops.quote_name(model._meta.db_table)
        for name, model in (
            ("customer", Customer),
            ("request", AnalysisRequest),
            ("document", Document),
            ("job", ProviderJob),
            ("report", Report),
        )
    }
    by_request = (
        "FROM {child} x INNER JOIN {request} r ON x.request_id = r.id WHERE r.customer_id = c.id"
    )
    jobs = by_request.format(child=table["job"], request=table["request"])
    reports = by_request.format(child=table["report"], request=table["request"])
    documents = f"FROM {table['document']} x WHERE x.customer_id = c.id"
    return (
        "SELECT c.risk_level, "  # noqa: S608 - table names from the models, quoted
        f"(SELECT COUNT(*) {jobs}), (SELECT MAX(x.updated_at) {jobs}), "
        f"(SELECT COUNT(*) {documents}), (SELECT MAX(x.updated_at) {documents}), "
        f"(SELECT COUNT(*) {reports}), (SELECT MAX(x.id) {reports}) "
        f"FROM {table['customer']} c WHERE c.id IN ({{visible}})"
    )


def customer_live_state(user, pk: int) -> tuple:
    """Everything the live-status fragment shows that can change, reduced to a few numbers
    (1 query, no rows loaded): its ETag. Every change of a job or a document moves its
    updated_at (auto_now on save(), models.TouchingQuerySet on update()); reports are only added
    (or removed with their document).
    Raises Http404 like customer_for_detail when the user may not see the customer."""
    try:
        visible, params = (
            customers_visible_to(user).filter(pk=pk).values("pk").query.sql_with_params()
        )
    except EmptyResultSet:
        raise Http404 from None
    with connection.cursor() as cursor:
        cursor.execute(_live_state_sql().format(visible=visible), params)
        row = cursor.fetchone()
    if row is None:
        raise Http404
    return tuple(row)


def has_pending_jobs(customer: Customer) -> bool:
    return ProviderJob.objects.filter(
        request__customer=customer, status__in=ProviderJob.ACTIVE_STATUSES
    ).exists()

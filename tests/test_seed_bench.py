"""`manage.py seed_bench`: bulk benchmark data that is consistent with what the services write."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import re

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Q
from django.test import Client
from django.utils import timezone

from demo import bench as bench_data
from demo import builder, documents, payloads
from demo.providers import Script, stand_ins
from kyc.i18n import from_detail
from kyc.models import (
    RISK_ORDER,
    AnalysisRequest,
    AuditEvent,
    Customer,
    Decision,
    Document,
    ManagerAlert,
    OcrResult,
    Officer,
    ProviderJob,
    Report,
)
from kyc.providers.base import Outcome, State, Submission
from kyc.services import jobs
from tests.factories import make_customer, make_document

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_bench", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded():
    output = seed("--customers", "50", "--batch-size", "20")
    return output


def test_it_reports_what_it_created_and_how_long_it_took(seeded):
    assert "Seeded 50 customers in" in seeded
    assert re.search(rf"Report\s+{Report.objects.count():,}\n", seeded)
    assert "jobs by status:" in seeded


def test_every_row_belongs_to_the_same_customer_as_its_parents(seeded):
    assert Customer.objects.count() == 50
    assert bench_data.bench_customer_count() == 50
    assert not Customer.objects.annotate(n=Count("requests")).exclude(n=1).exists()
    assert not Document.objects.exclude(request__customer=F("customer")).exists()
    assert (
        not ProviderJob.objects.filter(document__isnull=False)
        .exclude(document__request=F("request"))
        .exists()
    )
    assert not Report.objects.exclude(job__request=F("request")).exists()
    assert not Report.objects.exclude(Q(document=F("job__document")) | Q(document__isnull=True))
    assert not OcrResult.objects.exclude(document=F("report__document")).exists()
    assert not ManagerAlert.objects.exclude(customer=F("role__officer__request__customer")).exists()
    assert not Officer.objects.exclude(request=F("report__request")).exists()


def test_reports_come_from_completed_jobs_about_ten_per_customer(seeded):
    assert not Report.objects.exclude(job__status=ProviderJob.Status.COMPLETED).exists()
    sources = set(Report.objects.values_list("source", flat=True))
    assert {"doc_xray", "finovox_risk", "local_forensics", "local_mrz"} <= sources
    assert sources & {"mindee_passport", "mindee_international_id"}
    assert 6 <= Report.objects.count() / Customer.objects.count() <= 14
    statuses = set(ProviderJob.objects.values_list("status", flat=True))
    assert {"completed", "failed"} <= statuses and statuses & {"queued", "submitted", "processing"}
    # Raw payloads are the vendors' shapes, not placeholders.
    xray = Report.objects.filter(source="doc_xray").first()
    assert {"type", "reasons", "flag"} <= set(xray.raw)
    mindee = Report.objects.filter(source__startswith="mindee").first()
    assert mindee.raw["document"]["inference"]["prediction"]
    # Vendor ids are unique per source (the database says so too).
    assert not (
        Report.objects.exclude(external_id="")
        .values("source", "external_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )


def test_each_customer_risk_is_its_worst_report_flag(seeded):
    for customer in Customer.objects.prefetch_related("requests__reports"):
        flags = [r.flag_color for req in customer.requests.all() for r in req.reports.all()]
        worst = max(flags, key=lambda c: RISK_ORDER.get(c, 0), default="")
        assert customer.risk_level == worst, customer.pk
        assert customer.last_activity_at >= customer.created_at


def test_identity_documents_have_ocr_results_that_the_search_finds(seeded):
    result = OcrResult.objects.select_related("document").first()
    assert result.document.is_identity
    number = result.fields["document_number"]
    assert len(number) == 9
    client = Client()
    client.force_login(bench_data.ensure_users().analysts[0])
    page = client.get("/", {"q": number})
    assert page.status_code == 200
    assert f"/customers/{result.document.customer_id}/" in page.text


def test_documents_point_to_real_stored_files_with_their_true_hash(seeded):
    names = set(Document.objects.values_list("file", "sha256", "size").distinct())
    assert 1 < len(names) <= 6  # shared sample files, not one per row
    for name, sha256, size in names:
        with default_storage.open(name, "rb") as handle:
            content = handle.read()
        assert (hashlib.sha256(content).hexdigest(), len(content)) == (sha256, size)


def test_the_benchmarks_find_their_customers_by_name_not_by_marks_in_real_fields(seeded):
    live = bench_data.live_status_customer()
    pending = ProviderJob.objects.filter(
        request__customer=live, status__in=ProviderJob.ACTIVE_STATUSES
    )
    assert pending.count() == 20
    target = bench_data.upload_target()
    assert not target.documents.exists()
    # Production fields hold what production writes there (Artemis ids), never a marker.
    assert not Customer.objects.exclude(artemis_customer_id="").exists()


def test_bench_rows_are_the_rows_the_engine_stores_for_the_same_answers(tmp_path, settings):
    """The bench writes in bulk what the demo's builders give; the engine, through the demo's
    stand-in providers, stores the same answers: the rows must be the same."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": None},
        },
    }
    rng, today, now = random.Random(5), timezone.localdate(), timezone.now()
    identity = builder.identity_document(
        rng,
        today=today,
        kind="passport",
        first_name="Anna",
        last_name="Müller",
        sex="F",
        nationality="DEU",
        birth_date=dt.date(1990, 2, 3),
        birth_place="Köln",
        address="",
        verdict=payloads.SUSPICIOUS,
        upload=now,
    )
    with stand_ins(Script(operations={"october": "manager_xray"})) as script:
        company = make_customer(kind="company", legal_name="Horizon Logistique SAS")
    with stand_ins(script):
        script.operations = {"local": "identity", "mindee": "passport"}
        document = make_document(content=documents.passport_jpeg(identity), name="p.jpg")
    answers = {}
    for source in ("local_forensics", "local_mrz", "mindee_passport", "manager_xray"):
        answers[source] = builder.report_for(
            rng,
            source,
            document=document,
            verdict=payloads.SUSPICIOUS,
            origin=identity.origin,
            today=today,
            identity=identity,
            started=now,
            manager={
                "request_id": "r1",
                "siren": company.siren,
                "persons": payloads.manager_persons(
                    rng,
                    company=company.legal_name,
                    siren=company.siren,
                    registered=dt.date(2010, 1, 1),
                    risk=payloads.FRAUDULENT,
                    today=today,
                    new_siren=lambda: "552100554",
                ),
            },
        )
    jobs_by_operation = {job.operation: job for job in ProviderJob.objects.all()}
    for operation, sources in {
        "identity": ("local_forensics", "local_mrz"),
        "passport": ("mindee_passport",),
        "manager_xray": ("manager_xray",),
    }.items():
        reports, ocr, officers = zip(*(answers[source] for source in sources), strict=True)
        outcome = Outcome(
            State.COMPLETED,
            reports=reports,
            ocr=tuple(read for read in ocr if read),
            officers=sum(officers, ()),
        )
        with stand_ins(script):
            script.answer(jobs_by_operation[operation].pk, Submission(outcome=outcome))
            jobs.job_submit(jobs_by_operation[operation].pk)

    for data, read, officers in answers.values():
        report = Report.objects.get(source=data.source)
        fields = bench_data.report_fields(data)
        assert {name: getattr(report, name) for name in fields} == fields
        if read is not None:
            result = OcrResult.objects.get(source=read.source)
            fields = bench_data.ocr_fields(read)
            assert {name: getattr(result, name) for name in fields} == fields
            assert result.report == report
        for person in officers:
            officer = Officer.objects.get(last_name=person.last_name, report=report)
            fields = bench_data.officer_fields(person)
            assert {name: getattr(officer, name) for name in fields} == fields
            for company_role in person.roles:
                role = officer.roles.get(company_name=company_role.company_name)
                fields = bench_data.role_fields(company_role)
                assert {name: getattr(role, name) for name in fields} == fields
                assert sorted(role.alerts.values_list("date", "name", "level")) == sorted(
                    (alert.date, alert.name, alert.level) for alert in company_role.alerts
                )
    assert Officer.objects.exists() and OcrResult.objects.count() == 2


def test_decisions_keep_four_eyes_and_the_timeline_has_rows(seeded):
    assert Decision.objects.exists()
    assert not Decision.objects.filter(reviewed_by=F("proposed_by")).exists()
    created = AuditEvent.objects.filter(action="customer.create").count()
    assert created == Customer.objects.count()
    assert AuditEvent.objects.filter(action="document.add").count() == Document.objects.count()


def test_the_pages_render_on_the_seeded_data(seeded):
    client = Client()
    client.force_login(bench_data.ensure_users().analysts[0])
    live = bench_data.live_status_customer()
    assert client.get("/").status_code == 200
    assert client.get("/?risk=red&status=in_review").status_code == 200
    for customer in Customer.objects.order_by("?")[:5]:
        assert client.get(f"/customers/{customer.pk}/").status_code == 200
    status = client.get(f"/customers/{live.pk}/status/", headers={"HX-Request": "true"})
    assert status.status_code == 200


def test_a_second_run_adds_more_with_new_ids(seeded):
    before = {model: model.objects.count() for model in (Customer, Report, AnalysisRequest)}
    seed("--customers", "5")
    assert Customer.objects.count() == before[Customer] + 5
    assert Report.objects.count() > before[Report]
    # One live-status customer, whatever the number of runs.
    assert Customer.objects.filter(legal_name=bench_data.LIVE_STATUS_NAME).count() == 1
    # The next row a service writes gets a fresh id (sequences follow the explicit ids).
    top = Customer.objects.aggregate(top=Max("pk"))["top"]
    assert make_customer().pk > top


def test_it_refuses_a_database_with_other_data_unless_forced():
    make_customer()
    with pytest.raises(CommandError, match="not benchmark data"):
        seed("--customers", "3")
    assert Customer.objects.count() == 1
    assert "Seeded 3 customers" in seed("--customers", "3", "--force")


def test_failed_jobs_keep_their_error_as_the_engine_does(seeded):
    failed = ProviderJob.objects.filter(status__in=["failed", "expired"])
    assert failed.exists()
    for job in failed:
        assert isinstance(job.last_error, str) and job.last_error
        if job.provider != "local":
            assert from_detail(job.last_error_detail) == job.last_error
    assert ProviderJob.objects.filter(status="completed", last_error_detail__isnull=True).exists()

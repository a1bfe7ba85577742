"""`manage.py seed_demo`: demo users, and a realistic demo data set loaded once.

A full seed takes a few seconds, so the tests that read the data set share one seed per module,
made inside a transaction that is rolled back when the module is done. The tests that need an
empty database come first in the file, before that seed exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone, translation
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from demo import builder, catalog, mrz, payloads, providers
from kyc.dates import add_years
from kyc.i18n import from_detail
from kyc.models import (
    RISK_ORDER,
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
)
from kyc.services.decisions import ReasonCode
from tests.factories import make_customer, make_user

PASSWORD = "pw-for-seed-tests"
ARTEMIS = {
    "ARTEMIS_CLIENT_ID": "demo-client",
    "ARTEMIS_CLIENT_SECRET": "demo-secret",
    "ARTEMIS_DOMAIN_ID": "7",
}
COUNTED = (
    User,
    Customer,
    AnalysisRequest,
    Document,
    ProviderJob,
    Report,
    Officer,
    OfficerRole,
    ManagerAlert,
    OcrResult,
    OcrCorrection,
    Decision,
    AuditEvent,
)


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# ---------------------------------------------------------------------- on an empty database


def test_mrz_check_digits_reproduce_the_icao_9303_specimens():
    passport = mrz.td3(
        issuing_country="UTO",
        surname="Eriksson",
        given_names="Anna María",
        document_number="L898902C3",
        nationality="UTO",
        birth_date=dt.date(1974, 8, 12),
        sex="F",
        expiry_date=dt.date(2012, 4, 15),
        personal_number="ZE184226B",
    )
    card = mrz.td1(
        document_code="I",
        issuing_country="UTO",
        document_number="D23145890",
        birth_date=dt.date(1974, 8, 12),
        sex="F",
        expiry_date=dt.date(2012, 4, 15),
        nationality="UTO",
        surname="Eriksson",
        given_names="Anna Maria",
    )
    assert passport == (
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    )
    assert card == (
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    )
    assert all(mrz.verify(passport).values())
    assert all(mrz.verify(card).values())
    assert not mrz.verify((passport[0], passport[1][:9] + "7" + passport[1][10:]))[
        "document number hash"
    ]


def test_without_debug_the_default_password_is_refused(db, settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        seed()

    assert not User.objects.exists()
    assert not Customer.objects.exists()


def test_existing_data_is_left_alone_and_only_missing_users_are_created(db, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    make_user("analyst", role="analyst")  # password "pw-for-tests-only"
    make_customer(last_name="Existing")

    output = seed()

    assert "already present" in output
    assert Customer.objects.count() == 1
    assert User.objects.get(username="analyst").check_password("pw-for-tests-only")
    assert User.objects.get(username="reviewer").check_password(builder.DEFAULT_PASSWORD)
    assert "reviewer" in output and builder.DEFAULT_PASSWORD in output


def test_a_failed_seed_leaves_no_rows_and_no_files(db, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)

    def fail(self):
        raise RuntimeError("disk full")

    # Late in the build, once every document file is stored.
    monkeypatch.setattr(builder.DemoBuilder, "_corrections", fail)

    with pytest.raises(RuntimeError, match="disk full"):
        seed()

    assert counts() == dict.fromkeys(counts(), 0)
    assert stored_files(tmp_path / "private") == []


@pytest.mark.parametrize(
    "today",
    # On these days the seeded random draws give a passport expiring on 29 February (2028 or
    # 2032). Its issue date, ten years earlier, made the seed raise "day is out of range for
    # month" and `make run` fail: CI failed on 24 November 2026 for that reason.
    [dt.date(2026, 11, 22), dt.date(2026, 11, 24)],
    ids=str,
)
def test_the_demo_builds_on_days_that_draw_a_leap_day(db, monkeypatch, today):
    shifted_leap_days = []

    def spy(day, years):
        if (day.month, day.day) == (2, 29):
            shifted_leap_days.append(day)
        return add_years(day, years)

    monkeypatch.setattr(builder, "add_years", spy)
    # Just after midnight in Paris, so the day is never in the future of the real clock.
    now = dt.datetime.combine(today, dt.time(0, 5), tzinfo=ZoneInfo("Europe/Paris"))
    demo = builder.DemoBuilder(builder.ensure_users(PASSWORD), now=now)

    demo.build()

    assert shifted_leap_days, "the draws changed: find a day that draws 29 February again"
    assert Customer.objects.count() == len(catalog.COMPANIES) + len(catalog.INDIVIDUALS)
    dated = [
        fields
        for fields in OcrResult.objects.values_list("fields", flat=True)
        if fields.get("issue_date") and fields.get("expiry_date")
    ]
    assert dated
    assert all(fields["issue_date"] < fields["expiry_date"] for fields in dated)


# ----------------------------------------------------------------- on the seeded data set


@dataclass(frozen=True)
class Seeded:
    output: str
    seconds: float
    media: Path


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("seed-media")
    storages = {
        **django_settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media, "base_url": None},
        },
    }
    previous = os.environ.get("DEMO_PASSWORD")
    os.environ["DEMO_PASSWORD"] = PASSWORD
    try:
        with (
            django_db_blocker.unblock(),
            # Artemis configured, as on a developer's machine with credentials: see
            # test_seeding_sends_no_correction_to_a_configured_artemis.
            override_settings(STORAGES=storages, **ARTEMIS),
            transaction.atomic(),
        ):
            started = time.monotonic()
            output = seed()
            yield Seeded(output=output, seconds=time.monotonic() - started, media=media)
            transaction.set_rollback(True)
    finally:
        if previous is None:
            os.environ.pop("DEMO_PASSWORD", None)
        else:
            os.environ["DEMO_PASSWORD"] = previous


@pytest.fixture
def seeded(db, seeded_once):
    return seeded_once


def test_seed_creates_the_three_demo_users_in_their_groups(seeded):
    for username in ("analyst", "reviewer", "admin"):
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [username]
        assert user.check_password(PASSWORD)
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.get(username="analyst").is_staff
    assert "analyst, reviewer, admin" in seeded.output and PASSWORD in seeded.output
    assert "Demo data loaded" in seeded.output


def test_seed_loads_fifty_companies_and_people_quickly(seeded):
    companies = Customer.objects.filter(kind=Customer.Kind.COMPANY)
    people = Customer.objects.filter(kind=Customer.Kind.INDIVIDUAL)

    assert Customer.objects.count() == 50
    assert companies.count() >= 20 and people.count() >= 20
    assert seeded.seconds < 20
    for company in companies:
        assert stdnum_siren.is_valid(company.siren)
        assert company.legal_name.rsplit(" ", 1)[-1] in (
            "SA",
            "SAS",
            "SASU",
            "SARL",
            "EURL",
            "SCI",
            "SELARL",
        )
        assert not company.siret or (
            stdnum_siret.is_valid(company.siret) and company.siret.startswith(company.siren)
        )
    assert companies.exclude(siret="").exists()
    assert len(set(companies.values_list("siren", flat=True))) == companies.count()
    for person in people:
        assert person.birth_date < timezone.localdate()
        assert len(person.nationality) == 3 and person.nationality.isalpha()
    assert people.exclude(nationality="FRA").exists()
    assert set(Customer.objects.values_list("status", flat=True)) == set(Customer.Status.values)
    assignees = set(Customer.objects.values_list("assignee__username", flat=True))
    assert assignees == {"analyst", "reviewer", None}
    october = AnalysisRequest.objects.exclude(october_request_id=None)
    assert set(october.values_list("status", flat=True)) == {"pending_analysis", "analysed"}
    assert not october.filter(customer__kind=Customer.Kind.INDIVIDUAL).exists()
    # Each customer came through customer_create: its audit row and first analysis request.
    assert AuditEvent.objects.filter(action="customer.create").count() == 50
    assert AnalysisRequest.objects.count() == 50


def test_every_report_source_is_seeded_with_normalised_fields(seeded):
    reports = Report.objects.select_related("job")

    assert set(reports.values_list("source", flat=True)) == set(Report.Source.values)
    for report in reports:
        assert report.flag_color in ("green", "orange", "red")
        assert report.flag_value
        assert 0.0 <= report.score <= 1.0
        assert report.summary and isinstance(report.summary, dict)
        for reason in report.reasons:
            assert {"code", "title", "detail", "level", "criteria"} <= set(reason)
            assert reason["level"] in (None, "suspicious", "fraudulent")
        assert report.job.status == ProviderJob.Status.COMPLETED
        assert report.job.submitted_at <= report.job.finished_at
    colours = set(reports.values_list("flag_color", flat=True))
    assert colours == {"green", "orange", "red"}


def test_raw_payloads_have_the_vendor_shapes(seeded):
    def raw(source: str) -> dict:
        return Report.objects.filter(source=source).first().raw

    doc_xray = raw(Report.Source.DOC_XRAY)
    assert {"class", "confidence"} <= set(doc_xray["type"][0])
    assert set(doc_xray["flag"]) == {"color", "meta", "value"}
    time_reason = next(r for r in doc_xray["reasons"] if r["typeCode"] == "time")
    assert set(time_reason) == {"criteria", "sentiment", "message", "typeCode", "level"}
    assert set(time_reason["criteria"]) == {
        "creationDate",
        "modDate",
        "lastSigningTime",
        "modCreationDiff",
    }
    person = raw(Report.Source.MANAGER_XRAY)["persons"][0]
    assert {"lastname", "firstname", "birthdate", "confidencePercentage", "companies"} <= set(
        person
    )
    assert {"name", "code", "jobStartDate", "jobEndDate", "alerts"} <= set(person["companies"][0])
    finovox = raw(Report.Source.FINOVOX_RISK)
    for key in ("software", "metadata", "datastructure", "vision", "coherence", "global"):
        assert finovox[f"{key}_risk"] in ("low", "medium", "high")
    assert {"name", "document_quality", "software", "explanation"} <= set(finovox)
    for source in (Report.Source.MINDEE_PASSPORT, Report.Source.MINDEE_INTERNATIONAL_ID):
        body = raw(source)
        assert body["api_request"]["status"] == "success"
        prediction = body["document"]["inference"]["prediction"]
        assert {"value", "confidence"} <= set(prediction["birth_date"])
    assert "job" in raw(Report.Source.MINDEE_INTERNATIONAL_ID)
    for source in (Report.Source.LOCAL_FORENSICS, Report.Source.LOCAL_MRZ):
        assert {"reasons", "flag"} <= set(raw(source))


def test_seeded_payloads_read_the_same_with_the_providers_own_parsers(seeded):
    from kyc.providers import finovox, mindee, october

    for report in Report.objects.exclude(source__startswith="local_"):
        if report.source == Report.Source.DOC_XRAY:
            parsed = october.doc_xray_report(
                october.OctoberReport(id=report.external_id, raw=report.raw)
            )
        elif report.source == Report.Source.MANAGER_XRAY:
            parsed, officers = october.manager_xray_data(
                october.OctoberReport(id=report.external_id, raw=report.raw)
            )
            assert len(officers) == report.officers.count()
        elif report.source == Report.Source.FINOVOX_RISK:
            parsed = finovox.risk_report_data(report.raw, document_id=report.document_id)
        else:
            product = (
                mindee.PASSPORT
                if report.source == Report.Source.MINDEE_PASSPORT
                else mindee.INTERNATIONAL_ID
            )
            outcome = mindee.outcome_from_document(product, report.raw)
            parsed = outcome.reports[0]
            fields = report.ocr_results.get().fields
            for key, value in outcome.ocr[0].fields.items():
                assert key == "missing_fields" or fields[key] == value, key
            # The same findings and per-field confidences as a real Mindee run stores.
            # (In any order: PostgreSQL's jsonb keeps no key order in the stored raw payload.)
            ours = sorted(json.dumps(reason, sort_keys=True) for reason in report.reasons)
            theirs = sorted(json.dumps(r.as_dict(), sort_keys=True) for r in parsed.reasons)
            assert ours == theirs
            assert report.summary["fields"] == parsed.summary["fields"]
            assert sorted(report.summary["low_confidence_fields"]) == sorted(
                parsed.summary["low_confidence_fields"]
            )
        assert parsed.flag_color == report.flag_color, report.source


def test_manager_xray_is_normalised_into_officers_roles_and_alerts(seeded):
    today = timezone.localdate()
    for report in Report.objects.filter(source=Report.Source.MANAGER_XRAY):
        persons = report.raw["persons"]
        assert report.officers.count() == len(persons)
        roles = OfficerRole.objects.filter(officer__report=report)
        assert roles.count() == sum(len(p["companies"]) for p in persons)
        alerts = ManagerAlert.objects.filter(role__officer__report=report)
        assert alerts.count() == sum(len(c["alerts"]) for p in persons for c in p["companies"])
        assert set(alerts.values_list("customer", flat=True)) <= {report.request.customer_id}
    alerts = ManagerAlert.objects.all()
    assert set(alerts.values_list("level", flat=True)) == {"low", "medium", "high"}
    assert all(
        today - dt.timedelta(days=731) <= date <= today
        for date in alerts.values_list("date", flat=True)
    )
    assert alerts.filter(date__gte=today - dt.timedelta(days=30)).exists()
    assert alerts.filter(date__lt=today - dt.timedelta(days=365)).exists()
    assert Officer.objects.filter(confidence__lt=100).exists()


def test_ocr_results_use_the_artemis_keys_and_a_correct_mrz(seeded):
    results = OcrResult.objects.select_related("report", "document")

    assert set(results.values_list("source", flat=True)) == set(OcrResult.Source.values)
    for result in results:
        fields = result.fields
        for key in ("first_name", "last_name", "date_of_birth", "nationality", "issuing_country"):
            assert fields[key], key
        assert fields["document_type"] and fields["document_number"] and fields["expiry_date"]
        assert fields["birth date hash"] == "true"
        assert set(result.confidence) <= set(fields)
        assert result.report.document_id == result.document_id
        assert result.report.source == result.source
        lines = fields["mrz_raw_string"].split("\n")
        assert [len(line) for line in lines] in ([44, 44], [30, 30, 30])
        if result.source == OcrResult.Source.LOCAL_MRZ:
            assert all(mrz.verify(lines).values())
    layouts = {len(r.fields["mrz_raw_string"].split("\n")) for r in results}
    assert layouts == {2, 3}  # TD3 passports and TD1 identity cards


def test_customer_risk_level_is_the_worst_flag_of_its_reports(seeded):
    worst: dict[int, str] = {}
    for customer_id, colour in Report.objects.values_list("request__customer", "flag_color"):
        if RISK_ORDER[colour] > RISK_ORDER[worst.get(customer_id, "")]:
            worst[customer_id] = colour
    for customer in Customer.objects.all():
        assert customer.risk_level == worst.get(customer.pk, ""), customer
    assert set(Customer.objects.values_list("risk_level", flat=True)) >= {
        "green",
        "orange",
        "red",
    }


def test_jobs_show_finished_failed_and_in_flight_work(seeded):
    jobs = ProviderJob.objects.all()
    statuses = dict(jobs.values_list("status").annotate(n=Count("id")))

    assert statuses["completed"] > 100
    assert statuses["failed"] >= 2 and statuses["expired"] >= 1
    assert statuses.get("queued", 0) + statuses.get("processing", 0) >= 3
    assert set(jobs.values_list("provider", flat=True)) == {"local", "october", "finovox", "mindee"}
    for job in jobs.filter(status__in=["failed", "expired"]):
        assert job.last_error and job.finished_at
        # Stored as the engine stores a provider's error: English text plus a translatable form.
        assert from_detail(job.last_error_detail) == job.last_error
        with translation.override("fr"):
            assert from_detail(job.last_error_detail) != job.last_error
    assert jobs.filter(last_error__contains="503 on POST /retrieve: Service Unavailable").exists()
    assert jobs.filter(last_error__contains="refused our credentials (401").exists()
    for job in jobs.filter(status__in=ProviderJob.ACTIVE_STATUSES):
        assert job.finished_at is None
        assert not job.reports.exists()
    # document_add queues the built-in engine's job: it was completed, never duplicated.
    for document in Document.objects.all():
        local = document.jobs.filter(provider="local")
        assert local.count() == 1
        assert local.get().operation == ("identity" if document.is_identity else "forensics")


def test_demo_jobs_end_with_the_audit_trail_the_engine_writes(seeded):
    def last_event(job: ProviderJob) -> AuditEvent:
        events = AuditEvent.objects.filter(object_type="providerjob", object_id=str(job.pk))
        return events.order_by("pk").last()

    for job in ProviderJob.objects.filter(status=ProviderJob.Status.COMPLETED):
        event = last_event(job)
        assert event.action == "job.completed"
        assert sorted(event.after["reports"]) == sorted(job.reports.values_list("pk", flat=True))
    vendor_errors = set()
    for job in ProviderJob.objects.filter(status__in=["failed", "expired"]):
        event = last_event(job)
        assert event.after["status"] == job.status and event.after["error"] == job.last_error
        if event.action in ("job.submit_error", "job.poll_error"):
            # A provider's error, recorded by the engine with the vendor's HTTP status and no
            # retry left.
            assert event.after["retry_at"] is None
            vendor_errors.add(event.after["http_status"])
    assert vendor_errors == {401, 503}


def test_the_demo_writes_jobs_and_their_results_only_through_the_engine():
    """Provider jobs, reports, OCR results and officers are stored by the job engine's outcome
    step (the demo's stand-in providers answer it); the demo only moves their clocks back."""
    engine_rows = "ProviderJob|Report|OcrResult|Officer|OfficerRole|ManagerAlert"
    writes = re.compile(
        rf"\b(?:{engine_rows})\.objects(?:\.\w+\([^()]*\))*"
        r"\.(?:create|bulk_create|get_or_create|update_or_create|update|delete)\("
    )
    for module in (builder, payloads, providers):
        source = Path(module.__file__).read_text()
        assert not writes.findall(source), module.__name__


def test_decisions_and_corrections_are_audited(seeded):
    decisions = Decision.objects.all()
    statuses = dict(decisions.values_list("status").annotate(n=Count("id")))

    assert statuses["proposed"] >= 1 and statuses["confirmed"] >= 3
    assert statuses["sent_back"] == 1
    assert set(decisions.values_list("proposed_by__username", flat=True)) == {"analyst"}
    for decision in decisions.exclude(status=Decision.Status.PROPOSED):
        assert decision.reviewed_by.username == "reviewer"
        assert decision.reviewed_at >= decision.proposed_at
    for decision in decisions.filter(status=Decision.Status.CONFIRMED):
        expected = {"approve": "approved", "reject": "rejected", "request_info": "info_requested"}
        assert decision.customer.status == expected[decision.outcome]
    corrections = OcrCorrection.objects.all()
    assert corrections.count() >= 3
    assert {"synced", "pending", "failed"} <= set(corrections.values_list("sync_status", flat=True))
    for correction in corrections:
        assert correction.author.username == "analyst" and correction.reason
        for change in correction.changes.values():
            assert set(change) == {"old", "new"} and change["old"] != change["new"]
        assert correction.sync_error or correction.sync_status != "failed"
    for obj, action in [
        *((d, "decision.propose") for d in decisions),
        *((d, "decision.confirm") for d in decisions.filter(status="confirmed")),
        *((d, "decision.send_back") for d in decisions.filter(status="sent_back")),
        *((c, "ocr.correct") for c in corrections),
    ]:
        assert AuditEvent.objects.filter(
            action=action, object_type=obj._meta.model_name, object_id=str(obj.pk)
        ).exists(), action


def test_decisions_and_reviews_are_the_ones_the_product_writes(seeded):
    # Through decision_propose / decision_confirm / alert_review: codes from the product's list,
    # and the audit actions the audit log's filter knows.
    assert set(Decision.objects.values_list("reason_code", flat=True)) <= set(ReasonCode.values)
    reviewed = ManagerAlert.objects.exclude(review_status=ManagerAlert.ReviewStatus.OPEN)
    reviews = AuditEvent.objects.filter(action__in=["alert.acknowledge", "alert.dismiss"])
    assert reviewed.exists()
    assert sorted(reviews.values_list("object_id", flat=True)) == sorted(
        str(pk) for pk in reviewed.values_list("pk", flat=True)
    )
    for customer in Customer.objects.exclude(status=Customer.Status.NEW):
        changes = AuditEvent.objects.filter(action="customer.status", customer=customer)
        assert changes.order_by("pk").last().after["status"] == customer.status


def test_seeding_sends_no_correction_to_a_configured_artemis(seeded):
    # The corrections went through ocr_correct, which queues a push to Artemis when Artemis is
    # configured (it is, in this seed): the demo's are never pushed.
    corrections = AuditEvent.objects.filter(action="ocr.correct")
    assert corrections.count() == OcrCorrection.objects.count() >= 3
    assert {event.after["sync"] for event in corrections} == {"not_configured"}


def test_every_stored_document_file_exists_with_its_sha256(seeded, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": seeded.media, "base_url": None},
        },
    }
    documents = Document.objects.all()

    assert documents.count() >= 80
    assert set(documents.values_list("content_type", flat=True)) == {
        "application/pdf",
        "image/jpeg",
        "image/png",
    }
    for document in documents:
        with default_storage.open(document.file.name, "rb") as handle:
            content = handle.read()
        assert hashlib.sha256(content).hexdigest() == document.sha256
        assert len(content) == document.size < 200 * 1024
    assert len(stored_files(seeded.media)) == documents.count()


def test_running_the_seed_again_changes_nothing(seeded):
    before = counts()

    output = seed()

    assert counts() == before
    assert "already present" in output
    assert "passwords are unchanged" in output
    assert User.objects.get(username="admin").check_password(PASSWORD)

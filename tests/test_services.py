"""The foundation's services: customers and documents, their audit rows, and upload intake.

Every refusal is checked twice: the analyst gets a message keyed by the field at fault, and the
database (and the storage) are left exactly as they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from kyc import intake, services
from kyc.middleware import RequestContextMiddleware, current_context
from kyc.models import AnalysisRequest, AuditEvent, Customer, Document, ProviderJob
from tests.factories import make_customer

VALID_SIREN = "732829320"


def image_bytes(fmt: str, color: str = "white") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, fmt)
    return buffer.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Customer, AnalysisRequest, Document, ProviderJob, AuditEvent)
    }


def stored_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def customer(analyst):
    return make_customer(actor=analyst, last_name="Martin")


@pytest.fixture
def analysis_request(customer):
    return customer.requests.get()


# ------------------------------------------------------------------------------ customer_create


def test_creating_a_company_audits_it_and_opens_a_siren_request(analyst):
    customer = services.customer_create(
        kind="company", actor=analyst, legal_name="  Danone SA ", siren="732 829 320"
    )

    customer.refresh_from_db()
    assert customer.siren == VALID_SIREN
    assert customer.legal_name == "Danone SA"
    assert customer.created_by == analyst
    [event] = AuditEvent.objects.filter(action="customer.create")
    assert event.actor == analyst
    assert event.customer == customer
    assert event.object_type == "customer"
    assert event.object_id == str(customer.pk)
    assert event.after["kind"] == "company"
    assert event.after["siren"] == VALID_SIREN
    assert event.after["legal_name"] == "Danone SA"

    [request] = AnalysisRequest.objects.filter(customer=customer)
    assert request.october_code == {"type": "siren", "id": VALID_SIREN}
    assert request.status == AnalysisRequest.Status.OPEN
    [opened] = AuditEvent.objects.filter(action="request.open")
    assert opened.actor == analyst
    assert opened.customer == customer
    assert opened.object_id == str(request.pk)
    assert opened.after == {"code": {"type": "siren", "id": VALID_SIREN}}


def test_creating_a_company_with_its_siret_keeps_it(analyst):
    customer = services.customer_create(
        kind="company",
        actor=analyst,
        legal_name="Danone SA",
        siren=VALID_SIREN,
        siret="73282932000074",
    )
    assert customer.siret == "73282932000074"


def test_creating_an_individual_audits_it_and_opens_an_internal_request(analyst):
    customer = services.customer_create(
        kind="individual",
        actor=analyst,
        first_name="Marie",
        last_name="Curie",
        birth_date=dt.date(1967, 11, 7),
        nationality="fra",
    )

    customer.refresh_from_db()
    assert customer.name == "Curie Marie"
    assert customer.nationality == "FRA"
    assert customer.siren == ""
    [event] = AuditEvent.objects.filter(action="customer.create")
    assert event.actor == analyst
    assert event.customer == customer
    assert event.after["last_name"] == "Curie"
    assert event.after["birth_date"] == "1967-11-07"
    [request] = customer.requests.all()
    assert request.code_type == AnalysisRequest.CodeType.INTERNAL
    assert request.code_id
    assert AuditEvent.objects.filter(action="request.open", customer=customer).count() == 1


COMPANY = {"kind": "company", "legal_name": "Danone SA", "siren": VALID_SIREN}
PERSON = {"kind": "individual", "first_name": "Marie", "last_name": "Curie"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({**COMPANY, "siren": "732829321"}, "siren", id="siren-bad-checksum"),
        pytest.param({**COMPANY, "siren": "73282932"}, "siren", id="siren-eight-digits"),
        pytest.param({**COMPANY, "siren": "ABCDEFGHI"}, "siren", id="siren-letters"),
        pytest.param({**COMPANY, "siren": ""}, "siren", id="siren-missing"),
        pytest.param({**COMPANY, "siret": "55210055400013"}, "siret", id="siret-of-another-siren"),
        pytest.param({**COMPANY, "siret": "73282932000075"}, "siret", id="siret-bad-checksum"),
        pytest.param({**COMPANY, "legal_name": "   "}, "legal_name", id="empty-legal-name"),
        pytest.param({**PERSON, "last_name": ""}, "last_name", id="individual-no-last-name"),
        pytest.param(
            {**PERSON, "birth_date": dt.date.today() + dt.timedelta(days=30)},
            "birth_date",
            id="birth-date-in-future",
        ),
        pytest.param({**PERSON, "nationality": "FR1"}, "nationality", id="nationality-FR1"),
        pytest.param({**PERSON, "nationality": "FRAN"}, "nationality", id="nationality-4"),
        pytest.param({**PERSON, "kind": "robot"}, "kind", id="unknown-kind"),
    ],
)
def test_bad_customer_input_is_refused_by_field_and_writes_nothing(analyst, overrides, field):
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.customer_create(actor=analyst, **overrides)

    assert field in excinfo.value.message_dict
    assert all(message.strip() for message in excinfo.value.message_dict[field])
    assert row_counts() == before


def test_siren_with_bad_checksum_says_so(analyst):
    with pytest.raises(ValidationError) as excinfo:
        services.customer_create(actor=analyst, **{**COMPANY, "siren": "732829321"})
    assert "check digit" in excinfo.value.message_dict["siren"][0]


def test_several_mistakes_are_reported_together(analyst):
    with pytest.raises(ValidationError) as excinfo:
        services.customer_create(actor=analyst, kind="company", legal_name="", siren="12")
    assert set(excinfo.value.message_dict) == {"legal_name", "siren"}


# --------------------------------------------------------------------------------- document_add


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("PDF", "application/pdf"),
        ("TIFF", "image/tiff"),
        ("WEBP", "image/webp"),
    ],
)
def test_document_is_stored_unchanged_and_recorded(analyst, analysis_request, fmt, content_type):
    content = image_bytes(fmt)
    upload = SimpleUploadedFile(f"my-upload.{fmt.lower()}", content)

    document = services.document_add(
        request=analysis_request, uploaded_file=upload, kind="passport", actor=analyst
    )

    document.refresh_from_db()
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.content_type == content_type
    assert document.original_name == f"my-upload.{fmt.lower()}"
    assert document.customer == analysis_request.customer
    assert document.uploaded_by == analyst
    assert document.duplicate_of is None
    assert "my-upload" not in document.file.name
    with default_storage.open(document.file.name, "rb") as stored:
        assert stored.read() == content
    [event] = AuditEvent.objects.filter(action="document.add")
    assert event.actor == analyst
    assert event.customer == analysis_request.customer
    assert event.object_id == str(document.pk)
    assert event.after["sha256"] == document.sha256
    assert event.after["content_type"] == content_type


def refused_upload(settings, analysis_request, actor, content, name, **kwargs):
    """Try an upload that must be refused; return the messages keyed by field."""
    before = row_counts()
    files_before = stored_files(settings)
    kwargs.setdefault("kind", "passport")
    with pytest.raises(ValidationError) as excinfo:
        services.document_add(
            request=analysis_request,
            uploaded_file=SimpleUploadedFile(name, content),
            actor=actor,
            **kwargs,
        )
    assert row_counts() == before
    assert stored_files(settings) == files_before
    return excinfo.value.message_dict


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


@pytest.mark.parametrize(
    ("content", "name"),
    [
        pytest.param(b"", "scan.png", id="empty"),
        pytest.param(HTML, "passport.png", id="html-named-png"),
        pytest.param(b"Account statement\nBalance: 1 000 EUR\n", "statement.pdf", id="text-pdf"),
        pytest.param(SVG, "logo.svg", id="svg"),
        pytest.param(SVG, "id.jpg", id="svg-named-jpg"),
        pytest.param(b"GIF89a" + b"\x00" * 40, "id.gif", id="gif"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 40, "kbis.pdf", id="zip-named-pdf"),
        pytest.param(b" %PDF-1.7\n", "late.pdf", id="pdf-after-junk"),
    ],
)
def test_unacceptable_file_is_refused_and_nothing_is_written(
    settings, analyst, analysis_request, content, name
):
    errors = refused_upload(settings, analysis_request, analyst, content, name)
    assert list(errors) == ["file"]


def test_file_over_the_limit_is_refused_and_nothing_is_written(settings, analyst, analysis_request):
    settings.MAX_UPLOAD_BYTES = 1000
    content = image_bytes("PNG", "red") + b"\x00" * 1000
    errors = refused_upload(settings, analysis_request, analyst, content, "big.png")
    assert list(errors) == ["file"]


def test_file_exactly_at_the_limit_is_accepted(settings, analyst, analysis_request):
    content = image_bytes("PNG")
    settings.MAX_UPLOAD_BYTES = len(content)
    document = services.document_add(
        request=analysis_request,
        uploaded_file=SimpleUploadedFile("a.png", content),
        kind="passport",
        actor=analyst,
    )
    assert document.size == len(content)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"kind": "selfie"}, "kind", id="unknown-kind"),
        pytest.param({"kind": "bank_statement", "period": "year"}, "period", id="bank-year"),
        pytest.param(
            {"kind": "financial_statement", "period": "month"}, "period", id="financials-month"
        ),
        pytest.param({"kind": "other", "period": "decade"}, "period", id="unknown-period"),
        pytest.param(
            {"kind": "bank_statement", "document_date": dt.date.today() + dt.timedelta(days=2)},
            "document_date",
            id="future-date",
        ),
    ],
)
def test_bad_document_details_are_refused_by_field_and_nothing_is_written(
    settings, analyst, analysis_request, kwargs, field
):
    errors = refused_upload(
        settings, analysis_request, analyst, image_bytes("PNG"), "scan.png", **kwargs
    )
    assert field in errors


def test_bank_statement_for_a_month_is_accepted(analyst, analysis_request):
    document = services.document_add(
        request=analysis_request,
        uploaded_file=SimpleUploadedFile("releve.pdf", image_bytes("PDF")),
        kind="bank_statement",
        period="month",
        document_date=timezone.localdate(),
        actor=analyst,
    )
    assert document.period == "month"


def test_same_file_twice_for_the_same_customer_is_marked_duplicate(analyst, analysis_request):
    content = image_bytes("JPEG", "blue")

    def add(name):
        return services.document_add(
            request=analysis_request,
            uploaded_file=SimpleUploadedFile(name, content),
            kind="id_card",
            actor=analyst,
        )

    first, second = add("front.jpg"), add("front-again.jpg")

    assert first.duplicate_of is None
    assert second.duplicate_of == first
    assert first.file.name != second.file.name
    assert AuditEvent.objects.get(object_id=str(second.pk), action="document.add").after[
        "duplicate_of"
    ] == (first.pk)


def test_same_file_for_another_customer_is_not_a_duplicate(analyst, analysis_request):
    content = image_bytes("JPEG", "green")
    other_request = make_customer(actor=analyst).requests.get()
    for request in (analysis_request, other_request):
        document = services.document_add(
            request=request,
            uploaded_file=SimpleUploadedFile("same.jpg", content),
            kind="id_card",
            actor=analyst,
        )
        assert document.duplicate_of is None


@pytest.mark.parametrize("wrapper", ["django-upload", "plain-file"])
def test_file_name_with_path_traversal_and_control_characters_is_cleaned(
    settings, analyst, analysis_request, wrapper
):
    content = image_bytes("PNG")
    name = "../../etc/\x00pa\nss.png"
    # Django's UploadedFile already drops the path; a plain File (what the service's signature
    # accepts, e.g. from a management command) hands the raw name to the service.
    if wrapper == "django-upload":
        upload = SimpleUploadedFile(name, content)
    else:
        upload = File(io.BytesIO(content), name=name)

    document = services.document_add(
        request=analysis_request, uploaded_file=upload, kind="passport", actor=analyst
    )

    assert document.original_name == "pass.png"
    assert ".." not in document.file.name
    assert "pass" not in document.file.name
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]).resolve()
    assert Path(default_storage.path(document.file.name)).resolve().is_relative_to(root)
    with default_storage.open(document.file.name, "rb") as stored:
        assert stored.read() == content


def test_client_ip_from_the_request_lands_in_the_audit_event(rf: RequestFactory, analyst):
    created = {}

    def view(request):
        assert current_context() is not None
        created["customer"] = services.customer_create(
            kind="individual", actor=request.user, last_name="Lovelace"
        )
        return HttpResponse("ok")

    request = rf.post("/customers/new/", REMOTE_ADDR="203.0.113.7")
    request.user = analyst
    response = RequestContextMiddleware(view)(request)

    assert response["X-Request-ID"]
    events = AuditEvent.objects.filter(customer=created["customer"])
    assert {event.action for event in events} >= {"customer.create", "request.open"}
    assert {event.ip_address for event in events} == {"203.0.113.7"}
    # The context does not outlive the request.
    assert current_context() is None


def test_client_ip_of_the_create_customer_page_lands_in_the_audit_event(analyst_client):
    response = analyst_client.post(
        reverse("kyc:customer-create"),
        {"kind": "individual", "last_name": "Lovelace", "first_name": "Ada"},
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code in (200, 302)
    customer = Customer.objects.get(last_name="Lovelace")
    event = AuditEvent.objects.get(action="customer.create", customer=customer)
    assert event.ip_address == "203.0.113.9"
    assert event.actor is not None


def test_audit_event_outside_a_request_has_no_ip(analyst):
    customer = make_customer(actor=analyst)
    event = AuditEvent.objects.get(action="customer.create", customer=customer)
    assert event.ip_address is None


def test_forwarded_for_header_is_not_trusted_for_the_audit_ip(rf: RequestFactory, analyst):
    def view(request):
        services.customer_create(kind="individual", actor=request.user, last_name="Hopper")
        return HttpResponse("ok")

    request = rf.post("/", REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="10.9.9.9")
    request.user = analyst
    RequestContextMiddleware(view)(request)

    assert AuditEvent.objects.get(action="customer.create").ip_address == "198.51.100.4"


# ---------------------------------------------------------------------------------- intake.sniff


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", intake.JPEG),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", intake.PNG),
        (b"II*\x00\x08\x00\x00\x00", intake.TIFF),
        (b"MM\x00*\x00\x00\x00\x08", intake.TIFF),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", intake.WEBP),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", intake.HEIC),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", intake.HEIC),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", intake.PDF),
    ],
)
def test_sniff_names_each_accepted_format(head, content_type):
    assert intake.sniff(head) == content_type


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"GIF89a\x01\x00",
        b"<!doctype html><html>",
        b"<svg xmlns='http://www.w3.org/2000/svg'>",
        b"PK\x03\x04\x14\x00",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00",
        b"BM6\x00\x00\x00",
        b"\xff\xd8",
        b"%PDF",
        b"\n%PDF-1.7",
        b"#!/bin/sh\n",
    ],
)
def test_sniff_refuses_anything_else(head):
    assert intake.sniff(head) is None


def test_sniff_ignores_the_file_name_and_judges_real_images():
    for fmt, content_type in [("PNG", intake.PNG), ("JPEG", intake.JPEG), ("WEBP", intake.WEBP)]:
        assert intake.sniff(image_bytes(fmt)[: intake.SNIFF_BYTES]) == content_type


def test_inspection_stops_reading_as_soon_as_the_limit_is_passed():
    read = []

    def endless():
        while True:
            read.append(1)
            yield b"\x89PNG\r\n\x1a\n" + b"\x00" * 1016

    with pytest.raises(intake.IntakeError):
        intake.inspect_chunks(endless(), max_bytes=4096)
    assert len(read) == 5


def test_inspection_hashes_the_whole_stream_across_chunks():
    content = image_bytes("PNG") * 3
    chunks = [content[i : i + 7] for i in range(0, len(content), 7)]
    inspected = intake.inspect_chunks(chunks, max_bytes=10**6)
    assert inspected.size == len(content)
    assert inspected.sha256 == hashlib.sha256(content).hexdigest()
    assert inspected.content_type == intake.PNG

"""The built-in engine as a provider: what the job engine gets back from it."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import random

import pytest

from kyc.providers import enabled_providers, get_provider
from kyc.providers.base import (
    CustomerInput,
    DocumentInput,
    JobInput,
    ProviderError,
    RequestInput,
    State,
)
from kyc.providers.local import LocalProvider
from tests.analysis.specimens import (
    PdfSpec,
    build_pdf,
    encrypted_pdf,
    huge_png,
    random_identity,
    render,
)

ARTEMIS_KEYS = {
    "first_name",
    "last_name",
    "full_name",
    "gender",
    "date_of_birth",
    "birth date",
    "nationality",
    "issuing_country",
    "document_type",
    "document_number",
    "passport_number",
    "personal_id_number",
    "expiry_date",
    "expiry date",
    "optional_data",
    "mrz_raw_string",
    "final hash",
    "birth date hash",
    "document number hash",
    "expiry date hash",
    "optional data hash",
    "valid country code",
    "valid nationality code",
    "valid genre format",
    "document type format",
    "document number format",
    "optional data format",
    "status",
    "missing_fields",
    "ignored_fields",
}
COMPANY = CustomerInput(id=1, kind="company", legal_name="ACME SAS", siren="732829320")


def document(data: bytes, content_type: str, kind: str) -> DocumentInput:
    return DocumentInput(
        id=7,
        kind=kind,
        content_type=content_type,
        original_name="upload",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        open=lambda: io.BytesIO(data),
    )


def job(doc: DocumentInput | None, customer: CustomerInput = COMPANY) -> JobInput:
    return JobInput(
        id=3,
        operation="forensics",
        external_id="",
        attempts=0,
        submitted_at=None,
        request=RequestInput(id=1, code_type="siren", code_id="732829320"),
        customer=customer,
        document=doc,
    )


def submit(data: bytes, content_type: str, kind: str, customer: CustomerInput = COMPANY):
    submission = LocalProvider().submit(job(document(data, content_type, kind), customer))
    assert submission.outcome is not None
    assert submission.outcome.state == State.COMPLETED
    return submission


def test_always_configured_and_registered(settings):
    assert LocalProvider.is_configured() is True
    assert LocalProvider.name == "local"
    assert str(LocalProvider.label) == "Built-in engine"
    assert "local" in [p.name for p in enabled_providers()]
    assert isinstance(get_provider("local"), LocalProvider)


@pytest.mark.parametrize(
    ("kind", "content_type", "operation"),
    [
        ("passport", "image/jpeg", "identity"),
        ("id_card", "application/pdf", "identity"),
        ("residence_permit", "image/png", "identity"),
        ("bank_statement", "application/pdf", "forensics"),
        ("proof_of_address", "image/webp", "forensics"),
        ("other", "image/tiff", "forensics"),
    ],
)
def test_document_operation_by_kind(kind, content_type, operation):
    assert LocalProvider().document_operation(document(b"x", content_type, kind)) == operation


def test_unreadable_types_are_skipped_with_a_reason():
    heic = document(b"x", "image/heic", "passport")
    provider = LocalProvider()
    assert provider.document_operation(heic) is None
    assert "image/heic" in provider.skip_reason(heic)
    with pytest.raises(ProviderError) as error:
        provider.submit(job(heic))
    assert error.value.retryable is False


def test_clean_statement_gives_a_green_forensics_report():
    submission = submit(build_pdf(), "application/pdf", "bank_statement")
    [report] = submission.outcome.reports
    assert report.source == "local_forensics"
    assert report.flag_color == "green"
    assert report.score == 0.0
    assert report.reasons and all(r.level is None for r in report.reasons)
    assert submission.outcome.ocr == ()
    json.dumps(dict(report.raw))  # the raw payload is stored as JSON
    assert report.raw["facts"]["pdf"]["created"] == "2026-03-01T09:00:00+00:00"


def test_edited_statement_is_red_and_reasons_have_the_doc_xray_shape():
    spec = PdfSpec(
        producer="Adobe Photoshop 2024", text=("Releve de compte ACME SAS", "SIREN 732 829 320")
    )
    [report] = submit(build_pdf(spec), "application/pdf", "bank_statement").outcome.reports
    assert report.flag_color == "red"
    software = next(r for r in report.reasons if r.code == "software")
    assert software.as_dict().keys() == {
        "code",
        "title",
        "detail",
        "level",
        "sentiment",
        "criteria",
    }
    assert (software.level, software.sentiment) == ("fraudulent", "negative")
    assert report.raw["flag"] == {"color": "red", "meta": ["software"], "value": report.score}
    assert next(r for r in report.reasons if r.code == "siren").level is None


@pytest.mark.parametrize("data", [b"%PDF-1.4\n%broken", encrypted_pdf()])
def test_broken_or_encrypted_pdf_ends_as_a_reason(data):
    [report] = submit(data, "application/pdf", "bank_statement").outcome.reports
    assert report.flag_color == "orange"
    assert report.reasons[0].code in ("unreadable", "encrypted")


def test_huge_picture_ends_as_reasons_not_a_crash():
    reports = submit(huge_png(), "image/png", "passport").outcome.reports
    assert [r.source for r in reports] == ["local_forensics", "local_mrz"]
    assert reports[0].reasons[0].code == "too_many_pixels"
    assert reports[1].reasons[0].code == "mrz_missing"


def test_poll_is_never_needed():
    with pytest.raises(ProviderError) as error:
        LocalProvider().poll(job(None))
    assert error.value.retryable is False


def test_an_engine_failure_is_a_clear_job_error(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("onnxruntime out of memory")

    monkeypatch.setattr("kyc.providers.local.analyse", explode)
    with pytest.raises(ProviderError) as error:
        LocalProvider().submit(job(document(build_pdf(), "application/pdf", "bank_statement")))
    assert error.value.retryable is False
    assert "onnxruntime out of memory" in error.value.message


def test_a_job_without_document_is_refused():
    with pytest.raises(ProviderError) as error:
        LocalProvider().submit(job(None))
    assert error.value.retryable is False


@pytest.mark.slow
def test_passport_gives_mrz_report_and_artemis_ocr():
    person = random_identity(random.Random(12), "TD3")
    buffer = io.BytesIO()
    render(person).save(buffer, "JPEG", quality=90)
    declared = CustomerInput(
        id=2,
        kind="individual",
        first_name=person.given_names.split()[0].title(),
        last_name="Somebody-Else",
        birth_date=person.birth_date,
    )
    outcome = submit(buffer.getvalue(), "image/jpeg", "passport", declared).outcome
    forensics, mrz = outcome.reports
    assert (forensics.source, mrz.source) == ("local_forensics", "local_mrz")
    codes = {r.code: r.level for r in mrz.reasons}
    assert codes["mrz_check_digits"] is None
    assert codes["customer_mismatch"] == "suspicious"  # declared last name differs
    assert mrz.flag_color == "orange"
    [ocr] = outcome.ocr
    assert ocr.source == "local_mrz"
    assert set(ocr.fields) == ARTEMIS_KEYS
    assert ocr.fields["last_name"] == person.surname
    assert ocr.fields["date_of_birth"] == person.birth_date.isoformat()
    assert ocr.fields["passport_number"] == person.document_number
    assert ocr.fields["final hash"] == "true"
    assert ocr.fields["mrz_raw_string"] == "\n".join(person.lines)
    assert 0.5 < ocr.confidence["document_number"] <= 1.0
    json.dumps(dict(mrz.raw))
    assert mrz.raw["mrz"]["parsed"]["birth_date"] == person.birth_date.isoformat()
    assert dt.date.fromisoformat(mrz.raw["mrz"]["artemis"]["expiry_date"]) == person.expiry_date

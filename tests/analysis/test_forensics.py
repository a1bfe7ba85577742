"""PDF and image forensics on specimens with exactly one known signal each."""

from __future__ import annotations

import datetime as dt

import pytest

from kyc.analysis.findings import flag
from kyc.analysis.image import analyse_image
from kyc.analysis.pdf import analyse_pdf, find_company_ids, parse_pdf_date
from tests.analysis.specimens import (
    PdfSpec,
    build_pdf,
    encrypted_pdf,
    huge_png,
    incremental_update,
    photo_with_exif,
    plain_photo,
    png_with_text,
    xmp_packet,
)

TODAY = dt.date(2026, 6, 1)
UTC = dt.UTC


def levels(findings, code):
    return [f.level for f in findings if f.code == code]


def pdf(spec=PdfSpec(), kind="bank_statement", siren=""):  # noqa: B008 - frozen default
    return analyse_pdf(build_pdf(spec), kind=kind, customer_siren=siren, today=TODAY)


def test_clean_statement_is_green_with_informational_reasons():
    result = pdf()
    assert flag(result.findings)[0] == "green"
    assert result.findings, "a clean document gets informational reasons, not silence"
    assert all(f.level is None for f in result.findings)
    assert {"time", "software", "incremental_update", "signature", "text_layer"} <= {
        f.code for f in result.findings
    }


def test_photoshop_producer_on_a_bank_statement_is_fraudulent():
    result = pdf(PdfSpec(producer="Adobe Photoshop CC 2019 (Windows)"))
    assert levels(result.findings, "software") == ["fraudulent"]
    assert flag(result.findings)[0] == "red"


@pytest.mark.parametrize(
    "producer",
    ["iLovePDF", "Smallpdf.com", "Sejda PDF Desktop", "PDFescape Online", "Foxit PhantomPDF 9.7"],
)
def test_pdf_editors_are_suspicious(producer):
    assert levels(pdf(PdfSpec(producer=producer)).findings, "software") == ["suspicious"]


def test_word_processor_is_suspicious_on_a_bank_statement_only():
    spec = PdfSpec(creator="Microsoft® Word for Microsoft 365", producer="Microsoft® Word")
    assert levels(pdf(spec).findings, "software") == ["suspicious"]
    assert levels(pdf(spec, kind="other").findings, "software") == [None]


def test_modification_days_after_creation_is_suspicious():
    result = pdf(PdfSpec(modified=dt.datetime(2026, 3, 3, 20, 0, tzinfo=UTC)))
    [time] = [f for f in result.findings if f.code == "time"]
    assert time.level == "suspicious"
    assert time.detail == "modified 2.46 days after creation"
    assert time.criteria["modCreationDiff"] == 212_400_000  # milliseconds, like Doc X-Ray
    assert time.criteria["creationDate"].startswith("2026-03-01T09:00:00")


def test_modification_before_creation_is_fraudulent():
    result = pdf(PdfSpec(modified=dt.datetime(2026, 2, 20, 9, 0, tzinfo=UTC)))
    assert levels(result.findings, "time") == ["fraudulent"]


def test_time_zones_alone_do_not_make_a_modification_before_creation():
    naive = dt.datetime(2026, 3, 1, 10, 0)  # 10:00 local, no offset, = 09:00 UTC in Paris
    result = pdf(PdfSpec(modified=naive))
    assert levels(result.findings, "time") == [None]


def test_incremental_update_is_counted():
    data = incremental_update(build_pdf())
    result = analyse_pdf(data, kind="bank_statement", today=TODAY)
    assert result.facts.revisions == 2
    assert levels(result.findings, "incremental_update") == ["suspicious"]


def test_linearized_file_is_not_an_incremental_update():
    data = build_pdf(PdfSpec(linearized=True))
    assert data.count(b"%%EOF") == 2
    result = analyse_pdf(data, kind="bank_statement", today=TODAY)
    assert result.facts.linearized
    assert result.facts.revisions == 1
    assert all(f.level is None for f in result.findings), [f.as_dict() for f in result.findings]


def test_update_of_a_linearized_file_is_counted():
    data = incremental_update(build_pdf(PdfSpec(linearized=True)))
    result = analyse_pdf(data, kind="bank_statement", today=TODAY)
    assert result.facts.incremental_updates == 1
    assert levels(result.findings, "incremental_update") == ["suspicious"]


def test_javascript_embedded_file_and_form_are_reported():
    assert levels(pdf(PdfSpec(javascript=True)).findings, "javascript") == ["suspicious"]
    embedded = pdf(PdfSpec(embedded_file=True))
    assert levels(embedded.findings, "embedded_files") == ["suspicious"]
    assert embedded.facts.embedded_files == ("data.csv",)
    form = pdf(PdfSpec(form=True))
    assert form.facts.form_fields == ("amount",)
    assert levels(form.findings, "form_fields") == ["suspicious"]


def test_signed_file_untouched_since_signing():
    result = pdf(PdfSpec(signed=True))
    assert len(result.facts.signatures) == 1
    assert result.facts.signatures[0].consistent
    assert levels(result.findings, "signature") == [None]


def test_bytes_appended_after_signing_are_reported():
    data = incremental_update(build_pdf(PdfSpec(signed=True)))
    result = analyse_pdf(data, kind="bank_statement", today=TODAY)
    [signature] = result.facts.signatures
    assert signature.appended_bytes > 0 and signature.appended_revision
    assert levels(result.findings, "signature") == ["fraudulent"]
    other = analyse_pdf(data, kind="other", today=TODAY)
    assert levels(other.findings, "signature") == ["suspicious"]


def test_info_and_xmp_disagreement_is_suspicious():
    xmp = xmp_packet(
        creator_tool="Specimen Core Banking",
        producer="Specimen Bank Statement Engine 4.2",
        created="2026-03-01T09:00:00Z",
        modified="2026-03-08T17:30:00Z",
    )
    assert levels(pdf(PdfSpec(xmp=xmp)).findings, "metadata_consistency") == ["suspicious"]
    agreeing = xmp_packet(
        creator_tool="Specimen Core Banking",
        producer="Specimen Bank Statement Engine 4.2",
        created="2026-03-01T09:00:00Z",
        modified="2026-03-01T09:00:00Z",
    )
    assert levels(pdf(PdfSpec(xmp=agreeing)).findings, "metadata_consistency") == [None]


def test_xmp_creator_tool_is_matched_against_editors():
    xmp = xmp_packet(creator_tool="Canva")
    assert "fraudulent" in levels(pdf(PdfSpec(xmp=xmp)).findings, "software")


def test_scanned_statement_has_no_text_layer():
    result = pdf(PdfSpec(with_text=False))
    assert result.facts.text_pages == 0
    assert levels(result.findings, "text_layer") == ["suspicious"]


def test_siren_in_the_text_is_compared_with_the_customer():
    spec = PdfSpec(text=("ACME SAS", "RCS Paris 732 829 320", "SIRET 732 829 320 00074"))
    matching = pdf(spec, kind="company_registration", siren="732829320")
    assert matching.facts.sirens == ("732829320",)
    assert matching.facts.sirets == ("73282932000074",)
    assert levels(matching.findings, "siren") == [None]
    other = pdf(spec, kind="company_registration", siren="552100554")
    assert levels(other.findings, "siren") == ["suspicious"]


def test_unlabelled_numbers_are_not_taken_for_a_siren():
    assert find_company_ids("Montant 732 829 320 EUR") == ((), ())


def test_encrypted_pdf_is_a_clear_reason():
    result = analyse_pdf(encrypted_pdf(), kind="bank_statement", today=TODAY)
    assert result.facts.encrypted and not result.facts.readable
    assert [(f.code, f.level) for f in result.findings] == [("encrypted", "suspicious")]


@pytest.mark.parametrize(
    "data", [b"%PDF-1.7\nnot really a pdf", build_pdf()[:300], b"", b"\x00" * 64]
)
def test_broken_pdf_is_a_clear_reason(data):
    result = analyse_pdf(data, kind="bank_statement", today=TODAY)
    assert not result.facts.readable
    assert result.findings[0].code == "unreadable"
    assert result.findings[0].level == "suspicious"


def test_pdf_dates_parse_with_and_without_offsets():
    assert parse_pdf_date("D:20210901005216+02'00'") == dt.datetime(
        2021, 9, 1, 0, 52, 16, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    assert parse_pdf_date("D:20210901") == dt.datetime(2021, 9, 1)
    assert parse_pdf_date("garbage") is None


# ------------------------------------------------------------------------------------- images


def test_photo_without_exif_is_not_a_reason():
    result = analyse_image(plain_photo())
    assert flag(result.findings)[0] == "green"
    assert all(f.level is None for f in result.findings)
    assert "metadata" in {f.code for f in result.findings}


def test_camera_photo_is_green():
    data = photo_with_exif(
        original=dt.datetime(2026, 5, 1, 10, 0), modified=dt.datetime(2026, 5, 1, 10, 0)
    )
    result = analyse_image(data)
    assert flag(result.findings)[0] == "green"
    assert levels(result.findings, "time") == [None]


def test_exif_software_gimp_is_suspicious():
    result = analyse_image(photo_with_exif(software="GIMP 2.10.34"), kind="id_card")
    assert result.facts.software == "GIMP 2.10.34"
    assert levels(result.findings, "software") == ["suspicious"]


def test_modified_after_capture_is_suspicious():
    data = photo_with_exif(
        software="Specimen Camera Firmware 1.0",
        original=dt.datetime(2026, 5, 1, 10, 0),
        modified=dt.datetime(2026, 5, 3, 18, 0),
    )
    result = analyse_image(data)
    assert levels(result.findings, "time") == ["suspicious"]


def test_png_text_chunks_are_read_and_editors_flagged():
    plain = analyse_image(png_with_text({"Comment": "scanned at the branch"}))
    assert plain.facts.text_chunks == {"Comment": "scanned at the branch"}
    assert levels(plain.findings, "png_text") == [None]
    edited = analyse_image(png_with_text({"Software": "Adobe Photoshop 25.0"}))
    assert levels(edited.findings, "software") == ["suspicious"]


def test_huge_image_is_refused_from_its_header():
    result = analyse_image(huge_png())
    assert result.image is None
    assert [(f.code, f.level) for f in result.findings] == [("too_many_pixels", "suspicious")]
    assert "megapixels" in result.findings[0].detail


def test_unreadable_image_is_a_clear_reason():
    result = analyse_image(b"\xff\xd8\xff\xe0 this is not a jpeg")
    assert [(f.code, f.level) for f in result.findings] == [("unreadable", "suspicious")]


def _codes(result) -> dict[str, str | None]:
    return {finding.code: finding.level for finding in result.findings}


def test_html_hidden_after_a_picture_is_a_fraudulent_polyglot():
    result = analyse_image(plain_photo() + b"<html><script>alert(1)</script></html>" * 3)
    assert _codes(result)["polyglot"] == "fraudulent"


def test_png_with_a_second_file_appended_is_suspicious():
    data = png_with_text({"Comment": "x"}) + b"PK\x03\x04" + bytes(range(256)) * 4
    assert _codes(analyse_image(data))["trailing_data"] == "suspicious"


def test_a_little_padding_after_a_picture_is_not_a_reason():
    codes = _codes(analyse_image(plain_photo() + b"\x00" * 200 + b"\r\n"))
    assert "trailing_data" not in codes and "polyglot" not in codes

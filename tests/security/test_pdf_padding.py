"""Complete PDFs padded after their end are accepted; PDFs whose end is missing are refused.

Scanners and mail gateways pad PDFs with NUL bytes or junk after `%%EOF`, often more than a few
kilobytes; every reader ignores it. A file cut short in transfer has no end at all, or only the
end of an earlier revision (or of a linearized file's first-page section) followed by objects.
"""

from __future__ import annotations

import io
import random

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kyc import intake
from kyc.analysis import analyse
from kyc.analysis.pdf import analyse_pdf
from kyc.models import Document
from tests.analysis.crafted_pdfs import statement_pdf
from tests.analysis.specimens import PdfSpec, build_pdf, incremental_update
from tests.factories import make_customer

KIB = 1024


def garbage(size: int) -> bytes:
    return random.Random(size).randbytes(size)


PADDINGS = {
    "4-kib-of-nul": b"\x00" * (4 * KIB),
    "64-kib-of-nul": b"\x00" * (64 * KIB),
    "4-kib-of-garbage": garbage(4 * KIB),
    "64-kib-of-garbage": garbage(64 * KIB),
    "a-mail-gateway-footer-and-nul": b"\r\n-- scanned by MailGate 9 --\r\n" + b"\x00" * 5000,
    "nul-across-several-read-chunks": b"\x00"
    * (3 * 64 * KIB + 17),  # intake reads 64 KiB at a time
}


def upload(client, customer, name: str, content: bytes):
    url = reverse("kyc:document-upload", args=[customer.requests.get().pk])
    response = client.post(url, {"files": [SimpleUploadedFile(name, content)], "kind": "other"})
    assert response.status_code == 302
    return client.get(response["Location"])


def stored() -> list[str]:
    if not default_storage.exists("documents"):
        return []
    folders, _files = default_storage.listdir("documents")
    return [
        name for folder in folders for name in default_storage.listdir(f"documents/{folder}")[1]
    ]


@pytest.mark.parametrize("padding", sorted(PADDINGS))
def test_a_complete_pdf_padded_after_its_end_is_accepted(analyst_client, analyst, padding):
    content = statement_pdf(pages=3) + PADDINGS[padding]
    customer = make_customer(actor=analyst)

    page = upload(analyst_client, customer, "statement.pdf", content)

    assert page.status_code == 200
    assert "truncated" not in page.text
    document = Document.objects.get()
    assert document.content_type == intake.PDF
    assert document.size == len(content)
    viewer = analyst_client.get(reverse("kyc:document-viewer", args=[document.pk]))
    assert viewer.context["page_count"] == 3
    last = analyst_client.get(reverse("kyc:document-page", args=[document.pk, 3]))
    assert last.status_code == 200 and last["Content-Type"] == "image/png"


@pytest.mark.parametrize("padding", sorted(PADDINGS))
def test_the_padded_pdf_is_analysed_in_full(padding):
    analysis = analyse(statement_pdf(pages=3) + PADDINGS[padding], "application/pdf", kind="other")

    assert analysis.facts["pdf"]["readable"]
    assert analysis.facts["pdf"]["pages"] == 3
    assert analysis.facts["pdf"]["text_pages"] == 3


CUTS = [0.1, 0.5, 0.9]


@pytest.mark.parametrize("fraction", CUTS)
def test_a_pdf_cut_short_is_refused_as_truncated(analyst_client, analyst, fraction):
    content = statement_pdf(pages=3)
    customer = make_customer(actor=analyst)

    page = upload(
        analyst_client, customer, "statement.pdf", content[: int(len(content) * fraction)]
    )

    assert "The PDF is truncated (its end is missing)." in page.text
    assert not Document.objects.exists()
    assert stored() == []


def check(content: bytes) -> None:
    intake.check_content(lambda: io.BytesIO(content), intake.PDF)


def test_a_pdf_cut_just_before_its_end_marker_is_refused():
    content = statement_pdf(pages=3)

    with pytest.raises(intake.IntakeError, match="truncated"):
        check(content[: content.rindex(b"%%EOF")])


def test_a_cut_pdf_followed_by_padding_is_still_refused():
    content = statement_pdf(pages=3)

    with pytest.raises(intake.IntakeError, match="truncated"):
        check(content[: len(content) // 2] + b"\x00" * (8 * KIB))


def test_an_incremental_update_cut_short_is_refused():
    """The first revision ends with its own %%EOF; the update after it has no end."""
    original = build_pdf()
    updated = incremental_update(original)
    assert updated.count(b"%%EOF") == 2

    for end in (len(original) + 20, updated.rindex(b"startxref") + 12):
        with pytest.raises(intake.IntakeError, match="truncated"):
            check(updated[:end])
    check(updated)  # the whole update is fine


def test_a_linearized_pdf_cut_after_its_first_page_section_is_refused():
    """A linearized file has a %%EOF near its start, after the first-page cross-reference."""
    content = build_pdf(PdfSpec(linearized=True))
    first_end = content.index(b"%%EOF") + len(b"%%EOF\n")

    with pytest.raises(intake.IntakeError, match="truncated"):
        check(content[: first_end + (len(content) - first_end) // 2])
    check(content)


def test_nul_padding_is_not_reported_as_data_after_the_end():
    plain = analyse_pdf(statement_pdf() + b"\x00" * (64 * KIB))
    junk = analyse_pdf(statement_pdf() + garbage(4 * KIB))

    assert plain.facts.trailing_bytes == 0
    assert "trailing_data" not in {f.code for f in plain.findings}
    assert junk.facts.trailing_bytes > 0
    assert [f.level for f in junk.findings if f.code == "trailing_data"] == ["suspicious"]


def test_nul_padding_after_a_signed_range_is_not_a_modification():
    signed = build_pdf(PdfSpec(signed=True)) + b"\x00" * (4 * KIB)

    result = analyse_pdf(signed, kind="bank_statement")

    [signature] = result.facts.signatures
    assert signature.appended_bytes == 0
    assert [f.level for f in result.findings if f.code == "signature"] == [None]

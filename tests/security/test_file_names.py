"""A stored file's name never leaves the server as a disguise: downloads, archive members, vendor
uploads and pages get the name made safe (kyc.names.safe_file_name), with the extension of the
type sniffed from the bytes; exports and the audit trail keep exact values with invisible
characters escaped. The uploader's name stays in the database for the record.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from kyc.models import Document
from kyc.names import ascii_file_name, json_visible, recorded_file_name, safe_file_name
from kyc.services import audit_record
from kyc.services.jobs import document_input
from tests.builders import make_report
from tests.factories import make_customer, make_document, make_user, pdf_bytes, png_bytes

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "photo\u202egnp.exe" shows as "photoexe.png"


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(buffer, "JPEG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------ the function


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("invoice.html", "image/jpeg", "invoice.jpg"),
        (f"{RLO}gnp.exe", "image/png", "gnp.png"),
        (f"invoice{RLO}gnp.exe.png", "image/png", "invoicegnp.exe.png"),
        ("report.pdf.exe", "application/pdf", "report.pdf"),
        ("evil.exe. . ", "image/png", "evil.png"),  # Windows drops trailing dots and spaces
        ("scan", "image/tiff", "scan.tif"),
        ("photo.JPG", "image/jpeg", "photo.JPG"),
        ("Relevé 03.2026", "application/pdf", "Relevé 03.2026.pdf"),
        ("../../etc/passwd", "image/png", "passwd.png"),
        ("..\\..\\Windows\\evil.exe", "image/webp", "evil.webp"),
        ("x\r\nSet-Cookie: a=b.png", "image/png", "xSet-Cookie_ a=b.png"),
        ('a<b>c:"d"|e?f*.png', "image/png", "a_b_c__d__e_f_.png"),
        ("zero\u200bwidth\ufeff\u2066isolate\u2069.pdf", "application/pdf", "zerowidthisolate.pdf"),
        ("..", "image/png", "document.png"),
        ("", "application/pdf", "document.pdf"),
        ("CON.png", "image/png", "document-CON.png"),
        ("finovox-report-7.html", "application/octet-stream", "finovox-report-7.bin"),
        ("statement.txt", None, "statement.txt"),
    ],
)
def test_safe_file_names(name, content_type, expected):
    assert safe_file_name(name, content_type) == expected


def test_long_names_keep_their_extension():
    name = safe_file_name("a" * 400 + ".html", "image/png")

    assert len(name) <= 150 and name.endswith("a.png")


def test_archive_names_are_ascii_with_the_true_extension():
    assert ascii_file_name("Ünïcödé 名前.html", "image/jpeg") == "Unicode_.jpg"
    assert ascii_file_name("名前", "application/pdf") == "document.pdf"


def test_the_recorded_name_keeps_what_the_uploader_called_it_but_nothing_invisible():
    assert recorded_file_name("C:\\Users\\me\\invoice.html") == "invoice.html"
    assert recorded_file_name(f"photo{RLO}gnp.exe") == "photognp.exe"
    assert recorded_file_name("relevé\u00a0mars.pdf") == "relevé\u00a0mars.pdf"  # a visible space


def test_json_keeps_the_value_and_escapes_what_is_invisible():
    value = {"name": f"photo{RLO}gnp.exe", "note": "é\u2028\x7f\ud800"}

    written = json_visible(value)

    assert RLO not in written and "\u2028" not in written and "\x7f" not in written
    assert "é" in written
    assert json.loads(written) == value
    written.encode("utf-8")  # a lone surrogate no longer makes the text unencodable


# --------------------------------------------------------------------- where names leave


@pytest.fixture
def html_named_jpeg(analyst):
    return make_document(content=jpeg_bytes(), name="invoice.html", kind="other", actor=analyst)


def disguised(document: Document, name: str = f"photo{RLO}gnp.exe") -> Document:
    """A row whose name has invisible characters: stored before upload names were cleaned, or
    written by any other way in than the upload service."""
    Document.objects.filter(pk=document.pk).update(original_name=name)
    document.refresh_from_db()
    return document


def disposition(response) -> str:
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return response["Content-Disposition"]


def test_the_original_name_stays_in_the_database(html_named_jpeg):
    assert html_named_jpeg.original_name == "invoice.html"
    assert html_named_jpeg.content_type == "image/jpeg"
    assert html_named_jpeg.download_name == "invoice.jpg"


def test_a_download_is_named_after_its_content(analyst_client, html_named_jpeg):
    url = reverse("kyc:document-file", args=[html_named_jpeg.pk])

    inline = disposition(analyst_client.get(url))
    download = disposition(analyst_client.get(url, {"download": "1"}))

    assert inline == 'inline; filename="invoice.jpg"'
    assert download == 'attachment; filename="invoice.jpg"'


def test_a_download_never_carries_a_bidi_override(analyst_client, analyst):
    document = disguised(make_document(content=png_bytes(), name="photo.png", actor=analyst))

    header = disposition(
        analyst_client.get(reverse("kyc:document-file", args=[document.pk]), {"download": "1"})
    )

    assert header == 'attachment; filename="photognp.png"'


def test_pages_show_the_safe_name(analyst_client, analyst):
    document = disguised(make_document(content=png_bytes(), name="photo.png", actor=analyst))
    pages = [
        reverse("kyc:customer-detail", args=[document.customer_id]),
        reverse("kyc:document-viewer", args=[document.pk]),
    ]

    for url in pages:
        page = analyst_client.get(url).text
        assert RLO not in page, url
        assert "photognp.png" in page, url


def test_the_viewer_says_under_which_name_the_file_was_uploaded(analyst_client, html_named_jpeg):
    page = analyst_client.get(reverse("kyc:document-viewer", args=[html_named_jpeg.pk])).text

    assert "<h1>invoice.jpg</h1>" in page
    assert "uploaded as <bdi>invoice.html</bdi>" in page


def test_vendors_and_artemis_get_the_safe_name(html_named_jpeg):
    assert document_input(html_named_jpeg).original_name == "invoice.jpg"


def export(client, customer) -> zipfile.ZipFile:
    response = client.post(
        reverse("kyc:customer-export", args=[customer.pk]),
        {"purpose": "regulator", "reference": "ACPR 2026-118"},
    )
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_customer_file_export_names_files_after_their_content(client, analyst):
    customer = make_customer(actor=analyst)
    jpeg = make_document(
        customer=customer, content=jpeg_bytes(), name="invoice.html", kind="other", actor=analyst
    )
    png = disguised(make_document(customer=customer, content=png_bytes(), actor=analyst))
    client.force_login(make_user("rev", role="reviewer"))

    archive = export(client, customer)

    assert f"documents/{jpeg.pk}-invoice.jpg" in archive.namelist()
    assert f"documents/{png.pk}-photognp.png" in archive.namelist()
    assert not any(RLO in name or name.endswith((".html", ".exe")) for name in archive.namelist())
    raw = archive.read("customer-file.json").decode("utf-8")
    assert RLO not in raw and "\\u202e" in raw
    rows = {row["id"]: row for row in json.loads(raw)["documents"]}
    assert rows[png.pk]["original_name"] == f"photo{RLO}gnp.exe"  # the record, exact
    assert rows[jpeg.pk]["original_name"] == "invoice.html"


def test_the_audit_export_and_page_escape_invisible_characters(client, analyst):
    customer = make_customer(actor=analyst)
    audit_record(
        actor=analyst,
        action="document.add",
        obj=customer,
        customer=customer,
        after={"original_name": f"photo{RLO}gnp.exe"},
    )
    client.force_login(make_user("rev", role="reviewer"))

    response = client.get(reverse("kyc:audit-export"))
    text = b"".join(response.streaming_content).decode("utf-8")
    page = client.get(reverse("kyc:audit-log")).text

    assert RLO not in text and RLO not in page
    cells = [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]
    assert {"original_name": f"photo{RLO}gnp.exe"} in [
        json.loads(cell) for cell in cells if cell.startswith('{"original_name"')
    ]


def test_a_vendor_report_file_is_served_as_what_its_bytes_are(analyst_client, analyst):
    document = make_document(actor=analyst)
    fake = make_report(document=document)
    fake.attachment.save("finovox-report-1.pdf", ContentFile(b"<html><script>alert(1)</script>"))
    real = make_report(document=document)
    real.attachment.save("finovox-report-2.pdf", ContentFile(pdf_bytes()))

    fake_response = analyst_client.get(reverse("kyc:report-attachment", args=[fake.pk]))
    real_response = analyst_client.get(reverse("kyc:report-attachment", args=[real.pk]))

    assert fake_response["Content-Type"] == "application/octet-stream"
    assert disposition(fake_response) == 'attachment; filename="finovox-report-1.bin"'
    assert real_response["Content-Type"] == "application/pdf"
    assert disposition(real_response) == 'inline; filename="finovox-report-2.pdf"'

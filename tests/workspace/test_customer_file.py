"""Customer creation, the customer file, uploads, the document viewer and live status."""

from __future__ import annotations

import io
import json
import zlib

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from kyc.models import AuditEvent, Customer, Document, ProviderJob, Report
from tests.factories import (
    VALID_SIRENS,
    make_customer,
    make_document,
    make_user,
    pdf_bytes,
    png_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_provider(settings):
    from tests.fakes import FakeProvider

    settings.KYC_PROVIDERS = ["tests.fakes.FakeProvider"]
    FakeProvider.reset()


# ----------------------------------------------------------------------------------- creation


def test_create_a_company_by_siren(analyst_client):
    response = analyst_client.post(
        "/customers/new/", {"kind": "company", "legal_name": "Atelier Roux", "siren": "732 829 320"}
    )
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
    assert (customer.siren, customer.legal_name) == ("732829320", "Atelier Roux")
    assert "732 829 320" in analyst_client.get(response["Location"]).text


def test_a_bad_siren_checksum_is_refused_with_a_clear_message(analyst_client):
    response = analyst_client.post(
        "/customers/new/", {"kind": "company", "legal_name": "X", "siren": "732829321"}
    )
    assert response.status_code == 200
    assert "check digit is wrong" in response.text
    assert not Customer.objects.exists()


def test_a_second_file_for_the_same_siren_warns_and_links_the_first(analyst_client):
    first = make_customer(kind="company", legal_name="Roux SAS", siren=VALID_SIRENS[0])
    data = {"kind": "company", "legal_name": "Roux bis", "siren": VALID_SIRENS[0]}
    response = analyst_client.post("/customers/new/", data)
    assert "already exists" in response.text
    assert f"/customers/{first.pk}/" in response.text
    assert Customer.objects.count() == 1
    response = analyst_client.post("/customers/new/", {**data, "confirm_duplicate": "on"})
    assert response.status_code == 302
    assert Customer.objects.count() == 2


def test_siren_check_fragment_formats_and_flags_existing_files(analyst_client):
    make_customer(kind="company", legal_name="Roux SAS", siren=VALID_SIRENS[0])
    response = analyst_client.get("/customers/siren-check/", {"siren": VALID_SIRENS[0]})
    assert "Valid SIREN" in response.text and "Roux SAS" in response.text
    assert "check digit" in analyst_client.get("/customers/siren-check/?siren=732829321").text


def test_create_an_individual(analyst_client):
    response = analyst_client.post(
        "/customers/new/",
        {
            "kind": "individual",
            "last_name": "Moreau",
            "first_name": "Léa",
            "birth_date": "1990-02-03",
            "nationality": "fra",
        },
    )
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.nationality, str(customer.birth_date)) == ("FRA", "1990-02-03")


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("kind", ["company", "individual", "nonsense"])
def test_a_new_empty_form_shows_no_errors_and_marks_what_is_required(
    analyst_client, kind, language
):
    analyst_client.cookies["django_language"] = language
    response = analyst_client.get("/customers/new/", {"kind": kind})

    assert response.status_code == 200
    assert 'class="error"' not in response.text
    assert "invalid" not in response.text
    required = "Fields marked * are required." if language == "en" else "Les champs marqués"
    assert required in response.text
    assert '<span aria-hidden="true">*</span>' in response.text


def test_a_submitted_empty_form_shows_its_errors(analyst_client):
    response = analyst_client.post("/customers/new/", {"kind": "company"})

    assert response.status_code == 200
    assert response.text.count('class="error"') >= 2  # legal name and SIREN


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "individual", "last_name": ""},
        {"kind": "individual", "last_name": "X", "birth_date": "2999-01-01"},
        {"kind": "individual", "last_name": "X", "birth_date": "31/31/1990"},
        {"kind": "individual", "last_name": "X", "nationality": "F1"},
        {"kind": "company", "legal_name": "", "siren": VALID_SIRENS[0]},
        {"kind": "company", "legal_name": "X", "siren": "abc"},
        {"kind": "nonsense", "legal_name": "X", "siren": VALID_SIRENS[0]},
    ],
)
def test_bad_customer_input_is_refused_and_nothing_is_written(analyst_client, data):
    response = analyst_client.post("/customers/new/", data)
    assert response.status_code == 200
    assert not Customer.objects.exists()
    assert not AuditEvent.objects.exists()


# -------------------------------------------------------------------------------- customer file


def test_customer_file_shows_every_section(analyst_client):
    customer = make_customer(last_name="Garnier")
    document = make_document(customer=customer, name="passport.png")
    response = analyst_client.get(f"/customers/{customer.pk}/")
    text = response.text
    for expected in (
        "GARNIER",
        "Identity",
        "Documents and analyses",
        "passport.png",
        "Reports",
        "Activity",
        "customer.create",
        f"/documents/{document.pk}/",
        "Upload documents",
    ):
        assert expected in text


def test_customer_file_query_count_is_bounded(analyst_client, django_assert_max_num_queries):
    customer = make_customer()
    documents = [
        make_document(customer=customer, content=png_bytes(color=(i, 0, 0))) for i in range(50)
    ]
    request = customer.requests.get()
    Report.objects.bulk_create(
        Report(
            request=request,
            document=documents[i % 50],
            source="local_forensics",
            flag_color=["green", "orange", "red"][i % 3],
            reasons=[],
            raw={"i": i},
        )
        for i in range(200)
    )
    analyst_client.get("/")  # the session's idle clock is saved once a minute, not per page
    # 11, plus 1 for the OCR results panel (tests/ocr/test_views.py holds it to 1 with readings).
    with django_assert_max_num_queries(12):
        response = analyst_client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert "200 reports in all" in response.text


def test_an_unknown_or_invisible_customer_is_404(client):
    customer = make_customer()
    client.force_login(make_user(role=None))
    assert client.get(f"/customers/{customer.pk}/").status_code == 404
    client.force_login(make_user())
    assert client.get("/customers/999999/").status_code == 404


# ------------------------------------------------------------------------------------ uploads


def post_upload(client, customer, files, **fields):
    request = customer.requests.get()
    return client.post(
        f"/requests/{request.pk}/documents/",
        {"files": files, **fields},
        headers={"HX-Request": "true"},
    )


def named(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_several_files_at_once_each_with_its_kind(analyst_client):
    customer = make_customer()
    response = post_upload(
        analyst_client,
        customer,
        [named(png_bytes(), "id.png"), named(pdf_bytes(), "releve.pdf")],
        kind=["id_card", "bank_statement"],
        period=["", "month"],
        document_date=["", "2026-01-31"],
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="documents-panel"' in response.text
    assert json.loads(response["HX-Trigger"]) == {"documents-changed": {}}
    kinds = dict(Document.objects.values_list("original_name", "kind"))
    assert kinds == {"id.png": "id_card", "releve.pdf": "bank_statement"}
    statement = Document.objects.get(original_name="releve.pdf")
    assert (statement.period, str(statement.document_date)) == ("month", "2026-01-31")
    # One job per enabled provider that takes the kind, queued.
    assert ProviderJob.objects.filter(status="queued").count() == 2


def test_each_refused_file_gets_its_own_message_and_the_good_ones_are_kept(analyst_client):
    customer = make_customer()
    png = png_bytes()
    truncated_png = png[: len(png) // 2]
    html = b"<html><script>alert(1)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    big_bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(big_bomb, "PNG")
    response = post_upload(
        analyst_client,
        customer,
        [
            named(png, "good.png"),
            named(b"", "empty.pdf"),
            named(html, "passport.png"),
            named(svg, "logo.svg"),
            named(truncated_png, "cut.png"),
            named(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "truncated.pdf"),
            named(big_bomb.getvalue(), "bomb.png"),
            named(png_bytes(color="black"), "mismatch.jpg"),
        ],
        kind="passport",
    )
    text = response.text
    assert Document.objects.count() == 2  # good.png and mismatch.jpg (a real PNG, named .jpg)
    assert set(Document.objects.values_list("content_type", flat=True)) == {"image/png"}
    for message in (
        "The file is empty.",
        "judged from its content",
        "damaged or truncated",
        "The PDF is truncated",
        "too large to analyse safely",
    ):
        assert message in text
    assert "&lt;script&gt;" not in text or "alert(1)" not in text.replace("&lt;", "")


def test_an_image_whose_content_disagrees_with_its_signature_is_refused(analyst_client):
    customer = make_customer()
    fake_jpeg = b"\xff\xd8\xff" + b"not really a jpeg" * 10
    response = post_upload(analyst_client, customer, [named(fake_jpeg, "x.jpg")], kind="passport")
    assert "damaged or truncated" in response.text
    assert not Document.objects.exists()
    assert not default_storage.exists("documents") or default_storage.listdir("documents") == (
        [],
        [],
    )


def test_a_file_over_the_limit_is_refused(analyst_client, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    customer = make_customer()
    response = post_upload(
        analyst_client,
        customer,
        [named(png_bytes((200, 200), "red") + b"\0" * 2000, "x.png")],
        kind="passport",
    )
    assert "larger than" in response.text
    assert not Document.objects.exists()


def test_the_same_file_twice_is_flagged_with_a_link_to_the_first(analyst_client):
    customer = make_customer()
    content = png_bytes()
    post_upload(analyst_client, customer, [named(content, "a.png")], kind="passport")
    response = post_upload(analyst_client, customer, [named(content, "b.png")], kind="passport")
    first = Document.objects.get(original_name="a.png")
    second = Document.objects.get(original_name="b.png")
    assert second.duplicate_of == first
    assert f"/documents/{first.pk}/" in response.text


def test_bad_metadata_refuses_the_file(analyst_client):
    customer = make_customer()
    response = post_upload(
        analyst_client,
        customer,
        [named(pdf_bytes(), "x.pdf")],
        kind="bank_statement",
        period="year",
    )
    assert "month, a quarter or a semester" in response.text
    response = post_upload(analyst_client, customer, [named(pdf_bytes(), "x.pdf")], kind="nope")
    assert "valid choice" in response.text
    assert not Document.objects.exists()


def test_upload_without_javascript_redirects_with_messages(analyst_client):
    customer = make_customer()
    request = customer.requests.get()
    response = analyst_client.post(
        f"/requests/{request.pk}/documents/",
        {"files": [named(png_bytes(), "ok.png"), named(b"junk", "bad.png")], "kind": "passport"},
        follow=True,
    )
    assert "ok.png uploaded." in response.text
    assert "bad.png:" in response.text


def test_no_upload_to_a_customer_the_user_cannot_see(client):
    customer = make_customer()
    client.force_login(make_user(role=None))
    response = post_upload(client, customer, [named(png_bytes(), "x.png")], kind="passport")
    assert response.status_code == 403
    assert not Document.objects.exists()


# ------------------------------------------------------------------------------------- viewer


def test_viewer_shows_images_inline_and_audits_identity_views(analyst_client, analyst):
    document = make_document(kind="passport")
    response = analyst_client.get(f"/documents/{document.pk}/")
    assert response.status_code == 200
    assert f'src="/documents/{document.pk}/file/"' in response.text
    assert AuditEvent.objects.filter(
        action="document.view", object_id=str(document.pk), actor=analyst
    ).exists()


def test_pdfs_are_shown_page_by_page(analyst_client):
    document = make_document(content=pdf_bytes(), name="a.pdf", kind="bank_statement")
    response = analyst_client.get(f"/documents/{document.pk}/")
    assert f"/documents/{document.pk}/pages/1.png" in response.text
    page = analyst_client.get(f"/documents/{document.pk}/pages/1.png")
    assert page["Content-Type"] == "image/png"
    assert page.content.startswith(b"\x89PNG")
    assert analyst_client.get(f"/documents/{document.pk}/pages/2.png").status_code == 404


def test_the_file_view_serves_the_original_bytes_with_nosniff(analyst_client):
    content = png_bytes()
    document = make_document(content=content)
    response = analyst_client.get(f"/documents/{document.pk}/file/")
    assert b"".join(response.streaming_content) == content
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert "sandbox" in response["Content-Security-Policy"]
    download = analyst_client.get(f"/documents/{document.pk}/file/?download=1")
    assert download["Content-Disposition"].startswith("attachment")


def test_tiff_is_downloaded_not_rendered(analyst_client):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "TIFF")
    document = make_document(content=buffer.getvalue(), name="scan.tif")
    response = analyst_client.get(f"/documents/{document.pk}/file/")
    assert response["Content-Disposition"].startswith("attachment")


def test_a_user_who_may_not_see_the_customer_gets_nothing(client):
    document = make_document()
    client.force_login(make_user(role=None))
    for url in (
        f"/documents/{document.pk}/",
        f"/documents/{document.pk}/file/",
        f"/documents/{document.pk}/pages/1.png",
    ):
        assert client.get(url).status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="document.view").exists()


# -------------------------------------------------------------------------------- live status


def test_live_status_polls_while_jobs_are_pending_then_stops_with_286(analyst_client):
    from kyc.services import jobs

    customer = make_customer()
    document = make_document(customer=customer)
    url = f"/customers/{customer.pk}/status/"
    pending = analyst_client.get(url, headers={"HX-Request": "true"})
    assert pending.status_code == 200
    assert 'hx-trigger="every 2s"' in pending.text
    assert "<html" not in pending.text

    job = document.jobs.get()
    from tests.fakes import FakeProvider

    FakeProvider.pending_polls = 0
    jobs.job_submit(job.pk)
    jobs.job_poll(job.pk, force=True)
    done = analyst_client.get(url, headers={"HX-Request": "true"})
    assert done.status_code == 286
    assert 'hx-trigger="every 2s"' not in done.text
    # The report summary and the risk flag arrive out of band, without a reload.
    assert 'id="reports-summary"' in done.text and 'hx-swap-oob="true"' in done.text
    assert "flag-orange" in done.text


def test_the_customer_file_polls_one_endpoint_only_while_pending(analyst_client):
    customer = make_customer()
    assert "every 2s" not in analyst_client.get(f"/customers/{customer.pk}/").text
    make_document(customer=customer)
    page = analyst_client.get(f"/customers/{customer.pk}/").text
    assert page.count('hx-trigger="every 2s"') == 1


def test_a_failed_job_has_a_retry_button_that_requeues_it(analyst_client):
    from kyc.providers.base import ProviderError
    from kyc.services import jobs
    from tests.fakes import FakeProvider

    customer = make_customer()
    job = make_document(customer=customer).jobs.get()
    FakeProvider.script = [ProviderError("400 Bad Request: bad file", retryable=False)]
    jobs.job_submit(job.pk)
    page = analyst_client.get(f"/customers/{customer.pk}/").text
    assert "400 Bad Request: bad file" in page
    assert f"/jobs/{job.pk}/retry/" in page
    response = analyst_client.post(f"/jobs/{job.pk}/retry/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == "queued"


def test_zlib_is_not_a_pdf(analyst_client):
    # A compressed blob named .pdf is refused by content.
    customer = make_customer()
    blob = zlib.compress(b"A" * 100_000)
    response = post_upload(analyst_client, customer, [named(blob, "x.pdf")], kind="other")
    assert "judged from its content" in response.text

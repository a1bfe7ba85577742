"""The OCR page of an identity document: sources side by side with disagreements, MRZ flags,
the correction form (refusals write nothing), the htmx MRZ check, history, delivery state with
its Retry button and the Artemis link form; the customer file's panel; who may see what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from kyc.models import AuditEvent, Customer, Document, OcrCorrection
from kyc.services import ocr_correct, ocr_push
from kyc.services.ocr import FIELDS
from tests.factories import make_customer, make_document, make_user, png_bytes
from tests.fake_vendors import json_response, mfield
from tests.ocr.conftest import (
    ID_MRZ,
    ID_MRZ_FIXED,
    PASSPORT_MRZ,
    identity_document,
    local_mrz_reading,
    mindee_id_reading,
    mindee_passport_reading,
    store_reading,
)
from tests.ocr.fake_artemis import spring_error

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def page_url(result) -> str:
    return reverse("kyc:ocr-document", args=[result.document_id])


def form_data(result, **changes) -> dict[str, str]:
    """What the browser posts: every field as shown (the effective values), then the edits."""
    fields = dict(result.fields)
    data = {
        key: str(fields.get(key) or "")
        for key in (
            "last_name",
            "first_name",
            "gender",
            "date_of_birth",
            "nationality",
            "issuing_country",
            "document_type",
            "document_number",
            "personal_id_number",
            "issue_date",
            "expiry_date",
            "mrz_raw_string",
        )
    }
    data["ocr_result"] = str(result.pk)
    data["reason"] = "Checked against the scan."
    data.update(changes)
    return data


def row(html: str, key: str) -> str:
    match = re.search(rf'<tr class="[^"]*" id="ocr-row-{key}">(.*?)</tr>', html, re.S)
    assert match, f"no row {key}"
    return match.group(0)


# ----------------------------------------------------------------------------------- the page


def test_the_page_shows_every_source_side_by_side_with_disagreements(analyst_client, passport):
    response = analyst_client.get(page_url(passport))

    assert response.status_code == 200
    html = response.text
    assert "Mindee passport" in html and "Built-in MRZ reader" in html
    assert "Declared by the customer" in html
    # Mindee misread the number and the expiry date; the MRZ reader did not.
    number = row(html, "document_number")
    assert 'class="disagree"' in number
    assert '<td class="mismatch">19FR1Z345</td>' not in number  # Mindee's is the value used...
    assert '<td class="mismatch">19FR12345</td>' in number  # ...so the MRZ's stands out
    assert 'class="disagree"' in row(html, "expiry_date")
    # "Marie-Claire" (declared) and "MARIE CLAIRE" (MRZ) are the same name.
    assert 'class="disagree"' not in row(html, "first_name")
    assert 'class="disagree"' not in row(html, "last_name")
    # The MRZ flags of each source, each check digit named (and those of the form's MRZ).
    assert html.count("Check digit: birth date") == 3
    assert "every check passes" in html
    # The form starts from the values used today.
    assert 'name="document_number" value="19FR1Z345"' in html
    assert f'name="ocr_result" value="{passport.pk}"' in html


def test_each_reading_shows_its_confidence_and_a_low_one_stands_out(analyst_client, no_providers):
    document = identity_document()
    store_reading(document, local_mrz_reading(PASSPORT_MRZ))
    mindee = store_reading(
        document, mindee_passport_reading(surname=mfield("MARTIN", 0.41), gender=mfield("F", 0.99))
    )

    html = analyst_client.get(page_url(mindee)).text

    last_name = row(html, "last_name")
    assert '<span class="confidence muted" title="Confidence">41&nbsp;%</span>' in last_name
    assert "low-confidence" in last_name and ">low</span>" in last_name
    gender = row(html, "gender")
    assert '<span class="confidence muted" title="Confidence">99&nbsp;%</span>' in gender
    assert "low-confidence" not in gender and ">low</span>" not in gender
    # The MRZ reader gives no confidence: nothing is invented for it.
    assert html.count('class="confidence muted"') == len(
        [key for key in mindee.confidence if key in dict(FIELDS)]
    )


def test_another_reading_can_be_corrected_instead(analyst_client, passport):
    local = passport.document.ocr_results.get(source="local_mrz")
    response = analyst_client.get(page_url(passport) + f"?result={local.pk}")
    assert f'name="ocr_result" value="{local.pk}"' in response.text
    assert 'name="document_number" value="19FR12345"' in response.text
    assert analyst_client.get(page_url(passport) + "?result=999999").status_code == 404


def test_a_correction_is_saved_and_shown_in_the_history(analyst_client, analyst, passport):
    response = analyst_client.post(
        page_url(passport) + f"?result={passport.pk}",
        form_data(passport, document_number="19FR12345", expiry_date="2030-01-01"),
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#ocr-history")
    correction = OcrCorrection.objects.get()
    assert correction.author == analyst
    assert set(correction.changes) == {"document_number", "expiry_date"}
    page = analyst_client.get(response["Location"]).text
    assert "Correction saved." in page
    history = page[page.index('id="ocr-history"') :]
    assert "19FR1Z345" in history and "19FR12345" in history
    assert analyst.username in history
    assert "Checked against the scan." in history
    assert "Artemis not configured" in history  # no Artemis on this server
    assert 'name="document_number" value="19FR12345"' in page  # the form shows the new value


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"gender": "Q"}, "Select a valid choice"),
        ({"date_of_birth": "1985-13-40"}, "Not a real date"),
        ({"expiry_date": "2019-01-01"}, "after the issue date"),
        ({"nationality": "ZZZ"}, "ISO 3166 alpha-3"),
        ({"reason": ""}, "This field is required."),
        ({"mrz_raw_string": PASSPORT_MRZ[0]}, "2 lines of 44"),
        ({}, "Nothing to save"),
    ],
)
def test_a_refused_form_says_why_and_writes_nothing(analyst_client, passport, changes, message):
    response = analyst_client.post(page_url(passport), form_data(passport, **changes))

    assert response.status_code == 200
    assert message in response.text
    assert not OcrCorrection.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="ocr.").exists()


def test_a_document_without_any_reading_says_so(analyst_client, no_providers):
    document = identity_document()
    response = analyst_client.get(reverse("kyc:ocr-document", args=[document.pk]))
    assert response.status_code == 200
    assert "No OCR result for this document yet" in response.text
    assert (
        analyst_client.post(
            reverse("kyc:ocr-document", args=[document.pk]), {"reason": "x"}
        ).status_code
        == 404
    )


# ---------------------------------------------------------------------------------- htmx MRZ


def test_the_mrz_textarea_asks_for_checks_as_the_analyst_types(analyst_client, passport):
    html = analyst_client.get(page_url(passport)).text
    textarea = re.search(r"<textarea[^>]*name=\"mrz_raw_string\"[^>]*>", html).group(0)
    assert f'hx-get="{reverse("kyc:ocr-mrz-check")}"' in textarea
    assert 'hx-trigger="input changed delay:300ms"' in textarea
    assert 'hx-target="#mrz-check"' in textarea
    assert 'id="mrz-check"' in html


def test_the_mrz_check_fragment_lists_each_check(analyst_client):
    url = reverse("kyc:ocr-mrz-check")
    bad = "\n".join(ID_MRZ)
    response = analyst_client.get(url, {"mrz_raw_string": bad}, headers=HTMX)

    assert response.status_code == 200
    html = response.text
    assert "<html" not in html
    assert html.startswith('<div id="mrz-check"')
    checks = re.findall(
        r'<li class="check (check-\w+)">\s*<span class="check-state">(\w+)</span>\s*([^<]+)', html
    )
    by_label = {label.strip(): (css, state) for css, state, label in checks}
    assert by_label["Check digit: birth date"] == ("check-bad", "invalid")
    assert by_label["Check digit: composite (final)"] == ("check-bad", "invalid")
    assert by_label["Check digit: document number"] == ("check-ok", "valid")
    assert by_label["Issuing country code"] == ("check-ok", "valid")

    fixed = analyst_client.get(url, {"mrz_raw_string": "\n".join(ID_MRZ_FIXED)}, headers=HTMX)
    assert "every check passes" in fixed.text
    assert "check-bad" not in fixed.text
    assert "No MRZ." in analyst_client.get(url, headers=HTMX).text


# ------------------------------------------------------------------------------ delivery state


def test_a_failed_push_is_visible_with_its_reason_and_a_retry_button(
    analyst_client, passport, artemis, django_capture_on_commit_callbacks
):
    artemis.ocr_answers = [json_response(spring_error(503, "Down for maintenance"), 503)]
    correction = ocr_correct(
        ocr_result=passport, changes={"document_number": "19FR12345"}, reason="r", actor=make_user()
    )
    with django_capture_on_commit_callbacks(execute=True):
        ocr_push(correction.pk)

    html = analyst_client.get(page_url(passport)).text
    sync = html[html.index('id="ocr-sync"') :]
    assert "Failed" in sync
    assert "Down for maintenance" in sync
    assert 'id="sync-retry-at"' in sync  # an automatic retry is scheduled
    retry_url = reverse("kyc:ocr-correction-retry", args=[correction.pk])
    assert f'hx-post="{retry_url}"' in sync

    # The Retry button, with htmx: the fragment comes back pending, and polls.
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_client.post(retry_url, headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="ocr-sync"')
    assert 'hx-trigger="every 2s"' in response.text
    assert OcrCorrection.objects.get().sync_status == "pending"

    # The poll answers 286 (stop) once delivered.
    ocr_push(correction.pk)
    poll = analyst_client.get(
        page_url(passport) + f"?result={passport.pk}", headers={**HTMX, "HX-Target": "ocr-sync"}
    )
    assert poll.status_code == 286
    assert "Delivered" in poll.text
    assert "<html" not in poll.text


def test_a_400_from_artemis_is_shown_to_the_analyst(
    analyst_client, passport, artemis, django_capture_on_commit_callbacks
):
    artemis.ocr_answers = [
        json_response(spring_error(400, "result.document_type: unknown value"), 400)
    ]
    response = analyst_client.post(
        page_url(passport), form_data(passport, document_number="19FR12345")
    )
    assert response.status_code == 302
    ocr_push(OcrCorrection.objects.get().pk)

    html = analyst_client.get(response["Location"]).text
    error = re.search(r'<p class="error" id="sync-error">([^<]*)</p>', html).group(1)
    assert "result.document_type: unknown value" in error
    assert 'id="sync-retry-at"' not in html  # nothing automatic: the analyst decides
    assert "Retry" in html


def test_retry_without_htmx_redirects_with_a_message(analyst_client, passport, artemis):
    correction = ocr_correct(
        ocr_result=passport, changes={"document_number": "19FR12345"}, reason="r", actor=make_user()
    )
    response = analyst_client.post(reverse("kyc:ocr-correction-retry", args=[correction.pk]))
    assert response.status_code == 302
    assert "Only a failed or unsent correction" in analyst_client.get(response["Location"]).text


def test_a_missing_link_is_announced_and_can_be_created_in_artemis(
    analyst_client, artemis, no_providers, django_capture_on_commit_callbacks
):
    document = identity_document()
    result = store_reading(document, mindee_passport_reading())
    url = reverse("kyc:ocr-document", args=[document.pk])

    html = analyst_client.get(url).text
    assert 'id="artemis-link-missing"' in html
    assert 'id="artemis-link-form"' in html
    assert 'name="country_of_residence"' in html

    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_client.post(
            reverse("kyc:ocr-artemis-link", args=[document.pk]),
            {"country_of_residence": "FRA", "result": str(result.pk)},
        )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.artemis_document_id == "7001"
    html = analyst_client.get(response["Location"]).text
    assert "Linked to Artemis" in html
    assert 'id="artemis-link-missing"' not in html


def test_without_artemis_the_page_says_corrections_stay_here(analyst_client, passport):
    html = analyst_client.get(page_url(passport)).text
    assert "Artemis is not configured on this server" in html
    assert 'id="artemis-link-form"' not in html


# --------------------------------------------------------------------------- customer file


def test_the_customer_file_has_an_ocr_panel_linking_to_each_document(analyst_client, passport):
    customer = passport.document.customer
    html = analyst_client.get(reverse("kyc:customer-detail", args=[customer.pk])).text
    panel = html[html.index('id="ocr-panel"') :]
    assert f'href="{page_url(passport)}"' in panel
    assert "Built-in MRZ reader, Mindee passport" in panel
    assert "checks pass" in panel


def test_the_panel_follows_a_corrected_mrz(analyst_client, id_card):
    customer = id_card.document.customer
    url = reverse("kyc:customer-detail", args=[customer.pk])
    assert "checks fail" in analyst_client.get(url).text
    ocr_correct(
        ocr_result=id_card,
        changes={"mrz_raw_string": "\n".join(ID_MRZ_FIXED)},
        reason="Check digit misread.",
        actor=make_user(),
    )
    panel = analyst_client.get(url).text.split('id="ocr-panel"')[1]
    assert "checks pass" in panel
    assert "Artemis not configured" in panel


def test_pages_keep_a_bounded_number_of_queries(
    analyst_client, no_providers, django_assert_max_num_queries
):
    customer = make_customer()
    author = make_user()
    for i in range(8):
        document = make_document(customer=customer, content=png_bytes(color=(i, 1, 1)))
        mindee = store_reading(document, mindee_passport_reading(id_number=mfield(f"19FR1234{i}")))
        store_reading(document, local_mrz_reading(PASSPORT_MRZ))
        for n in range(3):
            ocr_correct(
                ocr_result=mindee,
                changes={"personal_id_number": f"A{i}{n}"},
                reason=f"round {n}",
                actor=author,
            )
    analyst_client.get("/")  # the session's idle clock is saved once a minute, not per page
    with django_assert_max_num_queries(13):  # as tests/workspace/test_customer_file.py
        response = analyst_client.get(reverse("kyc:customer-detail", args=[customer.pk]))
    assert response.text.count('id="ocr-summary-') == 8
    with django_assert_max_num_queries(8):
        response = analyst_client.get(reverse("kyc:ocr-document", args=[document.pk]))
    assert response.text.count('class="correction"') == 3


# ------------------------------------------------------------------------------------- access


def test_a_user_without_a_role_is_refused_everywhere(client, passport):
    client.force_login(make_user("visitor", role=None))
    correction = OcrCorrection.objects.create(
        ocr_result=passport, changes={}, reason="x", author=make_user()
    )
    assert client.get(page_url(passport)).status_code == 403
    assert client.post(page_url(passport), form_data(passport)).status_code == 403
    assert client.get(reverse("kyc:ocr-mrz-check")).status_code == 403
    retry = reverse("kyc:ocr-correction-retry", args=[correction.pk])
    assert client.post(retry).status_code == 403
    link = reverse("kyc:ocr-artemis-link", args=[passport.document_id])
    assert client.post(link, {"country_of_residence": "FRA"}).status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(client, passport):
    response = client.get(page_url(passport))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_documents_of_visible_customers_are_reachable(analyst_client, passport):
    Customer.objects.filter(pk=passport.document.customer_id).update(erased_at=timezone.now())
    correction = OcrCorrection.objects.create(
        ocr_result=passport, changes={}, reason="x", author=make_user(), sync_status="failed"
    )
    assert analyst_client.get(page_url(passport)).status_code == 404
    assert analyst_client.post(page_url(passport), form_data(passport)).status_code == 404
    retry = reverse("kyc:ocr-correction-retry", args=[correction.pk])
    assert analyst_client.post(retry).status_code == 404
    link = reverse("kyc:ocr-artemis-link", args=[passport.document_id])
    assert analyst_client.post(link).status_code == 404
    assert not OcrCorrection.objects.exclude(pk=correction.pk).exists()


def test_a_document_that_is_not_an_identity_document_has_no_ocr_page(analyst_client, no_providers):
    statement = make_document(kind=Document.Kind.BANK_STATEMENT)
    assert analyst_client.get(reverse("kyc:ocr-document", args=[statement.pk])).status_code == 404


def test_an_id_card_reading_is_shown_with_its_failing_mrz(analyst_client, no_providers):
    document = identity_document(Document.Kind.ID_CARD)
    store_reading(document, mindee_id_reading())
    html = analyst_client.get(reverse("kyc:ocr-document", args=[document.pk])).text
    assert "some checks fail" in html
    assert "Mindee international ID" in html


def test_a_correction_pending_for_too_long_can_be_sent_again(
    analyst_client, passport, artemis, django_capture_on_commit_callbacks
):
    correction = ocr_correct(
        ocr_result=passport, changes={"document_number": "19FR12345"}, reason="r", actor=make_user()
    )
    html = analyst_client.get(page_url(passport)).text
    assert 'hx-trigger="every 2s"' in html  # on its way: the panel polls, no button
    assert "ocr-correction-retry" not in html and "/retry/" not in html

    # Its task was lost (a worker killed mid-push): after a while the button comes back.
    with freeze_time(timezone.now() + dt.timedelta(minutes=16)):
        html = analyst_client.get(page_url(passport)).text
        assert 'hx-trigger="every 2s"' not in html
        assert "its task was probably lost" in html
        retry = reverse("kyc:ocr-correction-retry", args=[correction.pk])
        with django_capture_on_commit_callbacks(execute=True):
            assert analyst_client.post(retry).status_code == 302
    # Sent again just now: on its way, not stale.
    html = analyst_client.get(page_url(passport)).text
    assert 'hx-trigger="every 2s"' in html
    ocr_push(correction.pk)
    assert OcrCorrection.objects.get().sync_status == "synced"

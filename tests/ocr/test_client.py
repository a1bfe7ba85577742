"""The Artemis client against the fake server: the OAuth2 token (cache, expiry, refresh once on a
401), the headers of every call, the DocumentDto and its two date shapes, creating customers and
appending documents, and how failures are classified."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from freezegun import freeze_time
from werkzeug import Response

from kyc.providers import artemis as client
from kyc.providers.base import ProviderError
from tests.fake_vendors import json_response, slow
from tests.ocr.fake_artemis import CLIENT_ID, CLIENT_SECRET, DOMAIN_ID, java_date, spring_error

BODY = {"error": None, "result": {}, "task_id": "t", "description": "d", "status_task": "SUCCESS"}


def test_is_configured_needs_the_client_credentials_and_the_domain(settings):
    settings.ARTEMIS_CLIENT_ID = "id"
    settings.ARTEMIS_CLIENT_SECRET = "secret"
    settings.ARTEMIS_DOMAIN_ID = ""
    assert not client.is_configured()
    settings.ARTEMIS_DOMAIN_ID = "42"
    assert client.is_configured()
    settings.ARTEMIS_CLIENT_SECRET = ""
    assert not client.is_configured()


def test_the_token_is_fetched_with_client_credentials_then_reused(artemis):
    first = artemis_put()
    second = artemis_put()

    assert (first.id, second.id) == (7001, 7001)
    (token_call,) = artemis.token_requests
    assert token_call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token_call.body == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    for call in artemis.ocr_puts:
        assert call.headers["authorization"] == "Bearer tok-1"
        assert call.headers["x-domain-id"] == DOMAIN_ID
        assert call.headers["content-type"] == "application/json"
        assert call.body == BODY


def artemis_put(customer="9001", document="7001") -> client.DocumentDto:
    return client.put_ocr_result(customer, document, BODY)


def test_the_token_is_renewed_at_80_percent_of_its_lifetime(artemis):
    artemis.expires_in = 1000
    with freeze_time("2025-03-03 09:00:00") as clock:
        artemis_put()
        clock.tick(dt.timedelta(seconds=799))
        artemis_put()
        assert [c.bearer for c in artemis.ocr_puts] == ["tok-1", "tok-1"]
        clock.tick(dt.timedelta(seconds=2))  # 801 s: past 80% of 1000 s, before expiry
        artemis_put()
    assert len(artemis.token_requests) == 2
    assert [c.bearer for c in artemis.ocr_puts] == ["tok-1", "tok-1", "tok-2"]


def test_a_token_without_a_usable_lifetime_is_kept_for_80_percent_of_an_hour(artemis):
    artemis.expires_in = "soon"
    with freeze_time("2025-03-03 09:00:00") as clock:
        artemis_put()
        clock.tick(dt.timedelta(minutes=47))
        artemis_put()
        clock.tick(dt.timedelta(minutes=2))
        artemis_put()
    assert [c.bearer for c in artemis.ocr_puts] == ["tok-1", "tok-1", "tok-2"]


def test_a_401_fetches_a_new_token_once_and_repeats_the_call(artemis):
    artemis_put()
    artemis.revoked.add("tok-1")  # revoked on Artemis' side before it expired

    document = artemis_put()

    assert document.id == 7001
    assert [c.bearer for c in artemis.ocr_puts] == ["tok-1", "tok-1", "tok-2"]
    assert len(artemis.token_requests) == 2


def test_a_second_401_is_a_configuration_error_and_is_not_repeated_again(artemis):
    artemis.ocr_answers = [json_response(spring_error(401, "Token revoked"), 401)] * 2

    with pytest.raises(ProviderError) as caught:
        artemis_put()

    assert caught.value.configuration and not caught.value.retryable
    assert caught.value.status_code == 401
    assert len(artemis.ocr_puts) == 2
    assert len(artemis.token_requests) == 2


def test_refused_client_credentials_are_a_configuration_error(artemis, settings):
    settings.ARTEMIS_CLIENT_SECRET = "wrong"

    with pytest.raises(ProviderError) as caught:
        artemis_put()

    assert caught.value.configuration and not caught.value.retryable
    assert not artemis.ocr_puts


def test_a_domain_id_that_is_not_a_number_is_refused_before_any_call(artemis, settings):
    settings.ARTEMIS_DOMAIN_ID = "acme"
    with pytest.raises(ProviderError) as caught:
        artemis_put()
    assert caught.value.configuration
    assert not artemis.ocr_puts


def test_an_id_that_is_not_a_number_never_builds_a_url(artemis):
    with pytest.raises(ProviderError):
        client.put_ocr_result("9001/../../admin", "7001", BODY)
    assert not artemis.ocr_puts


@pytest.mark.parametrize(
    ("response", "retryable", "status"),
    [
        (json_response(spring_error(503, "Maintenance"), 503), True, 503),
        (json_response(spring_error(500, ""), 500), True, 500),
        (json_response({"message": "Too many requests"}, 429, {"Retry-After": "30"}), True, 429),
        (json_response(spring_error(400, "gender must be M, F or X"), 400), False, 400),
        (json_response(spring_error(403, "Unknown domain"), 403), False, 403),
        (Response("<html>Bad gateway</html>", status=200), True, 200),
    ],
)
def test_failures_say_whether_a_retry_can_help(artemis, response, retryable, status):
    artemis.ocr_answers = [response]
    with pytest.raises(ProviderError) as caught:
        artemis_put()
    assert (caught.value.retryable, caught.value.status_code) == (retryable, status)


def test_a_400_keeps_artemis_own_message(artemis):
    artemis.ocr_answers = [json_response(spring_error(400, "gender must be M, F or X"), 400)]
    with pytest.raises(ProviderError) as caught:
        artemis_put()
    assert "gender must be M, F or X" in str(caught.value)
    assert "400" in str(caught.value)


def test_a_429_carries_the_retry_after_hint(artemis):
    artemis.ocr_answers = [json_response({"message": "slow down"}, 429, {"Retry-After": "30"})]
    with pytest.raises(ProviderError) as caught:
        artemis_put()
    assert caught.value.retry_after == 30


def test_a_timeout_is_retryable(artemis, settings):
    settings.ARTEMIS_TIMEOUT = 0.2
    artemis.ocr_answers = [slow(1.0, json_response({}))]
    with pytest.raises(ProviderError) as caught:
        artemis_put()
    assert caught.value.retryable
    assert "0.2 s" in str(caught.value)


# ------------------------------------------------------------------------------------ parsing


def test_the_document_dto_is_parsed_with_iso_dates(artemis):
    document = artemis_put("9001", "7001")

    assert document == client.DocumentDto(
        id=7001,
        customer_id=9001,
        type="PASSPORT",
        number="19FR12345",
        authenticity="ORIGINAL",
        issue_date=dt.date(2020, 1, 2),
        expiry_date=dt.date(2030, 1, 1),
        show_expiry_notification=True,
        front_name="front.png",
        back_name="",
        docver_check_status="PERFORMED",
        created_at=dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC),
        updated_at=dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC),
        created_by=client.UserInfo(id=7, email="api@kyc.example", full_name="API Client"),
        updated_by=client.UserInfo(id=7, email="api@kyc.example", full_name="API Client"),
    )
    assert document.raw["frontName"] == "front.png"


def test_java_util_date_objects_are_parsed_preferring_epoch_milliseconds():
    created = java_date("2025-03-03T09:30:15+00:00")
    # The broken-down fields are the server's local time (UTC+8): 17:30:15 on the 3rd.
    assert (created["hours"], created["date"], created["timezoneOffset"]) == (17, 3, -480)
    assert client.parse_timestamp(created) == dt.datetime(2025, 3, 3, 9, 30, 15, tzinfo=dt.UTC)
    # Without `time`, the fields and the offset give the same instant.
    del created["time"]
    assert client.parse_timestamp(created) == dt.datetime(2025, 3, 3, 9, 30, 15, tzinfo=dt.UTC)
    # A date stored at midnight in Singapore stays on its day.
    midnight = java_date("2025-12-24T16:00:00+00:00")
    assert client.parse_date(midnight) == dt.date(2025, 12, 25)
    assert client.parse_date("2025-12-25") == dt.date(2025, 12, 25)
    assert client.parse_date("2025-12-25T00:30:00Z") == dt.date(2025, 12, 25)
    assert client.parse_timestamp(1741000000000) == dt.datetime(
        2025, 3, 3, 11, 6, 40, tzinfo=dt.UTC
    )
    for garbage in (None, "", "yesterday", {"year": "x"}, True, []):
        assert client.parse_timestamp(garbage) is None
        assert client.parse_date(garbage) is None


def test_a_document_with_java_dates_is_parsed_too(artemis):
    artemis.ocr_answers = [
        json_response(
            {
                "id": "7001",
                "customerId": 9001,
                "issueDate": java_date("2020-01-01T16:00:00+00:00"),
                "expiryDate": java_date("2029-12-31T16:00:00+00:00"),
                "createdAt": java_date("2025-03-01T10:00:00+00:00"),
                "updatedAt": java_date("2025-03-03T09:00:00+00:00"),
                "docverCheckStatus": "SOMETHING_NEW",
            }
        )
    ]
    document = artemis_put()
    assert (document.id, document.issue_date, document.expiry_date) == (
        7001,
        dt.date(2020, 1, 2),
        dt.date(2030, 1, 1),
    )
    assert document.updated_at == dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
    assert document.docver_check_status == "SOMETHING_NEW"
    assert document.created_by is None


# ------------------------------------------------------------------------- customers, documents


def test_create_customer_posts_the_individual_and_returns_its_id(artemis):
    payload = client.individual_payload(
        reference="kyc-customer-5",
        name="MARIE CLAIRE MARTIN",
        gender="F",
        country_of_residence="FRA",
        nationality="FRA",
    )
    customer = client.create_customer(payload)

    assert customer.id == 9001
    assert customer.created_at == dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
    (call,) = artemis.calls_to("POST", "/api/customer")
    assert call.headers["x-domain-id"] == DOMAIN_ID
    assert call.body == {
        "type": "INDIVIDUAL",
        "profileReferenceId": "kyc-customer-5",
        "referenceId": "kyc-customer-5",
        "particular": {
            "name": "MARIE CLAIRE MARTIN",
            "gender": "FEMALE",
            "countryOfResidence": "FRA",
            "nationality": ["FRA"],
        },
    }


def test_append_document_sends_the_file_and_the_document_part(artemis):
    front = client.Upload("passport.png", b"\x89PNG original bytes", "image/png")
    document = client.append_document(
        "9001",
        front=front,
        document=client.document_payload(
            kind="passport", number="19FR12345", issue_date="2020-01-02", expiry_date=None
        ),
    )

    assert (document.id, document.customer_id, document.type) == (7001, 9001, "PASSPORT")
    (call,) = artemis.calls_to("POST", "/document")
    assert call.path == "/api/customer/9001/document"
    assert call.files["front"] == ("passport.png", "image/png", b"\x89PNG original bytes")
    _name, content_type, part = call.files["document"]
    assert content_type == "application/json"
    assert json.loads(part) == {
        "type": "PASSPORT",
        "number": "19FR12345",
        "issueDate": "2020-01-02",
    }


def test_a_document_upload_answered_without_an_id_is_not_retried(artemis):
    artemis.document_answers = [Response("Document uploaded successfully", status=200)]
    with pytest.raises(ProviderError) as caught:
        client.append_document(
            "9001",
            front=client.Upload("id.png", b"png", "image/png"),
            document={"type": "NATIONAL_ID"},
        )
    assert not caught.value.retryable
    assert "administration" in str(caught.value)

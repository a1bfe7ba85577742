"""Fixtures of the OCR correction tests: a fake Artemis and identity documents read by the real
OCR mappings (Mindee's and the built-in MRZ reader's), stored the way the job engine stores them."""

from __future__ import annotations

import pytest

from kyc.analysis.identity import artemis_fields
from kyc.analysis.mrz import parse_mrz
from kyc.models import Document, OcrResult
from kyc.providers import artemis as artemis_client
from kyc.providers.base import OcrData
from kyc.providers.mindee import INTERNATIONAL_ID, PASSPORT, outcome_from_document
from kyc.services import jobs
from tests.builders import make_job
from tests.factories import make_customer, make_document, make_user, png_bytes
from tests.fake_vendors import (
    PASSPORT_MRZ1,
    PASSPORT_MRZ2,
    base_url,
    id_document_response,
    id_prediction,
    mfield,
    passport_response,
    serving,
    start_server,
)
from tests.ocr.fake_artemis import AUTH_PREFIX, CLIENT_ID, CLIENT_SECRET, DOMAIN_ID, FakeArtemis

# The ID card of tests.fake_vendors: line 2 carries a misread birth-date check digit ("1" for
# "4"), which also breaks the composite check. ID_MRZ_FIXED is the card as printed.
ID_MRZ = (
    "IDFRAX4RTBPFW46<<<<<<<<<<<<<<<",
    "8504121F3103142FRA<<<<<<<<<<<6",
    "MARTIN<<MARIE<CLAIRE<<<<<<<<<<",
)
ID_MRZ_FIXED = (ID_MRZ[0], "8504124F3103142FRA<<<<<<<<<<<0", ID_MRZ[2])
PASSPORT_MRZ = (PASSPORT_MRZ1, PASSPORT_MRZ2)


@pytest.fixture(scope="session")
def artemis_server():
    server = start_server()
    yield server
    server.stop()


def configure_artemis(settings, server) -> None:
    settings.ARTEMIS_BASE_URL = base_url(server)
    settings.ARTEMIS_AUTH_URL = base_url(server) + AUTH_PREFIX
    settings.ARTEMIS_CLIENT_ID = CLIENT_ID
    settings.ARTEMIS_CLIENT_SECRET = CLIENT_SECRET
    settings.ARTEMIS_DOMAIN_ID = DOMAIN_ID
    settings.ARTEMIS_TIMEOUT = 2.0
    settings.JOB_RETRY_BASE_SECONDS = 10
    settings.JOB_RETRY_MAX_SECONDS = 600


@pytest.fixture
def artemis(artemis_server, settings):
    """Artemis configured on this server, pointing at a fresh fake; no cached token."""
    configure_artemis(settings, artemis_server)
    artemis_client.forget_tokens()
    with serving(artemis_server) as served:
        yield FakeArtemis(served)
    artemis_client.forget_tokens()


@pytest.fixture
def no_providers(settings):
    # Uploads in these tests must not create jobs of the real providers (and their tasks).
    settings.KYC_PROVIDERS = []


def store_reading(document: Document, data: OcrData) -> OcrResult:
    """Store an OCR reading exactly as the job engine does when a job completes."""
    job = make_job(document=document, provider="fake", operation="ocr", status="completed")
    jobs._store_ocr(job, data, [])
    return OcrResult.objects.get(document=document, source=data.source)


def mindee_passport_reading(**prediction) -> OcrData:
    return outcome_from_document(PASSPORT, passport_response(**prediction)).ocr[0]


def mindee_id_reading(**prediction) -> OcrData:
    response = id_document_response("id-doc-1", "job-1")
    response["document"]["inference"]["prediction"] = id_prediction(**prediction)
    return outcome_from_document(INTERNATIONAL_ID, response).ocr[0]


def local_mrz_reading(lines) -> OcrData:
    return OcrData(source="local_mrz", fields=artemis_fields(parse_mrz(list(lines)), None))


def identity_document(kind=Document.Kind.PASSPORT, *, customer=None, **links) -> Document:
    # No role group: transactional tests (the real worker's) may run after a flush removed them.
    actor = make_user(role=None)
    customer = customer or make_customer(actor=actor, first_name="Marie-Claire", last_name="Martin")
    document = make_document(customer=customer, kind=kind, content=png_bytes(), actor=actor)
    if links.get("artemis_customer_id"):
        customer.artemis_customer_id = links["artemis_customer_id"]
        customer.save(update_fields=["artemis_customer_id"])
    if links.get("artemis_document_id"):
        document.artemis_document_id = links["artemis_document_id"]
        document.save(update_fields=["artemis_document_id"])
    return document


@pytest.fixture
def passport(no_providers) -> OcrResult:
    """A linked passport read by Mindee with two misreads (document number, expiry date) and by
    the built-in MRZ reader."""
    document = identity_document(artemis_customer_id="9001", artemis_document_id="7001")
    store_reading(document, local_mrz_reading(PASSPORT_MRZ))
    return store_reading(
        document,
        mindee_passport_reading(id_number=mfield("19FR1Z345"), expiry_date=mfield("2030-01-07")),
    )


@pytest.fixture
def id_card(no_providers) -> OcrResult:
    """A linked ID card read by Mindee, whose MRZ line 2 has a misread check digit."""
    document = identity_document(
        Document.Kind.ID_CARD, artemis_customer_id="9002", artemis_document_id="7002"
    )
    return store_reading(document, mindee_id_reading())

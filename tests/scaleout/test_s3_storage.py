"""Documents on an S3-compatible bucket (django-storages), against moto's S3 server on 127.0.0.1.

Uploads go through the real document service, reads through the permission-checked views; the
bucket is configured by kyc/settings.py from the S3_* variables, as in production.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.urls import reverse

from kyc.models import Document
from tests.analysis.specimens import build_pdf
from tests.factories import make_customer, make_document, png_bytes
from tests.scaleout.conftest import S3_SECRET, settings_from_env, use_s3

pytestmark = pytest.mark.django_db

PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def stored_key(document: Document) -> str:
    return f"kyc/{document.file.name}"


def test_an_upload_is_stored_in_the_bucket_and_read_back_through_the_file_view(
    s3_storage, analyst_client, analyst, tmp_path
):
    content = png_bytes((64, 48), "navy")
    customer = make_customer(actor=analyst)

    document = make_document(customer=customer, content=content, actor=analyst)

    assert s3_storage.keys() == [stored_key(document)]
    stored = s3_storage.client.get_object(Bucket=s3_storage.name, Key=stored_key(document))
    assert stored["Body"].read() == content
    assert not (tmp_path / "private").exists()  # nothing went to the local disk

    response = analyst_client.get(reverse("kyc:document-file", args=[document.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert "Location" not in response


def test_objects_are_encrypted_at_rest_when_configured(s3_storage, analyst):
    document = make_document(customer=make_customer(actor=analyst), actor=analyst)

    head = s3_storage.client.head_object(Bucket=s3_storage.name, Key=stored_key(document))

    assert head["ServerSideEncryption"] == "AES256"


def test_kms_encryption_names_the_configured_key(settings, monkeypatch, s3_bucket, analyst):
    key_id = "arn:aws:kms:eu-west-3:111122223333:key/0a1b2c3d-kyc-test"
    use_s3(settings, monkeypatch, s3_bucket, S3_SSE="aws:kms", S3_SSE_KMS_KEY_ID=key_id)

    document = make_document(customer=make_customer(actor=analyst), actor=analyst)

    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=document.file.name)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_id


def test_objects_are_private(s3_storage, analyst):
    document = make_document(customer=make_customer(actor=analyst), actor=analyst)

    acl = s3_storage.client.get_object_acl(Bucket=s3_storage.name, Key=stored_key(document))

    grantees = [grant["Grantee"].get("URI") for grant in acl["Grants"]]
    assert not set(grantees) & set(PUBLIC_GRANTEES)
    assert [grant["Permission"] for grant in acl["Grants"]] == ["FULL_CONTROL"]


def test_pages_never_show_the_bucket_or_a_signed_url(s3_storage, analyst_client, analyst):
    customer = make_customer(actor=analyst)
    image = make_document(customer=customer, content=png_bytes(), actor=analyst)
    pdf = make_document(
        customer=customer,
        content=build_pdf(),
        name="kbis.pdf",
        kind=Document.Kind.COMPANY_REGISTRATION,
        actor=analyst,
    )

    pages = [
        analyst_client.get(reverse("kyc:document-viewer", args=[image.pk])),
        analyst_client.get(reverse("kyc:document-viewer", args=[pdf.pk])),
        analyst_client.get(reverse("kyc:customer-detail", args=[customer.pk])),
    ]

    for response in pages:
        assert response.status_code == 200
        html = response.text
        for leak in (s3_storage.host, s3_storage.name, "X-Amz-", "Signature=", "AWSAccessKeyId"):
            assert leak not in html
    # The image is shown from the permission-checked view.
    assert reverse("kyc:document-file", args=[image.pk]) in pages[0].text
    # The PDF viewer counted the pages by reading the object from the bucket.
    assert reverse("kyc:document-page", args=[pdf.pk, 1]) in pages[1].text
    page = analyst_client.get(reverse("kyc:document-page", args=[pdf.pk, 1]))
    assert page.status_code == 200
    assert page.content.startswith(b"\x89PNG")


def test_someone_without_access_gets_nothing_from_the_bucket(s3_storage, client, analyst):
    from tests.factories import make_user

    document = make_document(customer=make_customer(actor=analyst), actor=analyst)
    client.force_login(make_user(role=None))

    response = client.get(reverse("kyc:document-file", args=[document.pk]))

    assert response.status_code == 404


def test_a_failed_upload_leaves_no_object_behind(s3_storage, analyst, monkeypatch):
    from django.db import IntegrityError

    from kyc.services import documents

    def broken_jobs(**kwargs):
        raise IntegrityError("simulated failure after the file was stored")

    monkeypatch.setattr(documents, "jobs_create_for_document", broken_jobs)
    customer = make_customer(actor=analyst)

    with pytest.raises(IntegrityError):
        make_document(customer=customer, actor=analyst)

    assert s3_storage.keys() == []


def test_the_storage_never_overwrites_an_object(s3_storage):
    from django.core.files.base import ContentFile

    first = default_storage.save("reports/2026/06/report.pdf", ContentFile(b"first"))
    second = default_storage.save("reports/2026/06/report.pdf", ContentFile(b"second"))

    assert first != second
    assert default_storage.open(first).read() == b"first"


# -------------------------------------------------------------------------------------- settings


def test_without_a_bucket_documents_stay_on_the_local_disk(monkeypatch):
    storage = settings_from_env(monkeypatch)["STORAGES"]["default"]

    assert storage["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_settings_from_the_environment(monkeypatch):
    namespace = settings_from_env(
        monkeypatch,
        AWS_STORAGE_BUCKET_NAME="kyc-documents",
        S3_ENDPOINT_URL="https://s3.example.net",
        S3_REGION="eu-west-3",
        S3_ACCESS_KEY_ID="AKIAEXAMPLE",
        S3_SECRET_ACCESS_KEY=S3_SECRET,
        S3_SSE="AES256",
        S3_PREFIX="/prod/",
        S3_ADDRESSING_STYLE="path",
    )

    storage = namespace["STORAGES"]["default"]
    options = storage["OPTIONS"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["bucket_name"] == "kyc-documents"  # the django-storages name works too
    assert options["location"] == "prod"
    assert options["endpoint_url"] == "https://s3.example.net"
    assert options["default_acl"] == "private"
    assert options["object_parameters"] == {"ServerSideEncryption": "AES256"}
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] <= 300
    assert options["custom_domain"] is None
    assert options["file_overwrite"] is False
    assert options["client_config"].s3 == {"addressing_style": "path"}
    assert options["client_config"].connect_timeout > 0


def test_acl_none_sends_no_acl_for_buckets_without_acls(monkeypatch):
    options = settings_from_env(monkeypatch, S3_BUCKET="kyc", S3_ACL="none")["STORAGES"]["default"]

    assert options["OPTIONS"]["default_acl"] is None


def test_empty_variables_mean_the_defaults_as_in_env_example(monkeypatch):
    namespace = settings_from_env(
        monkeypatch, S3_BUCKET="kyc", S3_ACL="", STATIC_ROOT="", PRIVATE_MEDIA_ROOT=""
    )

    assert namespace["STORAGES"]["default"]["OPTIONS"]["default_acl"] == "private"
    assert namespace["STATIC_ROOT"].name == "staticfiles"
    assert namespace["PRIVATE_MEDIA_ROOT"].name == "private"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"S3_SSE": "aes256"}, "S3_SSE must be AES256, aws:kms or empty"),
        ({"S3_SSE": "AES256", "S3_SSE_KMS_KEY_ID": "alias/kyc"}, "S3_SSE_KMS_KEY_ID needs"),
    ],
)
def test_a_wrong_encryption_setting_stops_the_start(monkeypatch, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        settings_from_env(monkeypatch, S3_BUCKET="kyc", **env)

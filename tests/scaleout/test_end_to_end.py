"""The scale-out deployment end to end, once: PostgreSQL + RQ workers on Redis + an S3 bucket.

An analyst logs in, creates a company, uploads a passport picture and a PDF through the upload
view; two real `rqworker --with-scheduler` processes run the built-in engine's jobs, reading the
files from the bucket; the reports are there and the file view returns the original bytes from
the bucket. .ci/run runs this module alone, on a fresh PostgreSQL database:

    KYC_SCALEOUT_E2E=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_scaleout \
        .venv/bin/pytest tests/scaleout/test_end_to_end.py --create-db

Elsewhere (make test, SQLite) it is skipped.
"""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from kyc.models import Customer, Document, OcrResult, ProviderJob, Report
from tests.analysis.specimens import PdfSpec, build_pdf, specimens
from tests.factories import VALID_SIRENS, make_user
from tests.scaleout.conftest import use_s3, wait_for, wait_until_listening

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(
        os.environ.get("KYC_SCALEOUT_E2E") != "1",
        reason="scale-out end to end: KYC_SCALEOUT_E2E=1 with PostgreSQL (.ci/run does it)",
    ),
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "scale-out-e2e-password-2026"  # a test user's


def test_analyst_flow_on_postgresql_rq_workers_and_s3(
    client, settings, monkeypatch, rq_tasks, rqworkers, s3_bucket, tmp_path
):
    assert connection.vendor == "postgresql", "KYC_SCALEOUT_E2E=1 needs DATABASE_URL=postgres://"
    s3_env = s3_bucket.env(S3_SSE="AES256")
    use_s3(settings, monkeypatch, s3_bucket, S3_SSE="AES256")
    settings.KYC_PROVIDERS = ["kyc.providers.local.LocalProvider"]
    Group.objects.get_or_create(name="analyst")  # transactional tests flush the role groups
    analyst = make_user("e2e-analyst", role="analyst")
    analyst.set_password(PASSWORD)
    analyst.save()

    # Two workers wait on the queue before anything is enqueued.
    workers = [rqworkers(**s3_env, PRIVATE_MEDIA_ROOT=str(tmp_path / "private")) for _ in range(2)]
    wait_until_listening(rq_tasks, *workers)

    # The analyst's side, through the real views.
    response = client.post(reverse("login"), {"username": analyst.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:2000]
    response = client.post(
        reverse("kyc:customer-create"),
        {"kind": "company", "legal_name": "Scale-Out Industries SAS", "siren": VALID_SIRENS[1]},
    )
    assert response.status_code == 302, response.content[:2000]
    customer = Customer.objects.get(siren=VALID_SIRENS[1])
    passport = next(specimens(1, variants=("clean",)))
    originals = {"passport.png": passport.png_bytes(), "kbis.pdf": build_pdf(PdfSpec())}
    response = client.post(
        reverse("kyc:document-upload", args=[customer.requests.get().pk]),
        {
            "files": [SimpleUploadedFile(name, data) for name, data in originals.items()],
            "kind": [Document.Kind.PASSPORT, Document.Kind.COMPANY_REGISTRATION],
        },
    )
    assert response.status_code == 302, response.content[:2000]
    documents = {document.original_name: document for document in customer.documents.all()}
    assert set(documents) == set(originals)
    jobs = list(ProviderJob.objects.filter(request__customer=customer))
    assert {(job.provider, job.document_id) for job in jobs} == {
        ("local", document.pk) for document in documents.values()
    }

    # The workers' side: the built-in engine reads each file from the bucket.
    def all_final():
        for worker in workers:
            assert worker.process.poll() is None, worker.output()[-3000:]
        states = set(ProviderJob.objects.filter(pk__in=[job.pk for job in jobs]).values_list(
            "status", flat=True
        ))  # fmt: skip
        return states <= set(ProviderJob.FINAL_STATUSES)

    wait_for(all_final, timeout=240, what="the built-in engine's jobs to finish", every=0.5)

    for job in jobs:
        job.refresh_from_db()
        assert job.status == "completed", job.last_error
    for name, document in documents.items():
        assert Report.objects.filter(document=document).exists(), name
        document.refresh_from_db()
        assert document.status == Document.Status.ANALYSED
    mrz = OcrResult.objects.get(document=documents["passport.png"], source="local_mrz")
    assert mrz.fields.get("document_number") == passport.identity.document_number
    customer.refresh_from_db()
    assert customer.risk_level != "none"

    # The files live in the bucket only, encrypted, and come back unchanged through the view.
    keys = s3_bucket.keys()
    for name, document in documents.items():
        assert document.file.name in keys
        head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=document.file.name)
        assert head["ServerSideEncryption"] == "AES256"
        response = client.get(reverse("kyc:document-file", args=[document.pk]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == originals[name], name
    assert not (tmp_path / "private").exists()

    page = client.get(reverse("kyc:customer-detail", args=[customer.pk]))
    assert page.status_code == 200
    assert s3_bucket.host not in page.text
    health = client.get(reverse("healthz"))
    assert health.json()["checks"] == {"database": "ok", "tasks": "ok", "storage": "ok"}

"""The push through the real task worker: `manage.py db_worker` in its own process, on the test
database, talking to the fake Artemis with the ARTEMIS_* variables an operator would set."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kyc.models import OcrCorrection
from kyc.services import ocr_correct
from tests.factories import make_user
from tests.fake_vendors import json_response, run_db_worker
from tests.ocr.fake_artemis import AUTH_PREFIX, CLIENT_ID, CLIENT_SECRET, DOMAIN_ID, spring_error


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def worker_env(artemis) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "tests.ocr.worker_settings",
        "ARTEMIS_BASE_URL": artemis.url,
        "ARTEMIS_AUTH_URL": artemis.url + AUTH_PREFIX,
        "ARTEMIS_CLIENT_ID": CLIENT_ID,
        "ARTEMIS_CLIENT_SECRET": CLIENT_SECRET,
        "ARTEMIS_DOMAIN_ID": DOMAIN_ID,
        "ARTEMIS_TIMEOUT": "5",
    }


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_delivers_a_correction_to_artemis(artemis, db_tasks, passport, tmp_path):
    correction = ocr_correct(
        ocr_result=passport,
        changes={"document_number": "19FR12345", "expiry_date": "2030-01-01"},
        reason="Misread by the OCR.",
        actor=make_user(role=None),
    )
    assert DBTaskResult.objects.get().task_path == "kyc.services.ocr.push_ocr_correction_task"

    worker = run_db_worker(media_root=tmp_path / "private", **worker_env(artemis))

    assert worker.returncode == 0, worker.stderr[-3000:]
    correction = OcrCorrection.objects.get(pk=correction.pk)
    assert correction.sync_status == "synced", correction.sync_error
    (put,) = artemis.ocr_puts
    assert put.path == "/api/customer/9001/document/7001/ocr"
    assert (put.bearer, put.headers["x-domain-id"]) == ("tok-1", DOMAIN_ID)
    result = put.body["result"]
    assert (result["document_number"], result["passport_number"]) == ("19FR12345", "19FR12345")
    assert (result["expiry date"], result["birth date hash"]) == ("2030-01-01", "true")


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_keeps_a_correction_artemis_could_not_take(
    artemis, db_tasks, passport, tmp_path
):
    artemis.ocr_answers = [json_response(spring_error(503, "Down for maintenance"), 503)]
    correction = ocr_correct(
        ocr_result=passport,
        changes={"document_number": "19FR12345"},
        reason="Misread by the OCR.",
        actor=make_user(role=None),
    )

    worker = run_db_worker(media_root=tmp_path / "private", **worker_env(artemis))

    assert worker.returncode == 0, worker.stderr[-3000:]
    correction = OcrCorrection.objects.get(pk=correction.pk)
    assert correction.sync_status == "failed"
    assert "Down for maintenance" in correction.sync_error
    retry = DBTaskResult.objects.filter(status="READY").get()
    assert retry.args_kwargs["args"] == [correction.pk]
    assert retry.run_after > timezone.now()

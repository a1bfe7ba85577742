"""/healthz/: the database, the task backend and the storage, each failure named, nothing leaked.

Failures are real: a closed port, a server that accepts and never answers, a folder that cannot
exist, a bucket that is not there. The database failure runs in a fresh interpreter, since the
test process's own database must keep working.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from tests.scaleout.conftest import REDIS_TEST_URL, S3_SECRET, closed_port, use_s3

pytestmark = pytest.mark.django_db


def probe(client):
    response = client.get(reverse("healthz"))
    return response, response.json()


def test_every_check_is_named_and_ok(client):
    response, body = probe(client)

    assert response.status_code == 200
    assert body == {"status": "ok", "checks": {"database": "ok", "tasks": "ok", "storage": "ok"}}


def test_the_filesystem_probe_leaves_nothing_behind(client, tmp_path):
    probe(client)
    probe(client)

    assert list((tmp_path / "private" / "health").iterdir()) == []


def test_a_storage_folder_that_cannot_be_created_fails_the_storage_check(
    client, settings, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocker / "private", "base_url": None},
        },
    }

    response, body = probe(client)

    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] in ("error: NotADirectoryError", "error: FileExistsError")
    assert str(tmp_path) not in response.text


# ------------------------------------------------------------------------------------------ Redis


def rq_backend(settings, url: str) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": url}}


def test_redis_on_a_closed_port_fails_the_tasks_check(client, settings):
    port = closed_port()
    rq_backend(settings, f"redis://:hunter2-redis-password@127.0.0.1:{port}/14")

    response, body = probe(client)

    assert response.status_code == 503
    assert body["checks"] == {
        "database": "ok",
        "tasks": "error: ConnectionError",
        "storage": "ok",
    }
    assert str(port) not in response.text
    assert "hunter2" not in response.text


def test_a_redis_that_never_answers_fails_within_the_timeout(client, settings):
    # Accepts connections (the kernel's backlog) but never reads: PING gets no answer.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        rq_backend(settings, f"redis://127.0.0.1:{silent.getsockname()[1]}/14")
        settings.HEALTH_CHECK_TIMEOUT = 0.5

        started = time.monotonic()
        response, body = probe(client)
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert body["checks"]["tasks"] in ("error: TimeoutError", "error: Timeout")
    assert elapsed < 3


@pytest.mark.redis
def test_a_live_redis_passes_the_tasks_check(client, rq_tasks):
    response, body = probe(client)

    assert response.status_code == 200, body
    assert body["checks"]["tasks"] == "ok"
    assert REDIS_TEST_URL.endswith("/14")


# --------------------------------------------------------------------------------------------- S3


def test_a_reachable_bucket_passes_with_one_probe_object_written_once(
    client, settings, monkeypatch, s3_bucket
):
    use_s3(settings, monkeypatch, s3_bucket, S3_SSE="AES256")

    for _attempt in range(3):
        response, body = probe(client)
        assert response.status_code == 200, body

    assert body["checks"]["storage"] == "ok"
    assert s3_bucket.keys() == ["health/probe"]


def test_a_missing_bucket_fails_the_storage_check(client, settings, monkeypatch, s3_bucket):
    s3_bucket.name = s3_bucket.name + "-gone"
    use_s3(settings, monkeypatch, s3_bucket)

    response, body = probe(client)

    assert response.status_code == 503
    assert body["checks"]["storage"] == "error: NoSuchBucket"
    assert s3_bucket.name not in response.text


def test_an_unreachable_bucket_endpoint_fails_the_storage_check(
    client, settings, monkeypatch, s3_bucket
):
    s3_bucket.endpoint_url = f"http://127.0.0.1:{closed_port()}"
    use_s3(settings, monkeypatch, s3_bucket)

    started = time.monotonic()
    response, body = probe(client)

    assert response.status_code == 503
    assert body["checks"]["storage"] == "error: EndpointConnectionError"
    assert s3_bucket.host not in response.text
    assert S3_SECRET not in response.text
    assert time.monotonic() - started < django_settings.HEALTH_CHECK_TIMEOUT + 2


# --------------------------------------------------------------------------------------- database


def test_an_unreachable_database_fails_the_database_and_task_checks(tmp_path):
    """A fresh interpreter whose DATABASE_URL points at a closed port asks /healthz/."""
    port = closed_port()
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "response = Client().get('/healthz/')\n"
        "print(json.dumps({'status': response.status_code, 'body': response.json()}))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://kyc:db-password-never-shown@127.0.0.1:{port}/kyc",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["checks"] == {
        "database": "error: OperationalError",
        "tasks": "error: OperationalError",
        "storage": "ok",
    }
    assert "db-password" not in result.stdout
    assert elapsed < 30

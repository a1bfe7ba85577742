"""Structured logs (LOG_FORMAT=json): one JSON object per line, with the request id, the user
and, inside job code, the job id."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
from django.urls import reverse

from kyc import tasks
from kyc.logging import ContextFilter, JsonFormatter, current_job_id, job_context
from tests.factories import make_document
from tests.fakes import FakeProvider
from tests.scaleout.conftest import run_manage, settings_from_env


@pytest.fixture
def json_lines():
    """What the root logger writes through the JSON formatter and the context filter (as
    settings.LOGGING wires them with LOG_FORMAT=json), one parsed object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    def lines() -> list[dict]:
        text = stream.getvalue()
        return [json.loads(line) for line in text.splitlines()]

    try:
        yield lines
    finally:
        root.removeHandler(handler)


def test_a_line_logged_during_a_request_carries_its_request_id_and_user(
    json_lines, analyst_client, analyst, settings, tmp_path
):
    # A storage folder that cannot exist: /healthz/ logs why it is failing.
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocker / "private"},
        },
    }

    response = analyst_client.get(reverse("healthz"), headers={"X-Request-ID": "req-42-abc"})

    assert response.status_code == 503
    assert response["X-Request-ID"] == "req-42-abc"
    (line,) = [line for line in json_lines() if line["logger"] == "kyc.views.health"]
    assert line["level"] == "WARNING"
    assert line["message"].startswith("health check storage failed")
    assert (line["request_id"], line["user_id"], line["job_id"]) == ("req-42-abc", analyst.pk, None)
    assert dt.datetime.fromisoformat(line["time"]).tzinfo is not None


@pytest.mark.django_db
def test_a_line_logged_inside_a_job_carries_its_job_id(json_lines, settings):
    settings.KYC_PROVIDERS = ["tests.fakes.FakeProvider"]
    FakeProvider.reset()
    job = make_document().jobs.get()
    FakeProvider.script = [RuntimeError("provider bug")]
    try:
        tasks.submit_job_task.call(job.pk)
    finally:
        FakeProvider.reset()

    (line,) = [line for line in json_lines() if line["logger"] == "kyc.services.jobs"]
    assert line["level"] == "ERROR"
    assert line["job_id"] == job.pk
    assert (line["request_id"], line["user_id"]) == (None, None)
    assert "RuntimeError: provider bug" in line["exception"]  # the traceback, inside the line
    assert current_job_id() is None  # reset once the task is done


def test_job_context_nests_and_restores():
    with job_context(7):
        with job_context(8):
            assert current_job_id() == 8
        assert current_job_id() == 7
    assert current_job_id() is None


def test_extra_fields_and_odd_values_stay_on_one_json_line():
    record = logging.LogRecord("kyc.test", logging.INFO, __file__, 1, "two\nlines %s", ("x",), None)
    record.provider = "finovox"
    record.when = dt.date(2026, 6, 1)
    ContextFilter().filter(record)

    text = JsonFormatter().format(record)

    assert "\n" not in text
    payload = json.loads(text)
    assert payload["message"] == "two\nlines x"
    assert (payload["provider"], payload["when"]) == ("finovox", "2026-06-01")


def test_log_format_json_makes_every_line_of_a_command_json(tmp_path):
    code = (
        "import logging\n"
        "logging.getLogger('kyc.example').warning('hello %s', 'world', extra={'step': 3})\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n"
        "    logging.getLogger('kyc.example').exception('it broke')\n"
    )

    result = run_manage("shell", "-c", code, LOG_FORMAT="json", DEBUG="False")

    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert [line["message"] for line in lines] == ["hello world", "it broke"]
    assert lines[0]["step"] == 3
    assert {"time", "level", "logger", "request_id", "user_id", "job_id"} <= set(lines[0])
    assert "ZeroDivisionError" in lines[1]["exception"]


def test_an_unknown_log_format_stops_the_start(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be plain, short or json"):
        settings_from_env(monkeypatch, LOG_FORMAT="yaml")

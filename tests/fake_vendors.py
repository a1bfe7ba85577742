"""Fake Finovox and Mindee servers on a local pytest-httpserver, speaking the documented contracts
(shared/vendor-apis.md sections 2 and 3), plus a runner for the real database task worker.

Each fake records what it received (to check we sent the original bytes, the right headers and
payloads) and is scripted per test. Nothing here reaches the internet: the servers listen on
127.0.0.1 and the providers' base URLs point at them.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

# The vendors' bodies, built as the demo data builds them (one builder for each shape).
from demo import payloads

WORKER_TIMEOUT = 90
WORKER_ARGS = ("db_worker", "--batch", "--no-startup-delay", "--queue-name", "*")

# ------------------------------------------------------------------------------------- server


def start_server() -> HTTPServer:
    """A threaded server (a slow handler must not block the next request) on 127.0.0.1.

    Unmatched requests answer 418, not pytest-httpserver's default 500, so a missing handler can
    never pass for a vendor's retryable server error.
    """
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.no_handler_status_code = 418
    server.start()
    return server


@contextlib.contextmanager
def serving(server: HTTPServer) -> Iterator[HTTPServer]:
    """Lend the server to one test, then check nothing unexpected reached it and reset it."""
    server.clear()
    server.no_handler_status_code = 418
    try:
        yield server
        server.check_assertions()
    finally:
        server.clear()
        server.no_handler_status_code = 418


def base_url(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def answer(response: Response | Callable[[Request], Response], request: Request) -> Response:
    """A scripted answer: a fixed Response, or a handler called with the request."""
    return response if isinstance(response, Response) else response(request)


def slow(seconds: float, response: Response):
    """A handler that answers only after `seconds` (the client's timeout fires first)."""

    def handler(request: Request) -> Response:
        time.sleep(seconds)
        return response

    return handler


# ------------------------------------------------------------------------------------ Finovox

FINOVOX_KEY = "fk-test-key"
# Finovox's answer to /retrieve for a token it does not know, or no longer knows.
FINOVOX_UNKNOWN_TOKEN = {"detail": "retrieve_token not found or expired"}
PDF_REPORT_EN = b"%PDF-1.7\n% Finovox report (en)\n%%EOF\n"
PDF_REPORT_FR = b"%PDF-1.7\n% Rapport Finovox (fr)\n%%EOF\n"


def finovox_risk(global_risk: str = "low", **overrides: Any) -> dict[str, Any]:
    """A `risk` result as documented: global and five sub-risks, quality, software [V]."""
    result = payloads.finovox_result(
        name="statement.pdf",
        global_risk=global_risk,
        risks=dict.fromkeys(payloads.FINOVOX_AXES, "low"),
        document_quality="acceptable",
        software="",
    )
    result.update(overrides)
    return result


def finovox_full_result(global_risk: str = "high") -> dict[str, Any]:
    """risk + explanation + pdf_report in one object (the union of keys [I]); the PDF report per
    language as base64, as the public sample script reads it."""
    return {
        **finovox_risk(
            global_risk,
            software_risk="high",
            metadata_risk="medium",
            software="photoshop",
        ),
        "explanation": {
            "en": ["The document was edited with Photoshop."],
            "fr": ["Le document a été modifié avec Photoshop."],
        },
        "pdf_report": {
            "en": base64.b64encode(PDF_REPORT_EN).decode(),
            "fr": base64.b64encode(PDF_REPORT_FR).decode(),
        },
    }


@dataclass
class FinovoxAnalysis:
    api_key: str | None
    filename: str | None
    content_type: str | None
    content: bytes
    payload: dict[str, Any]


@dataclass
class FakeFinovox:
    """`POST /analyse` and `POST /retrieve` (vendor-apis.md 2.2, 2.3)."""

    server: HTTPServer
    analyses: list[FinovoxAnalysis] = field(default_factory=list)
    retrieves: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return base_url(self.server)

    def _record_analysis(self, request: Request) -> None:
        upload = request.files.get("file")
        self.analyses.append(
            FinovoxAnalysis(
                api_key=request.headers.get("api-key"),
                filename=upload.filename if upload else None,
                content_type=upload.content_type if upload else None,
                content=upload.read() if upload else b"",
                payload=json.loads(request.form.get("payload", "null") or "null"),
            )
        )

    def accept(self, token: str = "retrieve-token-1") -> None:  # noqa: S107
        """/analyse answers {"retrieve_token"} (asynchronous: true)."""

        def handler(request: Request) -> Response:
            self._record_analysis(request)
            return json_response({"retrieve_token": token})

        self.server.expect_request("/analyse", method="POST").respond_with_handler(handler)

    def analyse_answers(self, response: Response | Any) -> None:
        """/analyse answers `response` (a werkzeug Response or a handler), recording the call."""

        def handler(request: Request) -> Response:
            self._record_analysis(request)
            return answer(response, request)

        self.server.expect_request("/analyse", method="POST").respond_with_handler(handler)

    def _retrieve_handler(self, response: Response | Any):
        def handler(request: Request) -> Response:
            self.retrieves.append(
                {"api_key": request.headers.get("api-key"), "json": request.get_json(silent=True)}
            )
            return answer(response, request)

        return handler

    def not_ready_once(self, status: int = 202, body: Any = None) -> None:
        body = body if body is not None else {"status": "processing"}
        self.server.expect_oneshot_request("/retrieve", method="POST").respond_with_handler(
            self._retrieve_handler(json_response(body, status))
        )

    def retrieve_answers(self, response: Response | Any) -> None:
        self.server.expect_request("/retrieve", method="POST").respond_with_handler(
            self._retrieve_handler(response)
        )

    def ready(self, result: dict[str, Any]) -> None:
        self.retrieve_answers(json_response(result))

    def forgets_token(self) -> None:
        """/retrieve answers as Finovox does for a token it does not know (any more: results are
        deleted 60 minutes after processing)."""
        self.retrieve_answers(json_response(FINOVOX_UNKNOWN_TOKEN, 404))


# ------------------------------------------------------------------------------------- Mindee

MINDEE_KEY = "md-test-key"
MINDEE_SECRET = "mindee-signing-secret"
PASSPORT_ROOT = payloads.MINDEE_PASSPORT
ID_ROOT = payloads.MINDEE_INTERNATIONAL_ID
# When the fake Mindee says it started and finished reading.
STARTED = dt.datetime(2024, 2, 23, 16, 35, 50, 364723)

PASSPORT_MRZ1 = "P<FRAMARTIN<<MARIE<CLAIRE<<<<<<<<<<<<<<<<<<<"
PASSPORT_MRZ2 = "19FR123451FRA8504124F3001019<<<<<<<<<<<<<<02"


def mindee_sign(body: bytes, secret: str = MINDEE_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def mfield(value: Any, confidence: float = 0.99) -> dict[str, Any]:
    """A Mindee V1 field object: value, confidence, polygon, page id [V]."""
    return payloads.mindee_field(
        value, confidence, [[0.1, 0.1], [0.3, 0.1], [0.3, 0.15], [0.1, 0.15]]
    )


def passport_prediction(**overrides: Any) -> dict[str, Any]:
    prediction = {
        "country": mfield("FRA"),
        "id_number": mfield("19FR12345"),
        "given_names": [mfield("MARIE", 0.98), mfield("CLAIRE", 0.97)],
        "surname": mfield("MARTIN"),
        "birth_date": mfield("1985-04-12"),
        "birth_place": mfield("PARIS"),
        "gender": mfield("F"),
        "issuance_date": mfield("2020-01-02"),
        "expiry_date": mfield("2030-01-01"),
        "mrz1": mfield(PASSPORT_MRZ1),
        "mrz2": mfield(PASSPORT_MRZ2),
    }
    prediction.update(overrides)
    return prediction


def id_prediction(**overrides: Any) -> dict[str, Any]:
    prediction = {
        "document_type": {"value": "IDENTIFICATION_CARD", "confidence": 0.99},
        "document_number": mfield("X4RTBPFW4"),
        "surnames": [mfield("MARTIN")],
        "given_names": [mfield("MARIE", 0.96), mfield("CLAIRE", 0.95)],
        "sex": mfield("F"),
        "birth_date": mfield("1985-04-12"),
        "birth_place": mfield("PARIS"),
        "nationality": mfield("FRA"),
        "personal_number": mfield("N/A", 0.0),
        "country_of_issue": mfield("FRA"),
        "state_of_issue": mfield("N/A", 0.0),
        "issue_date": mfield("2021-03-15"),
        "expiry_date": mfield("2031-03-14"),
        "address": mfield("1 RUE DE LA PAIX 75002 PARIS"),
        "mrz_line1": mfield("IDFRAX4RTBPFW46<<<<<<<<<<<<<<<"),
        "mrz_line2": mfield("8504121F3103142FRA<<<<<<<<<<<6"),
        "mrz_line3": mfield("MARTIN<<MARIE<CLAIRE<<<<<<<<<<"),
    }
    prediction.update(overrides)
    return prediction


def mindee_document(doc_id: str, prediction: dict[str, Any], product: str, version: str):
    return payloads.mindee_document(
        doc_id,
        prediction,
        product=product,
        version=version,
        name="scan.png",
        started=STARTED,
        processing=2.6,
    )


def passport_response(doc_id: str = "passport-doc-1", **overrides: Any) -> dict[str, Any]:
    """The 201 answer of Passport v1 `/predict` [V]."""
    return {
        "api_request": payloads.mindee_api_request(
            f"{payloads.MINDEE_API}{PASSPORT_ROOT}/predict", 201
        ),
        "document": mindee_document(
            doc_id, passport_prediction(**overrides), "mindee/passport", "1.1"
        ),
    }


def job(job_id: str, status: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
    return payloads.mindee_job(
        job_id,
        status,
        issued_at=STARTED.isoformat(),
        available_at="2024-02-23T16:35:54.931372" if status == "completed" else None,
        error=error,
    )


def job_envelope(job_id: str, status: str = "waiting", http_status: int = 202, error=None):
    return {
        "api_request": payloads.mindee_api_request(
            f"{payloads.MINDEE_API}{ID_ROOT}/predict_async", http_status, resources=("job",)
        ),
        "job": job(job_id, status, error),
    }


def id_document_response(doc_id: str, job_id: str, **overrides: Any) -> dict[str, Any]:
    """`GET .../documents/{id}` (also the webhook body): document + completed job [V]."""
    return {
        "api_request": payloads.mindee_api_request(
            f"{payloads.MINDEE_API}{ID_ROOT}/documents/{doc_id}",
            200,
            resources=("document", "job"),
        ),
        "document": mindee_document(
            doc_id, id_prediction(**overrides), "mindee/international_id", "2.2"
        ),
        "job": job(job_id, "completed"),
    }


def mindee_error(code: str, message: str, status: int, details: str = "") -> dict[str, Any]:
    return {
        "api_request": payloads.mindee_api_request(
            "https://api.mindee.net/v1/products/...",
            status,
            error={"code": code, "message": message, "details": details},
        )
    }


@dataclass
class MindeeUpload:
    authorization: str | None
    filename: str | None
    content: bytes


@dataclass
class FakeMindee:
    """Passport v1 `/predict`, International ID v2 `/predict_async`, the queue and documents."""

    server: HTTPServer
    uploads: list[MindeeUpload] = field(default_factory=list)
    queue_polls: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return base_url(self.server)

    def _record(self, request: Request) -> None:
        upload = request.files.get("document")
        self.uploads.append(
            MindeeUpload(
                authorization=request.headers.get("Authorization"),
                filename=upload.filename if upload else None,
                content=upload.read() if upload else b"",
            )
        )

    def _recording(self, response: Response | Any):
        def handler(request: Request) -> Response:
            self._record(request)
            return answer(response, request)

        return handler

    def passport_answers(self, response: Response | Any) -> None:
        self.server.expect_request(f"{PASSPORT_ROOT}/predict", method="POST").respond_with_handler(
            self._recording(response)
        )

    def id_enqueue_answers(self, response: Response | Any) -> None:
        self.server.expect_request(f"{ID_ROOT}/predict_async", method="POST").respond_with_handler(
            self._recording(response)
        )

    def accept_id(self, job_id: str = "job-1") -> None:
        self.id_enqueue_answers(json_response(job_envelope(job_id), 202))

    def _queue_handler(self, response: Response | Any):
        def handler(request: Request) -> Response:
            self.queue_polls.append(request.headers.get("Authorization") or "")
            return answer(response, request)

        return handler

    def queue_once(self, job_id: str, status: str = "processing") -> None:
        """One 200 answer while the job waits or runs."""
        body = {
            "api_request": payloads.mindee_api_request(
                f"{payloads.MINDEE_API}{ID_ROOT}/documents/queue/{job_id}", 200, resources=("job",)
            ),
            "job": job(job_id, status),
        }
        self.server.expect_oneshot_request(
            f"{ID_ROOT}/documents/queue/{job_id}", method="GET"
        ).respond_with_handler(self._queue_handler(json_response(body)))

    def queue_answers(self, job_id: str, response: Response | Any) -> None:
        self.server.expect_request(
            f"{ID_ROOT}/documents/queue/{job_id}", method="GET"
        ).respond_with_handler(self._queue_handler(response))

    def done(self, job_id: str, doc_id: str = "id-doc-1", *, location: str | None = None, **over):
        """The queue answers 302 to the document, which answers 200 [S + V SDK]."""
        location = location or f"{self.url}{ID_ROOT}/documents/{doc_id}"
        self.queue_answers(job_id, Response("", status=302, headers={"Location": location}))
        self.server.expect_request(f"{ID_ROOT}/documents/{doc_id}", method="GET").respond_with_json(
            id_document_response(doc_id, job_id, **over)
        )


# ------------------------------------------------------------------------------------- worker


def database_env() -> dict[str, str]:
    """Environment variables that point a worker process at the test database itself."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(database["NAME"])}
    if connection.vendor == "postgresql":
        credentials = quote(database["USER"] or "", safe="")
        if database["PASSWORD"]:
            credentials += ":" + quote(database["PASSWORD"], safe="")
        host = database["HOST"] or "127.0.0.1"
        port = f":{database['PORT']}" if database["PORT"] else ""
        return {"DATABASE_URL": f"postgres://{credentials}@{host}{port}/{database['NAME']}"}
    raise AssertionError(f"No worker environment for the {connection.vendor} database")


def run_db_worker(*, media_root: Path, **env: str) -> subprocess.CompletedProcess:
    """`manage.py db_worker --batch` in its own process, on the test database and media folder.

    tests/vendor_settings.py is tests.settings with the vendor credentials read from the
    environment (tests.settings blanks them so that no other test enables a vendor).
    """
    worker_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FINOVOX_", "MINDEE_", "OCTOBER_", "ARTEMIS_"))
        and name not in {"DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    worker_env.update(database_env())
    worker_env["DJANGO_SETTINGS_MODULE"] = "tests.vendor_settings"
    worker_env["PRIVATE_MEDIA_ROOT"] = str(media_root)
    worker_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *WORKER_ARGS],
        env=worker_env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )

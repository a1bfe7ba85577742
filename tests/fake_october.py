"""A local October Connect for the tests, speaking the documented contract over real HTTP.

It follows shared/vendor-apis.md section 1: the three auth headers on every API call (401
otherwise), `POST /requests` answered wrapped or flat, the three-step media upload with a signed
storage URL on the same server (S3 presigned POST or presigned PUT, since the real form is not
public), `GET /reports?source=&request=` and `GET /reports/{id}` (the report wrapped as
`{"report": {...}}`, as Generate Doc X-Ray step 3 shows; 404 for an id it does not know). The
storage endpoints refuse a call that carries October's credentials: signed URLs need none, and
they must not leak there.

Tests add reports with `add_doc_report` / `add_manager_report` (October's analysis finishing),
and script failures for the next matching calls with `fail_next`. It runs on pytest-httpserver's
threaded server, so a handler that sleeps (a timeout test) does not block later calls.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

USER_ID = "user-7f3a"
SESSION_TOKEN = "session-token-for-tests"
VERSION = "2024-01-25"
STORAGE_SIGNATURE = "fake-s3-signature"
MEDIUM_NAMES = {
    "certified_financial_statement",
    "bank_statement",
    "interim_financial_statement",
    "other",
}

# The Doc X-Ray report of the guide (Generate Doc X-Ray, step 3), our fixture for "orange".
DOC_XRAY_RAW: dict[str, Any] = {
    "type": [
        {"class": "bank_statement", "confidence": 0.9999703168869019},
        {"class": "invoice", "confidence": 0.00002},
    ],
    "reasons": [
        {
            "criteria": {
                "creationDate": "2021-09-01 00:52:16",
                "modDate": "2021-09-03 12:25:51",
                "lastSigningTime": None,
                "modCreationDiff": 214415000,
            },
            "sentiment": "bad",
            "message": {
                "title": "Creation/Modification Time",
                "content": "modified 2.48 days after creation",
            },
            "typeCode": "time",
            "level": "suspicious",
        },
        {
            "criteria": {},
            "sentiment": "good",
            "message": {"title": "Inconsistent font", "content": "no inconsistent font"},
            "typeCode": "font",
            "level": None,
        },
    ],
    "flag": {"color": "orange", "meta": ["time"], "value": 0.018018018018018018},
}

# A Manager X-Ray person as in the guide (Generate Manager X-Ray, step 3).
MANAGER_PERSONS: list[dict[str, Any]] = [
    {
        "lastname": "Doe",
        "firstname": "John",
        "birthdate": "1979-01-01",
        "confidencePercentage": 1,
        "companies": [
            {
                "name": "Company Name",
                "code": {"id": "514673987", "type": "siren"},
                "jobStartDate": "2002-02-07",
                "jobEndDate": None,
                "alerts": [
                    {"date": "2011-10-31", "name": "Mise en sommeil de la société", "level": "low"}
                ],
            }
        ],
    }
]


@dataclass
class Scripted:
    """An answer forced on the next `times` calls matching method and path."""

    method: str
    path: re.Pattern[str]
    status: int = 500
    body: str = '{"message": "Internal error"}'
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0
    times: int = 1


class FakeOctober:
    """State and handlers of one fake October (one per test)."""

    def __init__(self, server: HTTPServer, *, wrap_requests: bool = True, upload: str = "post"):
        self.server = server
        self.wrap_requests = wrap_requests  # POST /requests answer: {"request": {...}} or flat
        self.upload = upload  # "post" (S3 presigned POST form) or "put" (presigned PUT URL)
        self.user_id, self.session_token = USER_ID, SESSION_TOKEN
        self.requests: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.reports: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.problems: list[str] = []  # contract violations by our client, checked at teardown
        self.script: list[Scripted] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    # ---------------------------------------------------------------------------- for tests
    @property
    def base_url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def settings_env(self, *, timeout: float = 5.0) -> dict[str, str]:
        """The OCTOBER_* variables pointing a process at this server."""
        return {
            "OCTOBER_BASE_URL": self.base_url,
            "OCTOBER_USER_ID": USER_ID,
            "OCTOBER_SESSION_TOKEN": SESSION_TOKEN,
            "OCTOBER_VERSION": VERSION,
            "OCTOBER_TIMEOUT": str(timeout),
            "OCTOBER_WEBHOOK_SECRET": "",
        }

    def fail_next(self, method: str, path: str, **answer: Any) -> None:
        """Answer the next call(s) to `method` and the path regex `path` with `answer`."""
        with self._lock:
            self.script.append(Scripted(method, re.compile(f"^{path}$"), **answer))

    def api_calls(self, method: str | None = None, path: str | None = None) -> list[str]:
        return [
            f"{m} {p}"
            for m, p in self.calls
            if (method is None or m == method) and (path is None or re.fullmatch(path, p))
        ]

    def add_doc_report(self, medium_id: str, *, raw: dict[str, Any] | None = None) -> str:
        """Doc X-Ray finished on this medium."""
        medium = self.media[medium_id]
        return self._add_report(
            {
                "request": medium["request"],
                "source": "doc_xray",
                # Which field names the medium is not public: the fake says "medium".
                "medium": medium_id,
                "raw": json.loads(json.dumps(raw if raw is not None else DOC_XRAY_RAW)),
            }
        )

    def add_manager_report(
        self, request_id: str, *, persons: list[dict[str, Any]] | None = None
    ) -> str:
        """Manager X-Ray finished on this request (shaped as the guide: request inside raw)."""
        code = self.requests[request_id]["code"]
        return self._add_report(
            {
                "code": code,
                "source": "manager_xray",
                "raw": {
                    "request": {"id": request_id, "code": code},
                    "persons": json.loads(json.dumps(persons or MANAGER_PERSONS)),
                },
            }
        )

    def webhook_body(self, report_id: str, *, event: str = "new_report") -> bytes:
        report = self.reports.get(report_id)
        request_id = (report or {}).get("request") or (report or {}).get("raw", {}).get(
            "request", {}
        ).get("id", "")
        return json.dumps({"event": event, "requestId": request_id, "reportId": report_id}).encode()

    def only_request_id(self) -> str:
        (request_id,) = self.requests
        return request_id

    def only_medium_id(self) -> str:
        (medium_id,) = self.media
        return medium_id

    # ------------------------------------------------------------------------------ server
    def _add_report(self, fields: dict[str, Any]) -> str:
        with self._lock:
            number = next(self._ids)
            report_id = f"rep_{number}"
            created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=number)
            self.reports[report_id] = {
                "id": report_id,
                "creation": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                **fields,
            }
        return report_id

    def handle(self, request: Request) -> Response:
        path = request.path
        with self._lock:
            if not path.startswith("/storage/"):
                self.calls.append((request.method, path))
            scripted = next(
                (s for s in self.script if s.method == request.method and s.path.match(path)),
                None,
            )
            if scripted is not None:
                scripted.times -= 1
                if scripted.times <= 0:
                    self.script.remove(scripted)
        if scripted is not None:
            time.sleep(scripted.sleep)
            return Response(
                scripted.body,
                status=scripted.status,
                content_type=scripted.content_type,
                headers=scripted.headers,
            )
        if path.startswith("/storage/"):
            return self._storage(request)
        if (
            request.headers.get("userId") != self.user_id
            or request.headers.get("sessionToken") != self.session_token
            or not request.headers.get("October-Version")
        ):
            return self._json({"message": "Invalid authentication"}, 401)
        with self._lock:
            return self._route(request, path)

    def _route(self, request: Request, path: str) -> Response:
        body = request.get_json(silent=True) if request.data else None
        if request.method == "POST" and path == "/requests":
            return self._create_request(body)
        if match := re.fullmatch(r"/requests/([^/]+)", path):
            if request.method != "GET" or match[1] not in self.requests:
                return self._json({"message": "Request not found"}, 404)
            return self._json({"request": self.requests[match[1]]})
        if request.method == "POST" and path == "/media":
            return self._create_medium(body)
        if request.method == "POST" and (match := re.fullmatch(r"/media/([^/]+)", path)):
            return self._update_medium(match[1], body)
        if request.method == "GET" and path == "/reports":
            wanted_source = request.args.get("source")
            wanted_request = request.args.get("request")
            found = [
                r
                for r in self.reports.values()
                if r["source"] == wanted_source
                and (r.get("request") or r["raw"].get("request", {}).get("id")) == wanted_request
            ]
            return self._json({"reports": found})
        if request.method == "GET" and (match := re.fullmatch(r"/reports/([^/]+)", path)):
            if match[1] not in self.reports:
                return self._json({"message": "Report not found"}, 404)
            return self._json({"report": self.reports[match[1]]})
        return self._json({"message": f"No route {request.method} {path}"}, 404)

    def _create_request(self, body: Any) -> Response:
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, dict) or code.get("type") != "siren" or not code.get("id"):
            return self._json({"message": "code is required"}, 400)
        request_id = f"req_{next(self._ids)}"
        self.requests[request_id] = {
            "id": request_id,
            "code": {"type": code["type"], "id": code["id"]},
            "status": "pending_analysis",
            "stage": "1.1",
        }
        data = self.requests[request_id]
        return self._json({"request": data} if self.wrap_requests else data)

    def _create_medium(self, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("request") not in self.requests:
            return self._json({"message": "request is required"}, 400)
        if body.get("name") not in MEDIUM_NAMES:
            return self._json({"message": "unknown medium name"}, 400)
        medium_id = f"med_{next(self._ids)}"
        medium = {
            "id": medium_id,
            "request": body["request"],
            "name": body["name"],
            "status": "draft",
            "url": f"media/{medium_id}",  # relative, as documented: not an upload target
            "meta": dict(body.get("meta") or {}),
        }
        self.media[medium_id] = medium
        storage = f"{self.base_url}/storage/bucket"
        if self.upload == "put":
            target = {"uploadUrl": f"{storage}/media/{medium_id}?sig={STORAGE_SIGNATURE}"}
        else:
            target = {
                "upload": {
                    "url": storage,
                    "fields": {
                        "key": f"media/{medium_id}",
                        "policy": "eyJleHBpcmF0aW9uIjoi",
                        "x-amz-signature": STORAGE_SIGNATURE,
                    },
                }
            }
        return self._json({"medium": medium, **target}, 201)

    def _update_medium(self, medium_id: str, body: Any) -> Response:
        medium = self.media.get(medium_id)
        if medium is None:
            return self._json({"message": "Medium not found"}, 404)
        if not isinstance(body, dict) or body.get("status") != "online":
            return self._json({"message": "status must be online"}, 400)
        if medium_id not in self.uploads:
            return self._json({"message": "file not uploaded"}, 400)
        medium["status"] = "online"
        medium["meta"].update(body.get("meta") or {})
        return self._json({"medium": medium})

    def _storage(self, request: Request) -> Response:
        with self._lock:
            for header in ("userId", "sessionToken"):
                if header in request.headers:
                    self.problems.append(f"October credential {header} sent to storage")
                    return Response("credentials sent to storage", status=400)
            if request.method == "POST" and request.path == "/storage/bucket":
                if request.form.get("x-amz-signature") != STORAGE_SIGNATURE:
                    return Response("<Error>SignatureDoesNotMatch</Error>", status=403)
                upload = request.files.get("file")
                key = request.form.get("key", "")
                if upload is None or not key.startswith("media/"):
                    return Response("<Error>MissingFields</Error>", status=400)
                self.uploads[key.removeprefix("media/")] = upload.read()
                return Response(status=204)
            match = re.fullmatch(r"/storage/bucket/media/([^/]+)", request.path)
            if request.method == "PUT" and match:
                if request.args.get("sig") != STORAGE_SIGNATURE:
                    return Response("<Error>SignatureDoesNotMatch</Error>", status=403)
                self.uploads[match[1]] = request.get_data()
                return Response(status=200)
            return Response("<Error>NoSuchKey</Error>", status=404)

    @staticmethod
    def _json(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

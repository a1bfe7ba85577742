"""A fake Cynopsis Artemis on a local pytest-httpserver, speaking the documented contract
(shared/vendor-apis.md section 4): the CRM's OAuth2 token endpoint, the OCR update, customer
creation and document upload. It records every call and answers as scripted per test; by
default it answers like Artemis does when all is well."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.fake_vendors import answer, base_url, json_response

CLIENT_ID = "kyc-dashboard"
CLIENT_SECRET = "artemis-test-secret"
DOMAIN_ID = "4242"
AUTH_PREFIX = "/crm"  # the CRM host of the token endpoint, on the same fake server
OCR_PATH = r"^/api/customer/(\d+)/document/(\d+)/ocr$"


def spring_error(status: int, message: str, path: str = "/api") -> dict[str, Any]:
    """Spring Boot's default error body (Artemis is a Spring service [I])."""
    errors = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 503: "Unavailable"}
    return {
        "timestamp": "2025-03-03T09:00:00.000+00:00",
        "status": status,
        "error": errors.get(status, "Error"),
        "message": message,
        "path": path,
    }


def java_date(iso: str, *, offset_minutes: int = -480) -> dict[str, Any]:
    """A serialized java.util.Date for a UTC instant, as a server at UTC+8 (offset -480)
    writes it: broken-down fields in its own zone, `time` in epoch milliseconds."""
    moment = dt.datetime.fromisoformat(iso).astimezone(dt.UTC)
    local = moment - dt.timedelta(minutes=offset_minutes)
    return {
        "date": local.day,
        "day": (local.weekday() + 1) % 7,
        "hours": local.hour,
        "minutes": local.minute,
        "month": local.month - 1,
        "nanos": 0,
        "seconds": local.second,
        "time": int(moment.timestamp() * 1000),
        "timezoneOffset": offset_minutes,
        "year": local.year - 1900,
    }


def user_info(user_id: int = 7) -> dict[str, Any]:
    return {
        "email": "api@kyc.example",
        "firstName": "API",
        "fullName": "API Client",
        "id": user_id,
        "lastName": "Client",
    }


def document_dto(document_id: int, customer_id: int, **overrides: Any) -> dict[str, Any]:
    """A DocumentDto as the OCR update returns it (ISO timestamps) [V seed]."""
    body = {
        "id": document_id,
        "createdAt": "2025-03-01T10:00:00Z",
        "updatedAt": "2025-03-03T09:00:00Z",
        "createdBy": user_info(),
        "updatedBy": user_info(),
        "customerId": customer_id,
        "frontName": "front.png",
        "backName": None,
        "type": "PASSPORT",
        "number": "19FR12345",
        "authenticity": "ORIGINAL",
        "issueDate": "2020-01-02",
        "expiryDate": "2030-01-01",
        "showExpiryNotification": True,
        "front": "https://files.artemis.example/front.png",
        "back": None,
        "docverCheckStatus": "PERFORMED",
        "faceCompare": {},
        "liveness": {},
        "other": {},
        "allowedDocumentFormat": True,
    }
    body.update(overrides)
    return body


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any = None  # JSON body, or the form for the token request
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None


class FakeArtemis:
    """Scripted per test: `ocr_answers` (and `customer_answers`, `document_answers`) are
    consumed in order, each a Response or a handler; once empty, calls succeed."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.calls: list[Call] = []
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.expires_in: Any = 3600
        self.ocr_answers: list[Any] = []
        self.customer_answers: list[Any] = []
        self.document_answers: list[Any] = []
        self.next_customer_id = 9001
        self.next_document_id = 7001
        server.expect_request(f"{AUTH_PREFIX}/oauth/token", method="POST").respond_with_handler(
            self._token
        )
        server.expect_request(re.compile(OCR_PATH), method="PUT").respond_with_handler(self._ocr)
        server.expect_request("/api/customer", method="POST").respond_with_handler(
            self._create_customer
        )
        server.expect_request(
            re.compile(r"^/api/customer/(\d+)/document$"), method="POST"
        ).respond_with_handler(self._append_document)

    @property
    def url(self) -> str:
        return base_url(self.server)

    # --- recording ------------------------------------------------------------------------
    def _record(self, request: Request) -> Call:
        files = {
            name: (upload.filename, upload.content_type, upload.read())
            for name, upload in request.files.items()
        }
        if request.path.endswith("/oauth/token"):
            body: Any = request.form.to_dict()
        elif request.is_json:
            body = request.get_json()
        else:
            body = request.get_data(as_text=True) or None
        headers = {name.lower(): value for name, value in request.headers.items()}
        call = Call(request.method, request.path, headers, body, files)
        self.calls.append(call)
        return call

    def calls_to(self, method: str, suffix: str = "") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(suffix)]

    @property
    def token_requests(self) -> list[Call]:
        return self.calls_to("POST", "/oauth/token")

    @property
    def ocr_puts(self) -> list[Call]:
        return self.calls_to("PUT", "/ocr")

    # --- endpoints ------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        call = self._record(request)
        form = call.body
        if (
            request.mimetype != "application/x-www-form-urlencoded"
            or form.get("grant_type") != "client_credentials"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return json_response(
                {"error": "invalid_client", "error_description": "Bad client credentials"}, 401
            )
        token = f"tok-{len(self.issued) + 1}"
        self.issued.append(token)
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        )

    def _denied(self, call: Call) -> Response | None:
        if call.bearer not in self.issued or call.bearer in self.revoked:
            return json_response(spring_error(401, "Invalid access token", call.path), 401)
        if call.headers.get("x-domain-id") != DOMAIN_ID:
            return json_response(spring_error(403, "Unknown domain", call.path), 403)
        return None

    def _ocr(self, request: Request) -> Response:
        call = self._record(request)
        denied = self._denied(call)
        if denied is not None:
            return denied
        if self.ocr_answers:
            return answer(self.ocr_answers.pop(0), request)
        customer_id, document_id = request.path.split("/")[3], request.path.split("/")[5]
        return json_response(document_dto(int(document_id), int(customer_id)))

    def _create_customer(self, request: Request) -> Response:
        call = self._record(request)
        denied = self._denied(call)
        if denied is not None:
            return denied
        if self.customer_answers:
            return answer(self.customer_answers.pop(0), request)
        customer_id = self.next_customer_id
        self.next_customer_id += 1
        return json_response(
            {
                "id": customer_id,
                "type": "INDIVIDUAL",
                "status": "DRAFT",
                "profileReferenceId": call.body.get("profileReferenceId"),
                "referenceId": call.body.get("referenceId"),
                "particular": call.body.get("particular"),
                "createdAt": java_date("2025-03-03T09:00:00+00:00"),
                "updatedAt": java_date("2025-03-03T09:00:00+00:00"),
            },
            201,
        )

    def _append_document(self, request: Request) -> Response:
        call = self._record(request)
        denied = self._denied(call)
        if denied is not None:
            return denied
        if self.document_answers:
            return answer(self.document_answers.pop(0), request)
        document_id = self.next_document_id
        self.next_document_id += 1
        part = json.loads(call.files["document"][2])
        return json_response(
            document_dto(
                document_id,
                int(request.path.split("/")[3]),
                type=part.get("type"),
                number=part.get("number"),
                createdAt=java_date("2025-03-03T09:00:00+00:00"),
                updatedAt=java_date("2025-03-03T09:00:00+00:00"),
            ),
            200,
        )

"""The bad-input corpus: hostile values sent to every form, upload, query parameter and webhook
endpoint of the project, each case one test.

The cases are generated, not listed: the URL conf is walked (tests/security/bad_input.py), each
view's form classes and the raw GET/POST parameters it reads are found in its source, and every
field gets the hostile values of its type (empty, 1 MB, NUL, lone surrogates and invalid UTF-8
as raw bytes, RTL override, full-width digits, SQL / HTML / template injection, out-of-range
dates, overflowing and malformed integers, unknown choices, repeated parameters). Besides: object
ids of rows the user may not reach, forged CSRF tokens, wrong methods, broken request bodies,
hostile uploads, hostile headers, the admin's list parameters, and webhooks for every provider
slug and unknown ones (bad signatures, garbage, huge and chunked bodies, NUL and surrogates).

Each case asserts: no 5xx; no row added or changed in any table (row counts and a checksum of
every table, before and after); no file added or changed in storage. The few changes a case may
make are explicit in it (`allow`): the audit row of a read that happened, the audit row of a
failed log-in, and a refused webhook delivery kept as metadata plus a small prefix of its body.

The world (one row of every kind, tests/security/conftest.py) is built once per module inside a
transaction; each case runs in a savepoint rolled back after it, so cases cannot see each other.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from kyc import services
from kyc.models import (
    AuditEvent,
    Customer,
    ManagerAlert,
    ProviderJob,
    WebhookEvent,
)
from kyc.services import privacy as privacy_services
from tests.factories import VALID_SIRENS, make_document, png_bytes
from tests.security import corpus
from tests.security.bad_input import (
    MB,
    TEXT_VALUES,
    Value,
    changed_tables,
    discover,
    must_refuse,
    restore_storage,
    storage_state,
    table_state,
    url_patterns,
    values_for,
)
from tests.security.conftest import World, build_world

# A refused webhook delivery may keep this much of its body (item 2 of issue 16: "a small
# prefix"), never the whole of a larger one.
REFUSED_WEBHOOK_PREFIX_MAX = 4096
# Reads that are themselves recorded (who looked at which identity document, who exported).
AUDITED_READS = {
    "document.view",
    "document.download",
    "report.download",
    "audit.export",
    "customer.export",
}
LOGIN_FAILURES = {"auth.login_failed", "auth.locked"}
LOCKOUT_TABLES = {model._meta.db_table for model in (AccessAttempt, AccessFailureLog, AccessLog)}
XSS_MARKERS = ("<script>alert('xss')", "<img src=x onerror=alert(1)>")


# ===================================================================================== the world


@dataclass
class CorpusWorld:
    world: World
    storage: Path
    backup: Path
    sessions: dict[str, str]  # role -> session cookie value
    erased: Customer
    erased_ids: dict[str, int]
    reviewed_alert: ManagerAlert
    busy_job: ProviderJob

    def client(self, role: str, *, csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf, raise_request_exception=False)
        if role != "anonymous":
            client.cookies["sessionid"] = self.sessions[role]
        return client


def _storages(root: Path) -> dict:
    from django.conf import settings

    return {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        },
    }


@pytest.fixture(scope="module")
def cw(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[CorpusWorld]:
    root = tmp_path_factory.mktemp("corpus-storage")
    with (
        django_db_blocker.unblock(),
        override_settings(STORAGES=_storages(root)),
        transaction.atomic(),
    ):
        world = build_world()
        analyst, admin_user = world.users["analyst"], world.users["admin"]
        # A case the analyst already holds: "assign to me" again changes nothing.
        services.customer_assign(customer_id=world.individual.pk, assignee=analyst, actor=analyst)
        # An erased customer whose rows are still there: nobody may reach them.
        erased = services.customer_create(
            kind="company", actor=analyst, legal_name="Erased SAS", siren=VALID_SIRENS[2]
        )
        erased_document = make_document(customer=erased, actor=analyst)
        privacy_services.customer_erase(
            customer=erased, reason="corpus: erased on request", actor=admin_user
        )
        erased_ids = {
            "customer": erased.pk,
            "request": erased.requests.get().pk,
            "document": erased_document.pk,
            "job": erased_document.jobs.get().pk,
        }
        backup = tmp_path_factory.mktemp("corpus-storage-backup") / "files"
        shutil.copytree(root, backup)
        sessions = {}
        for role in ("no_role", "analyst", "reviewer", "admin"):
            client = Client()
            client.force_login(world.users[role])
            sessions[role] = client.cookies["sessionid"].value
        yield CorpusWorld(
            world=world,
            storage=root,
            backup=backup,
            sessions=sessions,
            erased=erased,
            erased_ids=erased_ids,
            reviewed_alert=ManagerAlert.objects.exclude(
                review_status=ManagerAlert.ReviewStatus.OPEN
            ).first(),
            busy_job=ProviderJob.objects.filter(status="processing").first(),
        )
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _private_media():
    """Overrides tests/conftest.py's: the module's storage folder holds the world's files."""


# ====================================================================== what each endpoint needs
#
# Domain knowledge the URL conf cannot give: who uses the endpoint, which object it points at,
# a valid submission of each form, and for each form how to make a submission fail for another
# reason than the field under test (a "spoiler"), when the hostile value might be legitimate
# data (a name may well contain an apostrophe): the case must then change nothing either.


@dataclass(frozen=True)
class Context:
    role: str = "analyst"
    # kwargs of the URL, from the world.
    kwargs: Callable[[CorpusWorld], dict] = lambda cw: {}
    # Whether any POST at all is a legitimate write (log-out, take the next case): only the
    # requests refused before the view runs (CSRF, method, role) are tried there.
    post_writes: bool = False


def _pk(getter):
    return lambda cw: {"pk": getter(cw).pk}


CONTEXTS: dict[str, Context] = {
    "kyc:home": Context(),
    "kyc:queue-next": Context(post_writes=True),
    "kyc:customer-create": Context(),
    "kyc:siren-check": Context(),
    "kyc:customer-detail": Context(kwargs=_pk(lambda cw: cw.world.individual)),
    "kyc:customer-assign": Context(kwargs=_pk(lambda cw: cw.world.individual)),
    "kyc:customer-status": Context(kwargs=_pk(lambda cw: cw.world.individual)),
    "kyc:customer-export": Context(role="reviewer", kwargs=_pk(lambda cw: cw.world.company)),
    "kyc:customer-erase": Context(role="admin", kwargs=_pk(lambda cw: cw.world.individual)),
    "kyc:document-upload": Context(kwargs=lambda cw: {"request_id": cw.world.request.pk}),
    "kyc:document-viewer": Context(kwargs=_pk(lambda cw: cw.world.passport)),
    "kyc:document-file": Context(kwargs=_pk(lambda cw: cw.world.passport)),
    "kyc:document-page": Context(kwargs=lambda cw: {"pk": cw.world.statement.pk, "number": 1}),
    "kyc:job-retry": Context(kwargs=_pk(lambda cw: cw.busy_job)),
    "kyc:report-detail": Context(kwargs=_pk(lambda cw: cw.world.reports["doc_xray"])),
    "kyc:report-attachment": Context(kwargs=_pk(lambda cw: cw.world.reports["finovox_risk"])),
    "kyc:customer-alerts": Context(kwargs=_pk(lambda cw: cw.world.company)),
    "kyc:alerts-inbox": Context(),
    # Already reviewed: every submission reaches the service and is refused there.
    "kyc:alert-review": Context(kwargs=_pk(lambda cw: cw.reviewed_alert)),
    # The individual has an open proposal: a second one is refused by the service.
    "kyc:decision-propose": Context(kwargs=_pk(lambda cw: cw.world.individual)),
    # Already confirmed: confirming or sending it back again is refused by the service.
    "kyc:decision-confirm": Context(
        role="reviewer", kwargs=_pk(lambda cw: cw.world.confirmed_decision)
    ),
    "kyc:decision-send-back": Context(
        role="reviewer", kwargs=_pk(lambda cw: cw.world.confirmed_decision)
    ),
    "kyc:customer-timeline": Context(kwargs=_pk(lambda cw: cw.world.individual)),
    "kyc:audit-log": Context(role="reviewer"),
    "kyc:audit-export": Context(role="reviewer"),
    "kyc:ocr-document": Context(kwargs=_pk(lambda cw: cw.world.passport)),
    "kyc:ocr-artemis-link": Context(kwargs=_pk(lambda cw: cw.world.passport)),
    "kyc:ocr-mrz-check": Context(),
    "kyc:ocr-correction-retry": Context(kwargs=_pk(lambda cw: cw.world.correction)),
    "login": Context(role="anonymous"),
    "logout": Context(post_writes=True),
    "set_language": Context(role="anonymous"),
    "healthz": Context(role="anonymous"),
}
# Parameters a view reads through a name the source scan cannot see.
EXTRA_PARAMS = {"set_language": {"POST": {"language"}}}


def _ocr_base(cw: CorpusWorld) -> dict:
    """The OCR correction form posted back unchanged: the service finds nothing to save."""
    from kyc.services.ocr import FIELD_KEYS, corrections_in_order, effective_fields

    result = cw.world.ocr_result
    result.refresh_from_db()
    effective = effective_fields(result, corrections_in_order(result))
    data = {key: str(effective.get(key) or "") for key in FIELD_KEYS}
    data["gender"] = data["gender"].upper()
    return {**data, "ocr_result": str(result.pk), "reason": "corpus: checking"}


@dataclass(frozen=True)
class FormPlan:
    """A valid submission of a form, and how to spoil it for a given field under test."""

    base: Callable[[CorpusWorld], dict]
    spoilers: tuple[dict, ...] = ()

    def spoiler_for(self, name: str) -> dict:
        for spoiler in self.spoilers:
            if name not in spoiler:
                return spoiler
        raise AssertionError(f"no spoiler leaves {name} alone")


FORM_PLANS: dict[str, FormPlan] = {
    # The SIREN of an existing file, not confirmed: the duplicate warning, nothing created.
    "CompanyForm": FormPlan(
        base=lambda cw: {
            "kind": "company",
            "legal_name": "Corpus SAS",
            "siren": cw.world.company.siren,
        },
        spoilers=({"siren": "123"}, {"legal_name": ""}),
    ),
    "IndividualForm": FormPlan(
        base=lambda cw: {
            "kind": "individual",
            "first_name": "Ann",
            "last_name": "Corpus",
            "birth_date": "1980-01-01",
            "nationality": "FRA",
        },
        spoilers=({"birth_date": "2999-01-01"}, {"last_name": ""}),
    ),
    "DocumentRowForm": FormPlan(base=lambda cw: {"kind": "other"}),
    "AlertReviewForm": FormPlan(base=lambda cw: {"action": "acknowledge", "note": "seen"}),
    "DecisionProposeForm": FormPlan(
        base=lambda cw: {"outcome": "approve", "reason_code": "docs_ok", "reason": "corpus"}
    ),
    "ExportForm": FormPlan(
        base=lambda cw: {"purpose": "regulator", "reference": "REF-1"},
        spoilers=({"purpose": "zzz"}, {"reference": ""}),
    ),
    "EraseForm": FormPlan(
        base=lambda cw: {"reason": "corpus", "confirm": "on"},
        spoilers=({"confirm": None}, {"reason": ""}),
    ),
    "OcrCorrectionForm": FormPlan(
        base=_ocr_base, spoilers=({"reason": ""}, {"ocr_result": "999999999"})
    ),
    "ThrottledAuthenticationForm": FormPlan(
        base=lambda cw: {"username": "analyst", "password": "wrong-password"}
    ),
}
# Forms whose valid base submission is refused by the state of the world (see CONTEXTS): every
# hostile value may go in with the rest valid.
REFUSED_BY_STATE = {"AlertReviewForm", "DecisionProposeForm", "ThrottledAuthenticationForm"}
# Raw parameters whose any non-empty value is a legitimate action (unassign=1): tried against a
# row the user may not reach, so the request must be refused.
WRITING_PARAMS = {("kyc:customer-assign", "unassign")}


# ============================================================================= the cases


@dataclass(frozen=True)
class Case:
    id: str
    name: str  # URL name
    method: str = "GET"
    role: str = "analyst"
    kwargs: Callable[[CorpusWorld], dict] | None = None
    path: str | None = None  # a literal path instead of a URL name
    query: tuple[tuple[str, str], ...] = ()  # (name, percent-encoded value)
    form: str | None = None  # FormPlan whose base goes under `fields`
    spoil: str | None = None  # spoil the base for this field
    fields: tuple[tuple[str, str], ...] = ()  # (name, percent-encoded value) sent in the body
    drop: tuple[str, ...] = ()  # base fields left out
    body: bytes | None = None
    content_type: str | None = None
    files: tuple[tuple[str, str, Callable[[], bytes]], ...] = ()  # (field, filename, bytes)
    headers: tuple[tuple[str, str], ...] = ()
    csrf: bool = False  # enforce CSRF (the token is then missing or wrong)
    csrf_token: str = ""
    settings: tuple[tuple[str, object], ...] = ()
    allow: frozenset[str] = frozenset()
    refused: tuple[int, ...] = ()  # when set: the status must be one of these
    webhook_body: bytes | None = None
    chunked: bool = False
    marker: str = ""  # text that must not come back unescaped in HTML

    def __repr__(self) -> str:
        return self.id


ENDPOINTS = {
    name: discover(callback, name, route)
    for name, route, callback in url_patterns()
    if not name.startswith("admin:") and name != "webhook"
}
for _name, _extra in EXTRA_PARAMS.items():
    for _method, _params in _extra.items():
        ENDPOINTS[_name].params.setdefault(_method, set()).update(_params)


def _enc(value: str) -> str:
    return quote(value, safe="")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)


def _marker(value: Value) -> str:
    return XSS_MARKERS[0] if value.label == "html-injection" else ""


def _allow_for(name: str, method: str) -> frozenset[str]:
    allow = set()
    if name == "login" and method == "POST":
        allow.add("login-failure")
    if name in ("kyc:document-viewer", "kyc:document-file", "kyc:report-attachment"):
        allow.add("audit-read")
    if name in ("kyc:audit-export", "kyc:customer-export"):
        allow.add("audit-read")
    return frozenset(allow)


def field_cases() -> Iterator[Case]:
    """Every form field and raw parameter of every endpoint, with the hostile values of its
    type; plus each parameter repeated (valid then hostile, hostile then valid)."""
    for name, endpoint in sorted(ENDPOINTS.items()):
        context = CONTEXTS.get(name, Context())
        for method in ("GET", "POST"):
            if method not in endpoint.methods:
                continue
            if method == "POST" and context.post_writes:
                continue
            form_classes = endpoint.forms.get(method, [])
            # The form is bound to the query string on GET pages, to the body on POSTs.
            targets: list[tuple[str | None, str, object]] = []
            for form_class in form_classes:
                for field_name, form_field in form_class.base_fields.items():
                    targets.append((form_class.__name__, field_name, form_field))
            known = {field_name for _f, field_name, _x in targets}
            for param in sorted(endpoint.params.get(method, ())):
                if param not in known:
                    targets.append((None, param, None))
            # A raw parameter of a POST view with forms goes with the first form's base.
            default_form = form_classes[0].__name__ if form_classes else None
            for form_name, field_name, form_field in targets:
                form_name = form_name or (default_form if method == "POST" else None)
                for value in values_for(form_field):
                    yield _field_case(
                        name, context, method, form_name, field_name, form_field, value
                    )
                if form_field is not None and method == "GET":
                    yield from _repeated_cases(name, context, method, form_name, field_name)


def _field_case(name, context, method, form_name, field_name, form_field, value) -> Case:
    spoil = None
    kwargs = context.kwargs
    refused_here = must_refuse(form_field, value)
    if (
        method == "POST"
        and form_name
        and form_name not in REFUSED_BY_STATE
        and not refused_here
        and FORM_PLANS[form_name].spoilers
    ):
        spoil = field_name
    if method == "POST" and (name, field_name) in WRITING_PARAMS:
        kwargs = lambda cw: {"pk": cw.erased.pk}  # noqa: E731
    pair = ((field_name, value.urlencoded()),)
    suffix = "" if form_name is None else f"{form_name}."
    return Case(
        id=f"field/{name}/{method}/{suffix}{field_name}/{value.label}",
        name=name,
        method=method,
        role=context.role,
        kwargs=kwargs,
        query=pair if method == "GET" else (),
        form=form_name if method == "POST" else None,
        spoil=spoil,
        fields=pair if method == "POST" else (),
        allow=_allow_for(name, method),
        marker=_marker(value),
    )


def _repeated_cases(name, context, method, form_name, field_name) -> Iterator[Case]:
    hostile = "zzz'\"<b>"
    for order, pairs in (("valid-then-hostile", (("", None), (hostile, None))),):
        encoded = tuple((field_name, _enc(v)) for v, _ in pairs)
        spoil = None
        if (
            method == "POST"
            and form_name
            and form_name not in REFUSED_BY_STATE
            and FORM_PLANS[form_name].spoilers
        ):
            spoil = field_name
        yield Case(
            id=f"repeated/{name}/{method}/{field_name}/{order}",
            name=name,
            method=method,
            role=context.role,
            kwargs=context.kwargs,
            query=encoded if method == "GET" else (),
            form=form_name if method == "POST" else None,
            spoil=spoil,
            fields=encoded if method == "POST" else (),
            allow=_allow_for(name, method),
        )


def body_cases() -> Iterator[Case]:
    """Request bodies that are not what a form sends: JSON, broken multipart, too many fields,
    over the in-memory limit, a wrong content type; and every POST endpoint without a CSRF token
    or with a forged one, and every endpoint with the methods it does not accept."""
    too_many = "&".join(f"f{i}=1" for i in range(1200)).encode()
    bodies = {
        "json": (
            b'{"kind": "company", "legal_name": ["x"], "siren": {"$ne": 1}}',
            "application/json",
        ),
        "multipart-no-boundary": (b"--x\r\n\r\n", "multipart/form-data"),
        "multipart-broken": (
            b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother',
            "multipart/form-data; boundary=b",
        ),
        "too-many-fields": (too_many, "application/x-www-form-urlencoded"),
        "over-memory-limit": (b"a=" + b"x" * (3 * MB), "application/x-www-form-urlencoded"),
        "xml": (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            "text/xml",
        ),
        "binary": (bytes(range(256)) * 16, "application/octet-stream"),
    }
    for name, endpoint in sorted(ENDPOINTS.items()):
        context = CONTEXTS.get(name, Context())
        if "POST" in endpoint.methods:
            if not context.post_writes:
                for label, (body, content_type) in bodies.items():
                    yield Case(
                        id=f"body/{name}/{label}",
                        name=name,
                        method="POST",
                        role=context.role,
                        kwargs=context.kwargs,
                        body=body,
                        content_type=content_type,
                        allow=_allow_for(name, "POST"),
                    )
            for label, token in (("csrf-missing", ""), ("csrf-forged", "x" * 64)):
                form = None
                plan_name = (endpoint.forms.get("POST") or [None])[0]
                if plan_name is not None:
                    form = plan_name.__name__
                yield Case(
                    id=f"csrf/{name}/{label}",
                    name=name,
                    method="POST",
                    role=context.role,
                    kwargs=context.kwargs,
                    form=form,
                    csrf=True,
                    csrf_token=token,
                    refused=(403,),
                )
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method in endpoint.methods or (method == "GET" and "POST" not in endpoint.methods):
                continue
            yield Case(
                id=f"method/{name}/{method}",
                name=name,
                method=method,
                role=context.role,
                kwargs=context.kwargs,
                refused=(405,),
            )


def header_cases() -> Iterator[Case]:
    """Hostile request headers on the pages that read them (htmx targets, conditional polls,
    language negotiation, request ids, proxies)."""
    headers = ("HX-Request", "HX-Target", "If-None-Match", "Accept-Language", "X-Request-ID")
    for name in ("kyc:home", "kyc:customer-status", "kyc:audit-log", "kyc:ocr-document"):
        context = CONTEXTS[name]
        for header in headers:
            for value in (HUGE, NUL, SURROGATE):
                text = (
                    value.text
                    if value.text is not None
                    else unquote_to_bytes(value.urlencoded()).decode("latin-1")
                )
                extra = (("HX-Request", "true"),) if header == "HX-Target" else ()
                yield Case(
                    id=f"header/{name}/{header}/{value.label}",
                    name=name,
                    role=context.role,
                    kwargs=context.kwargs,
                    headers=((header, text), *extra),
                )


# ----------------------------------------------------------------------------- access checks

OBJECT_URLS = {
    # name: (world getter, kind of the erased row to try)
    "kyc:customer-detail": "customer",
    "kyc:customer-status": "customer",
    "kyc:customer-alerts": "customer",
    "kyc:customer-timeline": "customer",
    "kyc:customer-export": "customer",
    "kyc:customer-erase": "customer",
    "kyc:customer-assign": "customer",
    "kyc:decision-propose": "customer",
    "kyc:document-upload": "request",
    "kyc:document-viewer": "document",
    "kyc:document-file": "document",
    "kyc:document-page": "document",
    "kyc:ocr-document": "document",
    "kyc:ocr-artemis-link": "document",
    "kyc:job-retry": "job",
}
REVIEWERS_ONLY = {"kyc:audit-log", "kyc:audit-export", "kyc:customer-export"}
ADMINS_ONLY = {"kyc:customer-erase"}
ID_VALUES = ("0", "999999999", "9223372036854775807", "9223372036854775808", "9" * 30)


def _with_pk(kwargs: Callable, key: str, value) -> Callable:
    def build(cw):
        built = dict(kwargs(cw))
        built[key] = value(cw) if callable(value) else value
        return built

    return build


def access_cases() -> Iterator[Case]:
    """Rows the user may not reach: a user without a role on every page with an object, an
    analyst on the reviewers' and admins' pages, anyone on an erased customer's rows, ids that
    do not exist or overflow the database's integers."""
    for name, endpoint in sorted(ENDPOINTS.items()):
        context = CONTEXTS.get(name, Context())
        method = "GET" if "GET" in endpoint.methods else "POST"
        if context.role == "anonymous":
            continue
        if not (method == "POST" and context.post_writes):
            yield Case(
                id=f"access/{name}/no-role",
                name=name,
                method=method,
                role="no_role",
                kwargs=context.kwargs,
                refused=(200,) if name == "kyc:home" else (403, 404),
            )
        if name in REVIEWERS_ONLY | ADMINS_ONLY:
            roles = ("analyst",) if name in REVIEWERS_ONLY else ("analyst", "reviewer")
            for role in roles:
                yield Case(
                    id=f"access/{name}/{role}",
                    name=name,
                    method=method,
                    role=role,
                    kwargs=context.kwargs,
                    refused=(403, 404),
                )
        kind = OBJECT_URLS.get(name)
        if kind is None:
            continue
        key = "request_id" if kind == "request" else "pk"
        role = "admin" if name in ADMINS_ONLY else context.role
        yield Case(
            id=f"access/{name}/erased-{kind}",
            name=name,
            method=method,
            role=role,
            kwargs=_with_pk(context.kwargs, key, lambda cw, kind=kind: cw.erased_ids[kind]),
            refused=(404,),
        )
        for value in ID_VALUES:
            yield Case(
                id=f"access/{name}/id-{value[:22]}",
                name=name,
                method=method,
                role=role,
                path=None,
                kwargs=_with_pk(context.kwargs, key, int(value)),
                refused=(404,),
            )
    # The page number of a PDF page.
    for value in ("0", "501", "9223372036854775808"):
        yield Case(
            id=f"access/kyc:document-page/page-{value[:20]}",
            name="kyc:document-page",
            kwargs=_with_pk(CONTEXTS["kyc:document-page"].kwargs, "number", int(value)),
            refused=(404,),
        )
    # The OCR page of another document's result, and the proposer confirming their own proposal.
    yield Case(
        id="access/kyc:ocr-document/result-of-another-document",
        name="kyc:ocr-document",
        kwargs=CONTEXTS["kyc:ocr-document"].kwargs,
        query=(("result", "999999999"),),
        refused=(404,),
    )
    for name in ("kyc:decision-confirm", "kyc:decision-send-back"):
        yield Case(
            id=f"access/{name}/by-the-proposer",
            name=name,
            method="POST",
            role="analyst",
            kwargs=_pk(lambda cw: cw.world.open_decision),
            refused=(403,),
        )


# ----------------------------------------------------------------------------------- uploads


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.pdf", b"\x00" * (20 * MB))
    return buffer.getvalue()


def _cut(build: Callable[[], bytes], fraction: float) -> Callable[[], bytes]:
    return lambda: (data := build())[: max(1, int(len(data) * fraction))]


UPLOADS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "empty-file": ("scan.png", lambda: b""),
    "one-byte": ("scan.png", lambda: b"\x89"),
    "plain-text-named-pdf": ("statement.pdf", lambda: b"hello, this is not a PDF\n" * 10),
    "exe-named-png": ("scan.png", lambda: b"MZ\x90\x00" + b"\x00" * 512),
    "elf-named-pdf": ("statement.pdf", lambda: b"\x7fELF" + b"\x00" * 512),
    "zip-named-jpg": ("scan.jpg", _zip_bomb),
    "docx-named-pdf": ("statement.pdf", lambda: b"PK\x03\x04" + b"\x00" * 200),
    "gzip-named-pdf": ("statement.pdf", lambda: b"\x1f\x8b\x08" + b"\x00" * 100),
    "pdf-header-only": ("statement.pdf", lambda: b"%PDF-1.7\n"),
    "pdf-cut-10pc": ("statement.pdf", _cut(corpus.simple_pdf, 0.1)),
    "pdf-cut-90pc": ("statement.pdf", _cut(corpus.simple_pdf, 0.9)),
    "png-cut-header": ("scan.png", _cut(png_bytes, 0.05)),
    "png-nul-name": ("scan\x00.png", lambda: b""),
}
for _case in corpus.CORPUS:
    if _case.expect == "refused":
        UPLOADS[f"corpus-{_case.name}"] = (_case.filename, _case.build)


def upload_cases() -> Iterator[Case]:
    """Hostile files (and hostile names on a refused file) through the real upload view, as a
    plain form and as htmx; and one file over the size limit."""
    kwargs = CONTEXTS["kyc:document-upload"].kwargs
    for label, (filename, build) in UPLOADS.items():
        for htmx in (False, True):
            yield Case(
                id=f"upload/{label}" + ("/htmx" if htmx else ""),
                name="kyc:document-upload",
                method="POST",
                kwargs=kwargs,
                form="DocumentRowForm",
                files=(("files", filename, build),),
                headers=(("HX-Request", "true"),) if htmx else (),
            )
    for label, name in corpus.HOSTILE_NAMES.items():
        yield Case(
            id=f"upload/hostile-name/{label}",
            name="kyc:document-upload",
            method="POST",
            kwargs=kwargs,
            form="DocumentRowForm",
            files=(("files", name, lambda: b"<html>not a document</html>"),),
        )
    yield Case(
        id="upload/over-size-limit",
        name="kyc:document-upload",
        method="POST",
        kwargs=kwargs,
        form="DocumentRowForm",
        files=(("files", "scan.png", lambda: png_bytes() + b"\x00" * (70 * 1024)),),
        settings=(("MAX_UPLOAD_BYTES", 64 * 1024),),
    )
    yield Case(
        id="upload/no-file-at-all",
        name="kyc:document-upload",
        method="POST",
        kwargs=kwargs,
        form="DocumentRowForm",
    )
    # A valid file with each hostile row value: the row must be refused, the file not stored.
    row_fields = ENDPOINTS["kyc:document-upload"].form_fields("POST")
    for field_name, form_field in row_fields.items():
        for value in values_for(form_field):
            if not must_refuse(form_field, value):
                continue
            yield Case(
                id=f"upload/valid-file/{field_name}/{value.label}",
                name="kyc:document-upload",
                method="POST",
                kwargs=kwargs,
                form="DocumentRowForm",
                fields=((field_name, value.urlencoded()),),
                files=(("files", "scan.png", png_bytes),),
            )


# ---------------------------------------------------------------------------------- webhooks

OCTOBER_SECRET = "corpus-october-webhook-secret"
MINDEE_SECRET = "corpus-mindee-webhook-secret"
OCTOBER_ON = (("OCTOBER_USER_ID", "corpus-user"), ("OCTOBER_SESSION_TOKEN", "corpus-token"))
SIGNED = {
    "october": (*OCTOBER_ON, ("OCTOBER_WEBHOOK_SECRET", OCTOBER_SECRET)),
    "mindee": (("MINDEE_API_KEY", "corpus-key"), ("MINDEE_WEBHOOK_SECRET", MINDEE_SECRET)),
}

WEBHOOK_BODIES: dict[str, bytes] = {
    "empty": b"",
    "garbage": bytes(range(256)) * 8,
    "not-json": b"hello=world&x=1",
    "json-array": b"[1, 2, 3]",
    "json-null": b"null",
    "nul-in-ids": b'{"event":"new_report","requestId":"a\\u0000b","reportId":"a\\u0000b",'
    b'"job":{"id":"a\\u0000b"},"document":{"id":"a\\u0000b"}}',
    "raw-nul": b'{"event":"new\x00report","requestId":"r\x00","job":{"id":"j\x00"}}',
    "lone-surrogate": b'{"event":"\\ud800","reportId":"\\udfff","job":{"id":"\\ud800"}}',
    "invalid-utf8": b'{"event":"\xed\xa0\x80","reportId":"\xff\xfe","job":{"id":"\xc0\xaf"}}',
    "deep-nesting": b"[" * 50_000 + b"]" * 50_000,
    "huge-ids": json.dumps({"event": "x" * 5000, "requestId": "9" * 5000}).encode(),
    "near-limit": b'{"event":"new_report","pad":"' + b"x" * (MB - 64) + b'"}',
    "over-limit": b"x" * (MB + 1),
}
SLUGS_UNKNOWN = ("unknown", "OCTOBER", "artemis", "local-", "_", "0")


def _sign(provider: str, body: bytes, variant: str) -> tuple[tuple[str, str], ...]:
    if provider == "october":
        header = "X-October-Webhook-Secret"
        good = OCTOBER_SECRET
    else:
        header = "X-Mindee-Hmac-Signature"
        good = hmac.new(MINDEE_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "valid": ((header, good),),
        "missing": (),
        "wrong": ((header, "0" * len(good)),),
        "wrong-length": ((header, good[:-1]),),
        "nul-in-signature": ((header, good[:10] + "\x00" + good[11:]),),
        "huge-signature": ((header, "a" * 10_000),),
    }[variant]


def webhook_cases() -> Iterator[Case]:
    from django.conf import settings
    from django.utils.module_loading import import_string

    slugs = [import_string(path).name for path in settings.KYC_PROVIDERS]
    url = "/webhooks/{}/"
    # Nothing configured (the tests' settings): every slug, known or not, is not found.
    for slug in (*slugs, *SLUGS_UNKNOWN):
        for label in ("empty", "garbage", "nul-in-ids", "lone-surrogate", "over-limit"):
            for chunked in (False, True) if label == "garbage" else (False,):
                yield Case(
                    id=f"webhook/unconfigured/{slug}/{label}" + ("/chunked" if chunked else ""),
                    name="webhook",
                    method="POST",
                    role="anonymous",
                    path=url.format(slug),
                    webhook_body=WEBHOOK_BODIES[label],
                    content_type="application/json",
                    chunked=chunked,
                    # Not found, whichever check comes first: too large, or length required.
                    refused=(404, 411, 413),
                )
        for method in ("GET", "PUT"):
            yield Case(
                id=f"webhook/unconfigured/{slug}/method-{method}",
                name="webhook",
                method=method,
                role="anonymous",
                path=url.format(slug),
                refused=(404, 405),
            )
    for path in ("/webhooks/%00/", "/webhooks/%ED%A0%80/", "/webhooks/../admin/", "/webhooks/"):
        yield Case(
            id=f"webhook/bad-path/{_slug(path)}",
            name="webhook",
            method="POST",
            role="anonymous",
            path=path,
            webhook_body=b"{}",
            content_type="application/json",
            refused=(404,),
        )
    # Configured, with a secret: refused deliveries keep only metadata and a prefix.
    for provider, configuration in SIGNED.items():
        for variant in ("missing", "wrong", "wrong-length", "nul-in-signature", "huge-signature"):
            labels = WEBHOOK_BODIES if variant == "wrong" else ("garbage", "near-limit")
            for label in labels:
                for chunked in (False, True) if label in ("garbage", "near-limit") else (False,):
                    body = WEBHOOK_BODIES[label]
                    yield Case(
                        id=f"webhook/{provider}/signature-{variant}/{label}"
                        + ("/chunked" if chunked else ""),
                        name="webhook",
                        method="POST",
                        role="anonymous",
                        path=url.format(provider),
                        webhook_body=body,
                        content_type="application/json",
                        headers=_sign(provider, body, variant),
                        settings=configuration,
                        chunked=chunked,
                        allow=frozenset({"webhook-refused"}),
                        refused=(400, 401, 403, 411, 413),
                    )
        # Signed by the vendor but broken inside: stored as sent (or refused), never a 500.
        for label, body in WEBHOOK_BODIES.items():
            for chunked in (False, True) if label in ("nul-in-ids", "near-limit") else (False,):
                yield Case(
                    id=f"webhook/{provider}/signature-valid/{label}"
                    + ("/chunked" if chunked else ""),
                    name="webhook",
                    method="POST",
                    role="anonymous",
                    path=url.format(provider),
                    webhook_body=body,
                    content_type="application/json",
                    headers=_sign(provider, body, "valid"),
                    settings=configuration,
                    chunked=chunked,
                    allow=frozenset({"webhook-stored"}),
                )
    # October configured without a secret: refused unless unsigned deliveries are allowed.
    for label in ("empty", "garbage", "nul-in-ids", "near-limit"):
        yield Case(
            id=f"webhook/october-without-secret/{label}",
            name="webhook",
            method="POST",
            role="anonymous",
            path=url.format("october"),
            webhook_body=WEBHOOK_BODIES[label],
            content_type="application/json",
            settings=OCTOBER_ON,
            allow=frozenset({"webhook-refused"}),
            refused=(401, 403, 404),
        )


# ------------------------------------------------------------------------------------- admin


_BY_LABEL = {value.label: value for value in TEXT_VALUES}
HUGE, NUL, SURROGATE, SQL = (
    _BY_LABEL[label] for label in ("huge-1mb", "nul", "lone-surrogate", "sql-injection")
)
BIG = Value("big-number", "99999999999999999999")


def admin_cases() -> Iterator[Case]:
    """Every model admin's change list with hostile search, ordering, paging, date-hierarchy
    and filter parameters; every add form posted without a CSRF token, and by an analyst."""
    for model, model_admin in sorted(
        admin.site._registry.items(), key=lambda item: item[0]._meta.label
    ):
        meta = model._meta
        base = f"admin:{meta.app_label}_{meta.model_name}"
        # One hostile value per parameter (a change list costs a tenth of a second to render):
        # the type of value each parameter is most likely to break on.
        by_param: dict[str, tuple[Value, ...]] = {
            "q": (HUGE, NUL, SURROGATE) if model is Customer else (HUGE,),
            "o": (SQL,),
            "p": (BIG,),
            "_to_field": (Value("password", "password"),),
        }
        if model_admin.date_hierarchy:
            by_param[f"{model_admin.date_hierarchy}__year"] = (BIG, Value("year-9999", "9999"))
            by_param[f"{model_admin.date_hierarchy}__month"] = (Value("month-13", "13"),)
        filters = [entry for entry in model_admin.list_filter if isinstance(entry, str)]
        if filters:
            by_param[f"{filters[0]}__exact"] = (NUL,)
        for param, values in by_param.items():
            for value in values:
                yield Case(
                    id=f"admin/{meta.label_lower}/changelist/{param}/{value.label}",
                    name=f"{base}_changelist",
                    role="admin",
                    query=((param, value.urlencoded()),),
                    marker=_marker(value),
                )
        yield Case(
            id=f"admin/{meta.label_lower}/add/csrf-missing",
            name=f"{base}_add",
            method="POST",
            role="admin",
            csrf=True,
            fields=(("name", "x"),),
            refused=(403,),
        )
        yield Case(
            id=f"admin/{meta.label_lower}/add/analyst",
            name=f"{base}_add",
            method="POST",
            role="analyst",
            fields=(("name", "x"),),
            refused=(302, 403),
        )


ALL_CASES = [
    *field_cases(),
    *body_cases(),
    *header_cases(),
    *access_cases(),
    *upload_cases(),
    *webhook_cases(),
    *admin_cases(),
]


# ============================================================================== running a case


def _url(case: Case, cw: CorpusWorld) -> str:
    if case.path is not None:
        path = case.path
    else:
        path = reverse(case.name, kwargs=case.kwargs(cw) if case.kwargs else None)
    if case.query:
        path += "?" + "&".join(f"{_enc(k)}={v}" for k, v in case.query)
    return path


def _form_pairs(case: Case, cw: CorpusWorld) -> list[tuple[str, str]]:
    """(name, percent-encoded value): the form's base, spoiled if asked, then the case's own."""
    data: dict = {}
    if case.form is not None:
        plan = FORM_PLANS[case.form]
        data = dict(plan.base(cw))
        if case.spoil is not None and plan.spoilers:
            data.update(plan.spoiler_for(case.spoil))
    own = {name for name, _ in case.fields}
    pairs = [
        (name, _enc(str(value)))
        for name, value in data.items()
        if value is not None and name not in own and name not in case.drop
    ]
    return pairs + list(case.fields)


def _multipart(pairs, files, boundary: str = "----corpus-boundary") -> tuple[bytes, str]:
    parts = []
    for name, encoded in pairs:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + unquote_to_bytes(encoded)
            + b"\r\n"
        )
    for name, filename, build in files:
        parts.append(
            f"--{boundary}\r\n".encode()
            + f'Content-Disposition: form-data; name="{name}"; filename="'.encode()
            + filename.encode("utf-8", "surrogatepass")
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + build()
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _send(case: Case, cw: CorpusWorld):
    client = cw.client(case.role, csrf=case.csrf)
    url = _url(case, cw)
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in case.headers}
    if case.csrf:
        client.cookies["csrftoken"] = "c" * 32
        if case.csrf_token:
            extra["HTTP_X_CSRFTOKEN"] = case.csrf_token
    if case.webhook_body is not None:
        body = case.webhook_body
        if case.chunked:
            # As a WSGI server hands a chunked request over: no Content-Length, the de-chunked
            # bytes in wsgi.input.
            extra.update(
                {
                    "HTTP_TRANSFER_ENCODING": "chunked",
                    "CONTENT_LENGTH": "",
                    "wsgi.input": io.BytesIO(body),
                }
            )
            return client.generic(case.method, url, b"", content_type=case.content_type, **extra)
        return client.generic(case.method, url, body, content_type=case.content_type, **extra)
    if case.body is not None:
        return client.generic(case.method, url, case.body, content_type=case.content_type, **extra)
    if case.method == "GET":
        return client.get(url, **extra)
    pairs = _form_pairs(case, cw)
    if case.files:
        body, content_type = _multipart(pairs, case.files)
    else:
        body = "&".join(f"{_enc(name)}={value}" for name, value in pairs).encode()
        content_type = "application/x-www-form-urlencoded"
    return client.generic(case.method, url, body, content_type=content_type, **extra)


def _consume(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _max_pk(model) -> int:
    return model._base_manager.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def world_files(cw: CorpusWorld):
    """After each case the storage folder is as the world left it, even when the case failed
    (rows are rolled back by the database; files are not)."""
    yield
    if storage_state(cw.storage) != storage_state(cw.backup):
        restore_storage(cw.storage, cw.backup)


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.id for case in ALL_CASES])
def test_bad_input_changes_nothing(case: Case, cw: CorpusWorld, db, settings, world_files):
    for name, value in case.settings:
        setattr(settings, name, value)
    audit_max, webhook_max = _max_pk(AuditEvent), _max_pk(WebhookEvent)
    before_rows, before_files = table_state(), storage_state(cw.storage)

    response = _send(case, cw)
    content = _consume(response)

    status = response.status_code
    assert status < 500, f"{case.id}: {status}\n{content[:2000]!r}"
    if case.refused:
        assert status in case.refused, f"{case.id}: answered {status}, not {case.refused}"
    if case.marker and response.get("Content-Type", "").startswith("text/html"):
        assert case.marker.encode() not in content, f"{case.id}: the value came back unescaped"

    after_rows = table_state()
    allowed: set[str] = set()
    new_audit = list(AuditEvent.objects.filter(pk__gt=audit_max).values_list("action", flat=True))
    if new_audit:
        if "audit-read" in case.allow and status == 200:
            assert set(new_audit) <= AUDITED_READS, f"{case.id}: audited {new_audit}"
            allowed.add(AuditEvent._meta.db_table)
        elif "login-failure" in case.allow:
            assert set(new_audit) <= LOGIN_FAILURES, f"{case.id}: audited {new_audit}"
            allowed.add(AuditEvent._meta.db_table)
    new_webhooks = list(WebhookEvent.objects.filter(pk__gt=webhook_max))
    if new_webhooks:
        assert len(new_webhooks) == 1, f"{case.id}: {len(new_webhooks)} webhook rows"
        event = new_webhooks[0]
        stored = bytes(event.body)
        if "webhook-refused" in case.allow and status >= 400:
            assert event.state == WebhookEvent.State.REJECTED, f"{case.id}: {event.state}"
            assert len(stored) <= REFUSED_WEBHOOK_PREFIX_MAX, (
                f"{case.id}: a refused delivery kept {len(stored)} bytes of its body"
            )
            allowed.add(WebhookEvent._meta.db_table)
        elif "webhook-stored" in case.allow and status < 300:
            assert stored == case.webhook_body, (
                f"{case.id}: stored {len(stored)} bytes of the {len(case.webhook_body)} sent"
            )
            allowed.add(WebhookEvent._meta.db_table)
    if "login-failure" in case.allow:
        # A refused log-in is counted, as it must be: django-axes keeps the counts in its tables.
        for table in LOCKOUT_TABLES:
            after_rows[table] = before_rows[table]
    if allowed:
        # Only new rows: the rows that were there are unchanged.
        limits = {AuditEvent._meta.db_table: audit_max, WebhookEvent._meta.db_table: webhook_max}
        old_rows = table_state({table: limits[table] for table in allowed})
        for table in allowed:
            assert old_rows[table] == before_rows[table], f"{case.id}: {table} rows changed"
            after_rows[table] = before_rows[table]
    changes = changed_tables(before_rows, after_rows)
    assert not changes, f"{case.id} (answered {status}) changed rows: {changes}"
    after_files = storage_state(cw.storage)
    assert after_files == before_files, (
        f"{case.id}: storage changed: "
        f"{sorted(set(after_files) ^ set(before_files)) or 'a file was rewritten'}"
    )


# =============================================================================== the corpus itself


def test_the_corpus_covers_every_endpoint_and_is_large():
    names = {name for name, _route, _callback in url_patterns()}
    app_names = {n for n in names if not n.startswith("admin:")}
    assert app_names - {"webhook"} <= set(CONTEXTS), (
        f"teach the corpus these endpoints: {sorted(app_names - set(CONTEXTS) - {'webhook'})}"
    )
    covered = {case.name for case in ALL_CASES}
    assert app_names <= covered
    registered = {
        f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist" for m in admin.site._registry
    }
    assert registered <= covered
    assert len(ALL_CASES) >= 300
    assert len({case.id for case in ALL_CASES}) == len(ALL_CASES), "case ids must be unique"


def test_every_form_the_views_bind_has_a_plan():
    for endpoint in ENDPOINTS.values():
        for form_class in endpoint.forms.get("POST", []):
            assert form_class.__name__ in FORM_PLANS, f"no plan for {form_class.__name__}"


def test_the_discovery_finds_the_forms_and_parameters_views_read():
    # A check of the scanner on views whose inputs are known.
    assert [f.__name__ for f in ENDPOINTS["kyc:home"].forms["GET"]] == ["QueueFilterForm"]
    assert {"kind"} <= ENDPOINTS["kyc:customer-create"].params["POST"]
    assert ENDPOINTS["kyc:decision-confirm"].params["POST"] == {"comment"}
    assert ENDPOINTS["kyc:alert-review"].methods == ("POST",)
    assert ENDPOINTS["kyc:customer-export"].methods == ("GET", "POST")

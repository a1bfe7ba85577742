"""A crawl of every URL of the project, with real objects behind every id, as an anonymous visitor
and as each role (no role, analyst, reviewer, admin).

It proves the access rules (only log-in, the language switch, the health check and the webhooks
are public; analysts reach neither the audit log nor the admin; reviewers do not reach the
admin), that no GET changes anything but the audit trail of reads, that no page answers 500 to
anyone, that every HTML page carries the strict CSP, and that the hostile text of the world
(tests/security/conftest.py) always comes out escaped.

tests/test_access.py walks the same URL conf with made-up ids for the anonymous visitor; this
crawl puts real rows behind the ids, so views run to the end.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.files.storage import default_storage
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.html import escape

from kyc.models import AuditEvent, Customer
from tests.security.conftest import ROLES, UNESCAPED_MARKERS, XSS_SHORT, World
from tests.test_access import assert_secure_html

PUBLIC = {"login", "set_language", "healthz", "webhook", "admin:login"}
POST_ONLY = {
    "kyc:queue-next",
    "kyc:customer-assign",
    "kyc:document-upload",
    "kyc:job-retry",
    "kyc:alert-review",
    "kyc:decision-propose",
    "kyc:decision-confirm",
    "kyc:decision-send-back",
    "kyc:ocr-artemis-link",
    "kyc:ocr-correction-retry",
    "logout",
}
REVIEWERS_ONLY = {"kyc:audit-log", "kyc:audit-export", "kyc:customer-export"}
ADMINS_ONLY = {"kyc:customer-erase"}
# Reads that are recorded (who looked at which identity document, who exported what).
AUDITED_READS = {"document.view", "document.download", "report.download", "audit.export"}


def _patterns(patterns=None, prefix: str = "", namespace: str = ""):
    """(name, route) for every URL pattern, recursing into includes."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield (
                (f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed>"),
                (prefix + str(entry.pattern)),
            )


def _admin_object_id(route: str, world: World) -> str:
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if match is None:
        return "1"
    app_label, model_name = match.groups()
    if (app_label, model_name) == ("auth", "user"):
        return str(world.users["analyst"].pk)
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return "1"
    obj = model._default_manager.order_by("pk").first()
    return str(obj.pk) if obj is not None else "1"


def crawl_urls(world: World) -> list[tuple[str, str]]:
    """(name, url) for every pattern, with each id pointing at a real row of the world."""
    customers = [world.individual.pk, world.company.pk]
    values = {
        "kyc:document-viewer": [world.passport.pk, world.statement.pk],
        "kyc:document-file": [world.passport.pk, world.statement.pk],
        "kyc:document-page": [world.statement.pk],
        "kyc:ocr-document": [world.passport.pk],
        "kyc:ocr-artemis-link": [world.passport.pk],
        "kyc:job-retry": [world.job.pk],
        "kyc:report-detail": [report.pk for report in world.reports.values()],
        "kyc:report-attachment": [world.reports["finovox_risk"].pk],
        "kyc:alert-review": [world.alert.pk],
        "kyc:decision-confirm": [world.open_decision.pk],
        "kyc:decision-send-back": [world.open_decision.pk],
        "kyc:ocr-correction-retry": [world.correction.pk],
    }
    urls = []
    for name, route in _patterns():
        route = route.replace("^", "").replace("$", "")
        if "(?P<app_label>" in route:
            urls.append((name, "/" + re.sub(r"\(\?P<app_label>[^)]*\)", "kyc", route)))
            continue
        if "(?P<url>" in route:
            urls.append((name, "/admin/nowhere/"))
            continue
        ids = values.get(name, customers if "<int:pk>" in route else [None])
        for pk in ids:
            url = route
            url = url.replace("<int:pk>", str(pk)).replace("<int:number>", "1")
            url = url.replace("<int:request_id>", str(world.request.pk))
            url = url.replace("<slug:provider>", "october")
            url = url.replace("<id>", str(world.users["analyst"].pk))
            if "<path:content_type_id>" in url:
                content_type = ContentType.objects.get_for_model(Customer)
                url = url.replace("<path:content_type_id>", str(content_type.pk))
                url = url.replace("<path:object_id>", str(world.individual.pk))
            url = url.replace("<path:object_id>", _admin_object_id(route, world))
            assert "<" not in url, f"the crawl cannot fill {route}: teach it"
            urls.append((name, "/" + url))
    return sorted(set(urls))


def database_state() -> dict[str, str]:
    """Every row of every table except sessions and the audit trail (checked separately)."""
    state = {}
    for model in apps.get_models():
        if model in (Session, AuditEvent):
            continue
        rows = list(model._default_manager.order_by("pk").values())
        state[model._meta.label] = json.dumps(
            rows,
            sort_keys=True,
            default=lambda v: bytes(v).hex() if isinstance(v, memoryview | bytes) else str(v),
        )
    return state


def stored_files() -> set[str]:
    found, pending = set(), [""]
    while pending:
        folder = pending.pop()
        folders, files = default_storage.listdir(folder)
        pending += [f"{folder}/{name}".lstrip("/") for name in folders]
        found |= {f"{folder}/{name}".lstrip("/") for name in files}
    return found


def expected(role: str, name: str) -> str:
    """What a GET must give: "public", "login", "405", "refused" or "ok"."""
    if name in PUBLIC:
        return "public"
    if role == "anonymous":
        return "login"
    if name in POST_ONLY:
        return "405"
    if name.startswith("admin:") or name == "admin:<unnamed>":
        return "ok" if role == "admin" else "refused"
    if role == "no_role":
        return "ok" if name == "kyc:home" else "refused"
    if name in ADMINS_ONLY and role != "admin":
        return "refused"
    if name in REVIEWERS_ONLY and role == "analyst":
        return "refused"
    return "ok"


def assert_escaped(html: str, url: str) -> None:
    for marker in UNESCAPED_MARKERS:
        assert marker not in html, f"{url} shows {marker!r} unescaped"


@pytest.mark.parametrize("role", ROLES)
def test_every_url_as_each_role(world, role):
    client = world.client(role)
    urls = crawl_urls(world)
    assert len(urls) > 100
    before_rows, before_files = database_state(), stored_files()
    audit_before = set(AuditEvent.objects.values_list("pk", flat=True))
    problems = []

    for name, url in urls:
        response = client.get(url)
        status = response.status_code
        want = expected(role, name)
        if status >= 500:
            problems.append(f"{url} ({name}): {status}")
            continue
        if want == "public":
            if status in (301, 302):
                assert "/login/" not in urlsplit(response["Location"]).path, url
        elif want == "login":
            assert status == 302, f"{url} answered {status} anonymously"
            assert "login/" in response["Location"], url
        elif want == "405":
            assert status == 405, f"{url} ({name}) answered {status} to a GET as {role}"
        elif want == "refused":
            # The admin sends non-staff users to its log-in page (its log-out: to its index,
            # which does the same).
            refused = status in (403, 404) or (
                status == 302
                and urlsplit(response["Location"]).path in ("/admin/login/", "/admin/")
            )
            assert refused, f"{url} ({name}) answered {status} to {role}"
        else:
            ok = status in (200, 286) or (
                name.startswith("admin:") and status in (302, 403, 404, 405)
            )
            assert ok, f"{url} ({name}) answered {status} to {role}"
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html"):
            assert_secure_html(response, url)
            html = response.content.decode()
            assert_escaped(html, url)
            if role == "no_role":
                assert escape(XSS_SHORT) not in html, f"{url} leaks a customer"
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert not problems, problems

    # No GET changed anything: same rows, same files; the audit trail only gained reads.
    assert database_state() == before_rows
    assert stored_files() == before_files
    new_actions = set(
        AuditEvent.objects.exclude(pk__in=audit_before).values_list("action", flat=True)
    )
    assert new_actions <= AUDITED_READS, new_actions


def test_the_crawl_reaches_every_page_of_the_app(world):
    names = {name for name, _url in crawl_urls(world)}
    assert {
        "kyc:customer-detail",
        "kyc:customer-export",
        "kyc:customer-erase",
        "kyc:report-detail",
        "kyc:ocr-document",
        "kyc:audit-log",
        "admin:kyc_customer_change",
        "admin:kyc_webhookevent_change",
    } <= names
    assert names >= PUBLIC
    assert names >= POST_ONLY

"""Hardening: production settings (`check --deploy`), log-in throttling, password rules, idle
sessions, private files, webhook rate limits and the error pages."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.template import loader
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error
from freezegun import freeze_time

from kyc import throttle
from kyc.models import AuditEvent, Document, WebhookEvent
from tests.builders import make_report
from tests.factories import make_customer, make_document, make_user, pdf_bytes, png_bytes
from tests.fakes import sign

PASSWORD = "pw-for-tests-only"
LOCKED = "Too many failed log-in attempts"


# ------------------------------------------------------------------ production settings


def production_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "kyc.example.com",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    env.update(extra)
    return env


def manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=production_env(tmp_path, **env),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_on_a_weak_secret_key(tmp_path):
    # The check is real: a short key is a warning, and warnings fail the check.
    result = manage(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY="too-short"
    )

    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


def test_production_defaults_are_https_only(tmp_path):
    code = (
        "import json, kyc.settings as s; print(json.dumps({k: getattr(s, k) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT',"
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SESSION_COOKIE_HTTPONLY',"
        "'SESSION_COOKIE_AGE', 'CACHES', 'DEBUG')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=production_env(tmp_path, SESSION_IDLE_SECONDS="600"),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["DEBUG"] is False
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True
    assert loaded["SESSION_COOKIE_AGE"] == 600  # SESSION_IDLE_SECONDS
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")


def test_redis_url_moves_the_throttle_counters_to_redis(tmp_path):
    code = "import json, kyc.settings as s; print(json.dumps(s.CACHES))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=production_env(tmp_path, REDIS_URL="redis://127.0.0.1:6379/3"),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    cache = json.loads(result.stdout)["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/3"


def test_https_is_enforced_when_the_redirect_is_on(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000

    plain = client.get(reverse("login"))
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")

    secure = client.get(reverse("login"), secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    # Load balancers probe the health check over plain HTTP.
    assert client.get(reverse("healthz")).status_code == 200


# --------------------------------------------------------------------------- log-in throttle


def login(client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, analyst):
    for attempt in range(4):
        response = login(client, analyst.username, f"wrong-{attempt}")
        assert "correct username and password" in response.text
        assert LOCKED not in response.text

    fifth = login(client, analyst.username, "wrong-5")
    assert fifth.status_code == 200
    assert LOCKED in fifth.text
    assert "15 more minutes" in fifth.text
    assert 'role="alert"' in fifth.text

    right = login(client, analyst.username, PASSWORD)
    assert right.status_code == 200
    assert LOCKED in right.text
    assert not logged_in(client)

    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert failed.count() == 5  # refused-while-locked attempts are not recorded
    assert {e.object_id for e in failed} == {str(analyst.pk)}
    assert failed.first().after["username"] == analyst.username
    assert failed.first().ip_address == "127.0.0.1"
    lock = AuditEvent.objects.get(action="auth.locked")
    assert lock.after["scope"] == "username"
    assert lock.after["seconds"] == 900


def test_the_lock_expires_after_fifteen_minutes(client, analyst):
    with freeze_time("2026-03-02 09:00:00") as clock:
        for attempt in range(5):
            login(client, analyst.username, f"wrong-{attempt}")
        clock.tick(14 * 60)
        assert LOCKED in login(client, analyst.username, PASSWORD).text
        clock.tick(61)
        response = login(client, analyst.username, PASSWORD)

        assert response.status_code == 302
        assert logged_in(client)


def test_a_successful_log_in_resets_the_count(client, analyst):
    for attempt in range(4):
        login(client, analyst.username, f"wrong-{attempt}")
    assert login(client, analyst.username, PASSWORD).status_code == 302
    client.logout()
    for attempt in range(4):
        response = login(client, analyst.username, f"again-{attempt}")

    assert LOCKED not in response.text
    assert login(client, analyst.username, PASSWORD).status_code == 302


def test_usernames_are_counted_case_insensitively_and_unknown_ones_too(client, analyst):
    for attempt in range(5):
        login(client, "Nobody.Here" if attempt % 2 else "nobody.here", "guess")

    assert LOCKED in login(client, "NOBODY.HERE", "guess").text
    # An unknown name locks like a real one: the page tells nothing about which exist.
    assert {e.object_id for e in AuditEvent.objects.filter(action="auth.login_failed")} == {""}
    # Other accounts are not affected.
    assert login(client, analyst.username, PASSWORD).status_code == 302


def test_many_usernames_from_one_address_lock_the_address(client, analyst, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 20
    for n in range(20):
        login(client, f"spray{n}", "Summer2026!", REMOTE_ADDR="203.0.113.7")

    from_there = login(client, analyst.username, PASSWORD, REMOTE_ADDR="203.0.113.7")
    assert LOCKED in from_there.text
    assert AuditEvent.objects.get(action="auth.locked").after["scope"] == "ip"

    from_elsewhere = login(client, analyst.username, PASSWORD, REMOTE_ADDR="198.51.100.4")
    assert from_elsewhere.status_code == 302


def test_the_admin_log_in_shares_the_lock(client, admin_user):
    for attempt in range(5):
        login(client, admin_user.username, f"wrong-{attempt}")

    response = client.post(
        reverse("admin:login"),
        {"username": admin_user.username, "password": PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 200
    assert LOCKED in response.text
    assert not logged_in(client)


def test_a_right_password_on_the_admin_page_by_a_non_staff_user_is_not_a_guess(client, analyst):
    for _attempt in range(6):
        client.post(reverse("admin:login"), {"username": analyst.username, "password": PASSWORD})

    assert not AuditEvent.objects.filter(action="auth.login_failed").exists()
    assert login(client, analyst.username, PASSWORD).status_code == 302


def test_lock_messages_count_whole_minutes():
    from kyc.views.auth import locked_message

    assert "1 more minute." in locked_message(5)
    assert "2 more minutes" in locked_message(61)


# ------------------------------------------------------------------------------ passwords


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt-pw", "too short"),
        ("password1234", "too common"),
        ("845120963721", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused(password, message):
    with pytest.raises(ValidationError) as excinfo:
        validate_password(password)
    assert message in " ".join(excinfo.value.messages)


def test_a_long_uncommon_password_is_accepted(db):
    validate_password("correct-horse-battery-staple-42", user=make_user("pwcheck"))


def test_a_password_like_the_username_is_refused(db):
    user = make_user("marguerite.lefebvre", role=None)
    with pytest.raises(ValidationError, match="too similar"):
        validate_password("marguerite.lefebvre1", user=user)


# --------------------------------------------------------------------------- idle sessions


def test_an_idle_session_expires(client, analyst):
    with freeze_time("2026-03-02 09:00:00") as clock:
        assert login(client, analyst.username, PASSWORD).status_code == 302
        clock.tick(settings.SESSION_COOKIE_AGE - 60)
        assert client.get(reverse("kyc:home")).status_code == 200
        # Activity keeps it alive: the session was saved again on that request.
        clock.tick(settings.SESSION_COOKIE_AGE - 60)
        assert client.get(reverse("kyc:home")).status_code == 200
        clock.tick(settings.SESSION_COOKIE_AGE + 1)
        response = client.get(reverse("kyc:home"))

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("login")


def test_the_idle_timeout_is_configurable(client, analyst, settings):
    settings.SESSION_COOKIE_AGE = 120
    with freeze_time("2026-03-02 09:00:00") as clock:
        login(client, analyst.username, PASSWORD)
        clock.tick(119)
        assert client.get(reverse("kyc:home")).status_code == 200
        clock.tick(121)
        assert client.get(reverse("kyc:home")).status_code == 302


def test_requests_within_a_minute_do_not_rewrite_the_session(client, analyst):
    from django.contrib.sessions.models import Session

    with freeze_time("2026-03-02 09:00:00") as clock:
        login(client, analyst.username, PASSWORD)
        client.get(reverse("kyc:home"))  # the first request marks the session as seen
        first = Session.objects.get().expire_date
        clock.tick(30)
        client.get(reverse("kyc:home"))
        assert Session.objects.get().expire_date == first
        clock.tick(31)
        client.get(reverse("kyc:home"))
        assert Session.objects.get().expire_date > first


# ---------------------------------------------------------------------------- private files


def test_documents_have_no_public_url(client, db):
    from django.urls import Resolver404, resolve

    document = make_document()
    for path in ("/" + document.file.name, "/media/" + document.file.name):
        with pytest.raises(Resolver404):
            resolve(path)
    client.force_login(make_user("nosy", role="analyst"))
    assert client.get("/" + document.file.name).status_code == 404
    assert not str(settings.PRIVATE_MEDIA_ROOT).startswith(str(settings.STATIC_ROOT))


def tiff_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, "TIFF")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "inline"),
    [
        (pdf_bytes(), "statement.pdf", True),
        (png_bytes(), "photo.png", True),
        (tiff_bytes(), "scan.tiff", False),  # browsers do not show TIFF: downloaded
    ],
)
def test_only_pictures_and_pdfs_open_inline(analyst_client, analyst, content, name, inline):
    document = make_document(content=content, name=name, kind=Document.Kind.OTHER, actor=analyst)

    response = analyst_client.get(reverse("kyc:document-file", args=[document.pk]))
    b"".join(response.streaming_content)

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline" if inline else "attachment")
    assert response["Content-Type"] == document.content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    download = analyst_client.get(
        reverse("kyc:document-file", args=[document.pk]), {"download": "1"}
    )
    assert download["Content-Disposition"].startswith("attachment")


def test_a_vendor_file_that_is_not_a_pdf_is_downloaded(analyst_client, analyst):
    from django.core.files.base import ContentFile

    report = make_report(document=make_document(actor=analyst))
    report.attachment.save("finovox-report.html", ContentFile(b"<script>alert(1)</script>"))

    response = analyst_client.get(reverse("kyc:report-attachment", args=[report.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_files_need_a_role_and_a_login(client, db):
    document = make_document()
    url = reverse("kyc:document-file", args=[document.pk])

    assert client.get(url).status_code == 302
    client.force_login(make_user("nobody", role=None))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "id.svg"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "id.png"),
        (b"<!doctype html><html><script>alert(1)</script></html>", "statement.pdf"),
        (b"<html><body onload=alert(1)>", "statement.html"),
        (b"alert(document.cookie);", "script.js"),
        (b"#!/bin/sh\nrm -rf /\n", "run.sh"),
        (b"<?php system($_GET['c']); ?>", "shell.php.jpg"),
        (b"MZ\x90\x00\x03" + b"\x00" * 64, "invoice.pdf.exe"),
    ],
)
def test_svg_html_and_scripts_are_refused_at_upload(analyst_client, analyst, content, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    customer = make_customer(actor=analyst)
    response = analyst_client.post(
        reverse("kyc:document-upload", args=[customer.requests.get().pk]),
        {"files": [SimpleUploadedFile(name, content)], "kind": "other"},
        follow=True,
    )

    assert response.status_code == 200
    assert "judged from its content" in response.text
    assert not Document.objects.exists()
    assert not default_storage.exists("documents") or not any(
        default_storage.listdir("documents")[0] + default_storage.listdir("documents")[1]
    )


# ------------------------------------------------------------------------------- webhooks


def deliver(client, n: int, *, ip: str = "198.51.100.20", provider: str = "fake"):
    body = json.dumps({"event": "done", "delivery": f"d{n}", "ids": []}).encode()
    return client.post(
        f"/webhooks/{provider}/",
        data=body,
        content_type="application/json",
        HTTP_X_FAKE_SIGNATURE=sign(body),
        REMOTE_ADDR=ip,
    )


def test_webhooks_past_the_rate_get_429_with_retry_after(client, db, fake_provider, settings):
    settings.WEBHOOK_RATE_PER_SECOND = 2
    settings.WEBHOOK_RATE_BURST = 5
    with freeze_time("2026-03-02 09:00:00") as clock:
        assert [deliver(client, n).status_code for n in range(5)] == [200] * 5
        refused = deliver(client, 5)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "1"
        assert refused.json() == {"error": "rate limited"}
        # Refused before anything is stored.
        assert WebhookEvent.objects.count() == 5
        # Another sender is not affected.
        assert deliver(client, 6, ip="198.51.100.21").status_code == 200
        clock.tick(1)
        assert [deliver(client, n).status_code for n in (7, 8, 9)] == [200, 200, 429]


def test_the_rate_limit_comes_before_the_signature_check(client, db, fake_provider, settings):
    settings.WEBHOOK_RATE_PER_SECOND = 1
    settings.WEBHOOK_RATE_BURST = 1
    with freeze_time("2026-03-02 09:00:00"):
        forged = client.post(
            "/webhooks/fake/", data=b"{}", content_type="application/json", REMOTE_ADDR="192.0.2.9"
        )
        assert forged.status_code == 401
        again = client.post(
            "/webhooks/fake/", data=b"{}", content_type="application/json", REMOTE_ADDR="192.0.2.9"
        )
    assert again.status_code == 429
    assert WebhookEvent.objects.count() == 1


def test_a_zero_rate_turns_the_limit_off(settings):
    settings.WEBHOOK_RATE_PER_SECOND = 0
    assert all(throttle.webhook_allow("fake", "192.0.2.1", now=0.0) == 0 for _ in range(10_000))


def test_the_default_limit_lets_a_benchmark_burst_through():
    # bench: 10,000 signed webhooks from one address as fast as possible, >= 300/s needed. The
    # default bucket takes them at 1,000/s sustained without a refusal.
    assert settings.WEBHOOK_RATE_PER_SECOND >= 300
    refused = sum(
        1 for n in range(10_000) if throttle.webhook_allow("october", "127.0.0.1", now=n / 1000)
    )
    assert refused == 0


# ------------------------------------------------------------------------------ error pages


def test_403_says_why(analyst_client):
    response = analyst_client.get(reverse("kyc:audit-log"))

    assert response.status_code == 403
    assert "Access refused" in response.text
    assert "Only reviewers and administrators may read the audit log." in response.text
    assert response["Content-Security-Policy"]


def test_403_without_a_message_is_still_friendly(client, db):
    client.force_login(make_user("nobody", role=None))

    response = client.post(reverse("kyc:queue-next"))

    assert response.status_code == 403
    assert "Access refused" in response.text


def test_404_is_friendly_and_in_the_layout(analyst_client):
    response = analyst_client.get("/customers/987654/")

    assert response.status_code == 404
    assert "Not found" in response.text
    assert 'class="topbar"' in response.text
    assert "Resolver404" not in response.text


def test_404_shows_our_own_reason(analyst_client, analyst):
    document = make_document(actor=analyst)
    Document.objects.filter(pk=document.pk).update(file="", status=Document.Status.PURGED)

    response = analyst_client.get(reverse("kyc:document-file", args=[document.pk]))

    assert response.status_code == 404
    assert "This document&#x27;s file was purged." in response.text


def test_404_is_translated(analyst_client):
    response = analyst_client.get("/nowhere/", HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="fr">' in response.text


def test_500_renders_without_a_request_context():
    from django.utils import translation

    # No request, so no LocaleMiddleware: pin the language an earlier test may have left active.
    with translation.override("en"):
        html = loader.get_template("500.html").render()
        assert "Something went wrong on our side" in html

        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content


def test_a_crash_answers_with_the_500_page(client, analyst, monkeypatch):
    from kyc.selectors import customers

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(customers, "case_queue", boom)
    client.raise_request_exception = False
    client.force_login(analyst)

    response = client.get(reverse("kyc:home"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "simulated bug" not in response.text
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_a_forged_form_gets_the_friendly_csrf_page(analyst):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)

    response = client.post(reverse("kyc:queue-next"))

    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("view", ["kyc:document-file", "kyc:document-page"])
def test_a_file_missing_from_storage_is_a_404_with_no_audit_row(analyst_client, analyst, view):
    """The row says there is a file, the storage no longer has it (a restore, a bucket
    lifecycle rule): a clear 404, and the identity-document access is not recorded, since
    nothing was read."""
    document = make_document(actor=analyst, content=pdf_bytes(), name="passport.pdf")
    default_storage.delete(document.file.name)
    before = AuditEvent.objects.count()
    args = [document.pk] if view == "kyc:document-file" else [document.pk, 1]

    response = analyst_client.get(reverse(view, args=args))

    assert response.status_code == 404
    assert AuditEvent.objects.count() == before


def test_a_vendor_file_missing_from_storage_is_a_404_with_no_audit_row(analyst_client, analyst):
    from django.core.files.base import ContentFile

    report = make_report(document=make_document(actor=analyst, kind=Document.Kind.PASSPORT))
    report.attachment.save("finovox-report.pdf", ContentFile(pdf_bytes()))
    default_storage.delete(report.attachment.name)
    before = AuditEvent.objects.count()

    response = analyst_client.get(reverse("kyc:report-attachment", args=[report.pk]))

    assert response.status_code == 404
    assert AuditEvent.objects.count() == before

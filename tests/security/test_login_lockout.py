"""Log-in lockouts live in the database (django-axes, kyc.lockout), not in the cache: log-in works
while Redis is down, every process sees the same counts, and lockouts show in the admin. The
behaviour itself (limits, messages, audit rows) is tested in tests/security/test_hardening.py."""

from __future__ import annotations

import socket

import pytest
import redis
from axes.models import AccessAttempt
from django.core.cache import cache
from django.urls import reverse

from kyc.models import AuditEvent

PASSWORD = "pw-for-tests-only"
LOCKED = "Too many failed log-in attempts"


def login(client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


@pytest.fixture
def redis_down(settings):
    """The cache on Redis at a local port where nothing listens: every cache call fails, as in a
    Redis outage (the same backend and settings as REDIS_URL gives)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/12",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.get("anything")
    return port


def test_log_in_works_while_redis_is_down(client, analyst, redis_down):
    response = login(client, analyst.username, PASSWORD)

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_wrong_passwords_still_lock_out_while_redis_is_down(client, analyst, redis_down):
    client.raise_request_exception = False
    for attempt in range(4):
        assert login(client, analyst.username, f"wrong-{attempt}").status_code == 200

    fifth = login(client, analyst.username, "wrong-5")
    right = login(client, analyst.username, PASSWORD)

    assert fifth.status_code == 200 and LOCKED in fifth.text
    assert right.status_code == 200 and LOCKED in right.text
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5
    assert AuditEvent.objects.get(action="auth.locked").after["scope"] == "username"


def test_the_counts_are_not_in_the_cache(client, analyst):
    """Shared by every web process: emptying this process's cache unlocks nothing."""
    for attempt in range(5):
        login(client, analyst.username, f"wrong-{attempt}")

    cache.clear()

    assert LOCKED in login(client, analyst.username, PASSWORD).text
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == (analyst.username, "127.0.0.1")
    assert attempt.failures_since_start == 5
    assert PASSWORD not in attempt.post_data  # axes masks what it keeps of the form


def test_a_lockout_shows_in_the_admin_and_deleting_it_there_unlocks(client, analyst, admin_user):
    for attempt in range(5):
        login(client, analyst.username, f"wrong-{attempt}")
    admin = client.__class__()
    admin.force_login(admin_user)

    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    attempt = AccessAttempt.objects.get(username=analyst.username)
    deleted = admin.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert listing.status_code == 200
    assert analyst.username in listing.text and "Locked Out" in listing.text
    assert deleted.status_code == 302
    assert login(client, analyst.username, PASSWORD).status_code == 302


def test_a_success_clears_its_usernames_failures_but_not_the_other_ones_of_its_address(
    client, analyst, settings
):
    settings.LOGIN_MAX_FAILURES_PER_IP = 10
    for n in range(8):
        login(client, f"spray{n}", "guess")
    login(client, analyst.username, "typo")
    assert login(client, analyst.username, PASSWORD).status_code == 302
    client.logout()

    assert not AccessAttempt.objects.filter(username=analyst.username).exists()
    # The 8 sprayed failures still count (a success must not reset its address), the account's
    # own typo no longer does: the 9th failure from the address is not a lock, the 10th is.
    assert LOCKED not in login(client, "spray8", "guess").text
    assert LOCKED in login(client, "spray9", "guess").text
    assert LOCKED in login(client, analyst.username, PASSWORD).text
    assert AuditEvent.objects.get(action="auth.locked").after["scope"] == "ip"


def test_a_username_is_counted_however_it_is_cased_or_padded(client, analyst):
    for name in ("Nobody", " nobody", "NOBODY ", "nObOdY", "nobody"):
        login(client, name, "guess")

    assert AccessAttempt.objects.get().username == "nobody"
    assert LOCKED in login(client, "NoBody", "guess").text

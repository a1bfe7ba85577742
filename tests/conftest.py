from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.factories import make_user


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Every test stores its files under its own tmp_path."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    """Webhook rate limits count in the cache: each test starts at zero (log-in failures are in
    the database, rolled back with each test)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def analyst(db):
    return make_user("analyst1", role="analyst")


@pytest.fixture
def reviewer(db):
    return make_user("reviewer1", role="reviewer")


@pytest.fixture
def admin_user(db):
    return make_user("admin1", role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite, the test database is a file (beside the settings' one), not an in-memory one.

    Worker processes started by tests (tests/test_task_workers.py) must open the very database
    the test writes to, and a file is what production uses too (WAL needs one).
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and not database.get("TEST", {}).get(
        "NAME"
    ):
        name = Path(database["NAME"])
        database.setdefault("TEST", {})["NAME"] = str(name.with_name(f"test_{name.name}"))


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise():
    """Every test starts in English: code outside a request (services, error pages rendered
    without a context) uses the thread's active language, which another test may have changed."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@contextlib.contextmanager
def empty_redis_database(url: str):
    """A Redis database flushed before and after; skip the test (fail it under
    KYC_REQUIRE_REDIS=1, as CI sets) when Redis is unreachable."""
    import os

    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        message = f"Redis is unreachable at {url}: {exc}"
        if os.environ.get("KYC_REQUIRE_REDIS") == "1":
            pytest.fail(f"{message}. KYC_REQUIRE_REDIS=1 requires it: start redis-server.")
        pytest.skip(message)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def fake_provider(settings):
    """The in-process FakeProvider (tests/fakes.py) as the only enabled provider, its script and
    calls reset around the test."""
    from tests.fakes import FakeProvider

    settings.KYC_PROVIDERS = ["tests.fakes.FakeProvider"]
    FakeProvider.reset()
    yield FakeProvider
    FakeProvider.reset()


@pytest.fixture(scope="module")
def vendor_server():
    """One local fake-vendor HTTP server per test module (tests.fake_vendors.start_server);
    each test registers its handlers with `serving(vendor_server)`."""
    from tests.fake_vendors import start_server

    server = start_server()
    yield server
    server.stop()

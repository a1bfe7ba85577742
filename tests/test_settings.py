"""kyc/settings.py: typed environment helpers, and what the environment switches on.

Whole-module behaviour (refusing to start, picking a backend) is checked by importing the settings
in a fresh interpreter with a controlled environment: the test process's own settings are
already loaded and must not be disturbed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from kyc.settings import env_bool, env_float, env_int, env_list

VAR = "KYC_TEST_SETTING"


# ------------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(("raw", "expected"), [("True", True), ("False", False)])
def test_env_bool_reads_true_and_false(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_unset_or_empty(monkeypatch, default):
    monkeypatch.delenv(VAR, raising=False)
    assert env_bool(VAR, default) is default
    monkeypatch.setenv(VAR, "")
    assert env_bool(VAR, default) is default


@pytest.mark.parametrize("raw", ["true", "false", "TRUE", "1", "0", "yes", "no", "on", " True"])
def test_env_bool_refuses_anything_but_true_or_false(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_bool(VAR, False)
    assert VAR in str(excinfo.value)
    assert repr(raw) in str(excinfo.value)


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("42", 42), ("-3", -3), (" 7 ", 7)])
def test_env_int_reads_integers(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)
    assert env_int(VAR, 99) == expected


def test_env_int_falls_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)
    assert env_int(VAR, 99) == 99


@pytest.mark.parametrize("raw", ["12.5", "abc", "1e3", "20MB", "0x10"])
def test_env_int_refuses_non_integers(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int(VAR, 1)
    assert VAR in str(excinfo.value)


def test_env_float_reads_numbers_and_refuses_words(monkeypatch):
    monkeypatch.setenv(VAR, "2.5")
    assert env_float(VAR, 1.0) == 2.5
    monkeypatch.setenv(VAR, "fast")
    with pytest.raises(ImproperlyConfigured):
        env_float(VAR, 1.0)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv(VAR, " a.example , ,b.example,")
    assert env_list(VAR) == ["a.example", "b.example"]


# ------------------------------------------------------------------------- the settings module


def import_settings(tmp_path, code: str = "", **env: str) -> subprocess.CompletedProcess:
    """Import kyc.settings in a fresh interpreter with only the given variables set."""
    clean = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import kyc.settings as s\n" + code],
        env=clean,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_refuse_to_load_without_secret_key_when_not_debug(tmp_path):
    result = import_settings(tmp_path, DEBUG="False")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_defaults_to_false_and_so_also_needs_a_secret_key(tmp_path):
    result = import_settings(tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_settings_load_without_secret_key_in_debug(tmp_path):
    result = import_settings(tmp_path, "print(s.DEBUG, bool(s.SECRET_KEY))", DEBUG="True")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_a_typo_in_a_boolean_variable_stops_the_start(tmp_path):
    result = import_settings(tmp_path, DEBUG="yes")

    assert result.returncode != 0
    assert "DEBUG must be True or False" in result.stderr


BACKENDS = "import json; print(json.dumps({'tasks': s.TASKS, 'apps': s.INSTALLED_APPS, 'rq': getattr(s, 'RQ_QUEUES', None)}))"  # noqa: E501


def test_redis_url_switches_tasks_to_rq(tmp_path):
    result = import_settings(
        tmp_path, BACKENDS, DEBUG="True", REDIS_URL="redis://127.0.0.1:6379/15"
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["tasks"]["default"]["BACKEND"] == "django_tasks_rq.RQBackend"
    assert "django_rq" in loaded["apps"]
    assert loaded["rq"]["default"]["URL"] == "redis://127.0.0.1:6379/15"
    assert set(loaded["tasks"]["default"]["QUEUES"]) <= set(loaded["rq"])


def test_the_demo_app_is_installed_in_development_and_only_on_request_in_production(tmp_path):
    apps = "print('demo' in s.INSTALLED_APPS)"
    production = {"DEBUG": "False", "SECRET_KEY": "x" * 50}

    loaded = {
        "development": import_settings(tmp_path, apps, DEBUG="True"),
        "production": import_settings(tmp_path, apps, **production),
        "demo server": import_settings(tmp_path, apps, DEMO_APP="True", **production),
        "development without": import_settings(tmp_path, apps, DEBUG="True", DEMO_APP="False"),
    }

    assert {name: r.stdout.strip() or r.stderr for name, r in loaded.items()} == {
        "development": "True",
        "production": "False",
        "demo server": "True",
        "development without": "False",
    }


def test_without_redis_url_tasks_go_to_the_database(tmp_path):
    result = import_settings(tmp_path, BACKENDS, DEBUG="True")

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["tasks"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert "django_tasks_db" in loaded["apps"]
    assert "django_rq" not in loaded["apps"]


def test_without_database_url_the_database_is_sqlite_in_immediate_mode(tmp_path):
    code = "import json; print(json.dumps(s.DATABASES['default'], default=str))"
    result = import_settings(tmp_path, code, DEBUG="True")

    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(tmp_path / "db.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["OPTIONS"]["timeout"] > 0
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]


def test_database_url_switches_to_postgresql(tmp_path):
    code = "import json; print(json.dumps(s.DATABASES['default'], default=str))"
    result = import_settings(
        tmp_path, code, DEBUG="True", DATABASE_URL="postgres://kyc:pw@db.internal:5433/kyc"
    )

    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout)
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5433, "kyc")


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="SQLite pragmas: the suite runs on PostgreSQL here",
)
def test_sqlite_connection_really_runs_in_wal_mode_with_foreign_keys(db):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA foreign_keys")
        foreign_keys = cursor.fetchone()[0]
    assert journal_mode == "wal"
    assert foreign_keys == 1
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


VENDOR_TIMEOUTS = (
    "print(s.FINOVOX_TIMEOUT, s.OCTOBER_TIMEOUT, s.MINDEE_TIMEOUT, s.JOB_LEASE_SECONDS)"
)


def test_finovox_waits_as_long_as_its_own_examples_and_other_vendors_keep_the_common_timeout(
    tmp_path,
):
    # Finovox's async example calls /analyse and /retrieve with timeout=150 (seeds/finovox-async-
    # analysis.txt); a 30 s client gives up on analyses Finovox is still running.
    result = import_settings(tmp_path, VENDOR_TIMEOUTS, DEBUG="True", VENDOR_TIMEOUT="30")

    assert result.returncode == 0, result.stderr
    finovox, october, mindee, lease = (float(value) for value in result.stdout.split())
    assert finovox == 150.0
    assert (october, mindee) == (30.0, 30.0)
    # A worker holds its job longer than one Finovox call may take.
    assert lease > finovox


def test_an_explicit_finovox_timeout_still_wins(tmp_path):
    result = import_settings(tmp_path, VENDOR_TIMEOUTS, DEBUG="True", FINOVOX_TIMEOUT="200")

    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split()[0]) == 200.0

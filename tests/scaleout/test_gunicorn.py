"""The production web process: gunicorn with the repository's gunicorn.conf.py, DEBUG off,
static files collected and served by whitenoise (hashed names, compressed)."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from tests.scaleout.conftest import wait_for

CONFIG = Path(django_settings.BASE_DIR) / "gunicorn.conf.py"


def load_config(monkeypatch, **env: str) -> dict:
    for name in list(os.environ):
        if name.startswith("GUNICORN_") or name in ("WEB_CONCURRENCY", "PORT", "LOG_FORMAT"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_workers_default_to_twice_the_cores_plus_one_capped(monkeypatch):
    config = load_config(monkeypatch)

    assert config["workers"] == min(2 * multiprocessing.cpu_count() + 1, 12)
    assert config["max_requests"] > 0
    assert config["max_requests_jitter"] > 0
    assert config["timeout"] >= 30
    assert "request_id=%({x-request-id}o)s" in config["access_log_format"]
    assert "logconfig_dict" not in config


def test_empty_variables_mean_the_defaults_as_in_env_example(monkeypatch):
    config = load_config(
        monkeypatch, GUNICORN_BIND="", WEB_CONCURRENCY="", FORWARDED_ALLOW_IPS="", PORT=""
    )

    assert config["bind"] == "0.0.0.0:8000"
    assert config["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert config["workers"] >= 3


def test_the_environment_sets_workers_timeout_and_trusted_proxies(monkeypatch):
    config = load_config(
        monkeypatch,
        WEB_CONCURRENCY="3",
        GUNICORN_TIMEOUT="45",
        FORWARDED_ALLOW_IPS="10.0.0.0/8",
        LOG_FORMAT="json",
    )

    assert (config["workers"], config["timeout"]) == (3, 45)
    assert config["forwarded_allow_ips"] == config["proxy_allow_ips"] == "10.0.0.0/8"
    formatter = config["logconfig_dict"]["formatters"]["json"]["()"]
    assert formatter == "kyc.logging.JsonFormatter"


def test_workers_fork_from_a_preloaded_warm_master_unless_turned_off(monkeypatch):
    assert load_config(monkeypatch)["preload_app"] is True
    assert callable(load_config(monkeypatch)["when_ready"])
    assert load_config(monkeypatch, GUNICORN_PRELOAD="false")["preload_app"] is False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_gunicorn_serves_the_app_and_collected_static_files_with_debug_off(tmp_path):
    """collectstatic with the production storage (CompressedManifestStaticFilesStorage), then
    gunicorn with gunicorn.conf.py on kyc.settings itself: the health check answers, pages name
    hashed static files, whitenoise serves them compressed, and the access log is JSON with the
    request id."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "kyc.settings",
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "XDG_RUNTIME_DIR": str(tmp_path),  # gunicorn's control socket
    }
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        done = subprocess.run(
            manage + command,
            env=env,
            cwd=django_settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "static" / "staticfiles.json").exists()

    log = tmp_path / "gunicorn.log"
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "kyc.wsgi"],
            env=env,
            cwd=django_settings.BASE_DIR,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def answering():
            if server.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            try:
                return get(f"{base}/healthz/")
            except OSError:
                return None

        status, headers, body = wait_for(answering, timeout=60, what="gunicorn to answer")
        assert status == 200, body
        assert json.loads(body)["checks"] == {"database": "ok", "tasks": "ok", "storage": "ok"}
        request_id = headers["X-Request-ID"]

        status, _headers, page = get(base + reverse("login"))
        assert status == 200
        css = re.search(rb'href="(/static/kyc/css/app\.[0-9a-f]{12}\.css)"', page)
        assert css, "the login page names the hashed stylesheet"

        status, headers, body = get(base + css.group(1).decode(), **{"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["Content-Encoding"] == "gzip"
        assert "immutable" in headers["Cache-Control"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    (access,) = [
        line
        for line in lines
        if line["logger"] == "gunicorn.access" and line["http"]["path"] == "/healthz/"
    ]
    assert access["request_id"] == request_id
    assert access["http"]["status"] == "200"

"""Browser end-to-end tests: Debian's chromium, driven by Playwright, against pytest-django's live
server, with a real `manage.py db_worker` on the same test database so that analyses really run.

The tests are marked `browser`: `make test PYTEST_ARGS="-m browser"` runs them alone and
`-m "not browser"` leaves them out. Each test's screenshots, with the worker's, the server's and
the browser's logs, land in artifacts/e2e/<database vendor>/<test name>/ (git-ignored), emptied
at the start of the test.

Playwright never downloads a browser here: chromium comes from Debian (scripts/system-deps.sh).
Without /usr/bin/chromium the tests skip on a developer's machine and fail on CI (CI is set).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group

from kyc import roles
from tests.fake_vendors import database_env

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes say: no sandbox as root, no GPU, and no background connections (the
# network is closed: chromium would retry them all along).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(django_settings.BASE_DIR) / "artifacts" / "e2e"
# Playwright's default for every action and expect(): pages answer in well under a second, but
# the machine has two cores and the OCR worker may be busy on one.
DEFAULT_TIMEOUT_MS = 15_000
LOG_TAIL_CHARS = 6_000
# The operator's command (README), continuous; a short idle interval keeps the test brisk.
WORKER_ARGS = ["db_worker", "--queue-name", "*", "--no-startup-delay", "--no-reload"]
WORKER_ARGS += ["--interval", "0.5", "--verbosity", "2"]

_LOGS = pytest.StashKey[list[Path]]()
_FAILED = pytest.StashKey[bool]()


# ------------------------------------------------------------------------------ failure reports


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test shows the tails of the worker, server and browser logs."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    if report.when == "call" and report.failed:
        for path in item.stash.get(_LOGS, []):
            if path.exists():
                text = path.read_text(errors="replace")
                report.sections.append((f"{path.name} (tail)", text[-LOG_TAIL_CHARS:]))
    return report


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (bash scripts/system-deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}. CI must run the browser tests.", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def artifacts(request) -> Path:
    """This test's artefact folder, emptied: artifacts/e2e/<vendor>/<test name>/."""
    from django.db import connection

    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    folder = ARTIFACTS / connection.vendor / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    request.node.stash[_LOGS] = []
    return folder


def _keep_log(request, path: Path) -> None:
    request.node.stash.setdefault(_LOGS, []).append(path)


@pytest.fixture
def role_groups(transactional_db) -> None:
    # A transactional test starts from an emptied database: the roles migration's groups too.
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)


@pytest.fixture
def server_log(request, artifacts, live_server) -> Iterator[Path]:
    """What the live server (a thread of this process) logs, in server.log."""
    path = artifacts / "server.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    _keep_log(request, path)
    yield path
    root.removeHandler(handler)
    handler.close()


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    def assert_alive(self) -> None:
        code = self.process.poll()
        tail = self.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        assert code is None, f"the task worker exited with code {code}:\n{tail}"


@pytest.fixture
def task_worker(request, settings, tmp_path, artifacts, live_server) -> Iterator[Worker]:
    """`manage.py db_worker`, as an operator runs it, on this test's database and media folder.

    The live server enqueues into the database (the built-in engine is the only provider: no
    vendor is configured in tests.settings); this process runs the jobs until the test ends.
    """
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(database_env())
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    # The live server stores uploads where the autouse _private_media fixture says.
    env["PRIVATE_MEDIA_ROOT"] = str(tmp_path / "private")
    env["PYTHONUNBUFFERED"] = "1"
    log = artifacts / "worker.log"
    _keep_log(request, log)
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *WORKER_ARGS],
            env=env,
            cwd=django_settings.BASE_DIR,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    worker = Worker(process=process, log=log)
    yield worker
    # Before the database is flushed: the worker must not hold a connection or a lock.
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class Browser:
    """One page of a fresh chromium profile, with what it reported and a screenshot helper."""

    page: Page
    base_url: str
    folder: Path
    log: TextIO
    console_errors: list[str] = field(default_factory=list)
    shots: int = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    def note(self, line: str) -> None:
        self.log.write(f"{dt.datetime.now():%H:%M:%S.%f}"[:-3] + " " + line + "\n")
        self.log.flush()

    def screenshot(self, name: str) -> Path:
        self.shots += 1
        path = self.folder / f"{self.shots:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        self.note(f"screenshot {path.name}: {self.page.url}")
        return path


@pytest.fixture
def browser(request, chromium_executable, live_server, artifacts, tmp_path) -> Iterator[Browser]:
    """Headless chromium with a new, empty profile. Console errors and uncaught exceptions are
    collected (the tests assert there are none); they, failed requests and screenshots are
    written to browser.log. A failed test leaves a screenshot of the page it was on."""
    from playwright.sync_api import expect, sync_playwright

    playwright = sync_playwright().start()
    context = playwright.chromium.launch_persistent_context(
        user_data_dir=tmp_path / "chromium-profile",
        executable_path=str(chromium_executable),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        timezone_id="Europe/Paris",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    page = context.pages[0] if context.pages else context.new_page()
    log_path = artifacts / "browser.log"
    _keep_log(request, log_path)
    log = log_path.open("w", encoding="utf-8")
    session = Browser(page=page, base_url=live_server.url, folder=artifacts, log=log)

    def on_console(message) -> None:
        session.note(f"console.{message.type}: {message.text} ({message.location.get('url')})")
        if message.type == "error":
            session.console_errors.append(message.text)

    def on_page_error(error) -> None:
        session.note(f"uncaught exception: {error}")
        session.console_errors.append(f"uncaught exception: {error}")

    def on_response(response) -> None:
        if response.status >= 400:
            session.note(f"HTTP {response.status} {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("response", on_response)
    try:
        yield session
    finally:
        try:
            if request.node.stash.get(_FAILED, True):
                page.screenshot(path=artifacts / "zz-failure.png", full_page=True)
        except Exception as exc:  # the page may be gone; the test's own error is what matters
            session.note(f"no failure screenshot: {exc}")
        context.close()
        playwright.stop()
        log.close()

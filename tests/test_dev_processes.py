"""`make run`'s processes (Procfile.dev under honcho): readable output and a clean stop.

A person reads these lines all day: each event is printed once (Django's own console handler
used to print every task line a second time), the worker is not under the autoreloader (killing
it left the child that ran the job alive), and a stop request ends each process with status 0
(no error or segfault message on Ctrl-C).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.scaleout.conftest import run_manage, worker_env

ROOT = Path(django_settings.BASE_DIR)


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile.dev").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name] = shlex.split(command)
    return entries


def test_a_task_line_is_printed_once_with_the_short_format():
    code = "import logging; logging.getLogger('django.tasks').info('Task id=1 state=RUNNING')"

    result = run_manage("shell", "-c", code, DEBUG="True", LOG_FORMAT="short")

    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "Task id=1" in line]
    assert lines == ["INFO django.tasks Task id=1 state=RUNNING"]


def test_make_run_starts_web_worker_and_sweeper_and_the_worker_without_the_autoreloader():
    entries = procfile()

    assert set(entries) == {"web", "worker", "sweeper"}
    assert "--no-reload" in entries["worker"]
    assert entries["worker"][:4] == ["exec", ".venv/bin/python", "manage.py", "db_worker"]
    assert "jobs_sweep" in entries["sweeper"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["worker", "sweeper"])
def test_a_stop_request_ends_the_process_with_status_zero(name):
    command = procfile()[name][1:]  # without `exec`
    command[0] = sys.executable
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=worker_env(DEBUG="True", LOG_FORMAT="short", REDIS_URL=""),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        time.sleep(3)  # started and waiting for work
        assert process.poll() is None, process.communicate()[0]
        os.killpg(process.pid, signal.SIGTERM)  # what honcho sends on Ctrl-C
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output[-3000:]
    assert "Traceback" not in output

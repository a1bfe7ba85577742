"""Fixtures for the scale-out tests: Redis database 14, real `rqworker` processes, a local
S3-compatible server (moto's server mode on 127.0.0.1), and settings built by kyc/settings.py
itself from the environment an operator would set."""

from __future__ import annotations

import contextlib
import logging
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings

from tests.conftest import empty_redis_database
from tests.test_task_workers import database_env

REDIS_TEST_URL = "redis://127.0.0.1:6379/14"
S3_REGION = "eu-west-3"
S3_KEY_ID = "kyc-test-key-id"
S3_SECRET = "kyc-test-secret-never-shown"  # moto accepts any credentials
# Variables of the test process that must not leak into a worker's environment.
_WORKER_ENV_DROPPED = ("DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
_WORKER_ENV_DROPPED_PREFIXES = ("S3_", "AWS_", "FAKE_", "KYC_TEST_", "LOG_")


# --------------------------------------------------------------------------------------- helpers


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, every=0.1) -> object:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_from_env(monkeypatch, **env: str) -> dict:
    """Run kyc/settings.py afresh with these variables set and return its namespace: the real
    settings code decides, and the test process's own settings stay untouched."""
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(django_settings.BASE_DIR) / "kyc" / "settings.py"))


# ----------------------------------------------------------------------------------------- Redis


@pytest.fixture
def redis_db14():
    with empty_redis_database(REDIS_TEST_URL) as client:
        yield client


@pytest.fixture
def rq_tasks(settings, redis_db14):
    """This process enqueues through django_tasks_rq on Redis db 14, as kyc/settings.py does
    with REDIS_URL (enqueueing needs RQ_QUEUES, not django_rq in INSTALLED_APPS)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": REDIS_TEST_URL}}
    return redis_db14


# --------------------------------------------------------------------------------------- workers


@dataclass
class WorkerProcess:
    """A `manage.py rqworker` in its own process group, its output in files."""

    name: str
    process: subprocess.Popen
    log: Path
    env: dict[str, str] = field(repr=False)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the worker and all its descendants: a host that died. RQ's work horse runs
        in a session of its own (os.setsid), out of reach of a signal to the worker's group."""
        if self.process.poll() is None:
            for pid in [*descendants(self.process.pid), self.process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children first found, grandchildren after), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (name) state ppid ...": the name may hold spaces, so split after its ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def worker_env(**env: str) -> dict[str, str]:
    """The test process's environment, pointed at the test database and Redis db 14."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if name not in _WORKER_ENV_DROPPED and not name.startswith(_WORKER_ENV_DROPPED_PREFIXES)
    }
    clean.update(database_env())
    clean["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    clean["REDIS_URL"] = REDIS_TEST_URL
    clean.update(env)
    return clean


def run_manage(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=worker_env(**env),
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def rqworkers(tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `manage.py rqworker default --with-scheduler` processes (the production command);
    every one still running is stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(**env: str) -> WorkerProcess:
        name = f"kyc-test-{len(started) + 1}-{uuid.uuid4().hex[:8]}"
        log = tmp_path / f"{name}.log"
        full_env = worker_env(**env)
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [
                    sys.executable, "manage.py", "rqworker", "default", "--with-scheduler",
                    "--name", name,
                ],
                env=full_env,
                cwd=django_settings.BASE_DIR,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches the horse too
            )  # fmt: skip
        worker = WorkerProcess(name=name, process=process, log=log, env=full_env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_until_listening(redis_client, *workers: WorkerProcess, timeout: float = 60) -> None:
    """Until every worker has registered in Redis (and so waits on the queue)."""
    from rq import Worker

    wanted = {worker.name for worker in workers}

    def registered():
        for worker in workers:
            if worker.process.poll() is not None:
                pytest.fail(f"worker {worker.name} exited early:\n{worker.output()[-3000:]}")
        return wanted <= {w.name for w in Worker.all(connection=redis_client)}

    wait_for(registered, timeout=timeout, what=f"workers {sorted(wanted)} to register")


# -------------------------------------------------------------------------------------------- S3


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1 (a free port), for the whole session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint_url: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )


@dataclass
class Bucket:
    name: str
    endpoint_url: str
    client: object

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint_url).netloc

    def env(self, **extra: str) -> dict[str, str]:
        """What an operator sets to put documents in this bucket."""
        return {
            "S3_BUCKET": self.name,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": S3_REGION,
            "S3_ACCESS_KEY_ID": S3_KEY_ID,
            "S3_SECRET_ACCESS_KEY": S3_SECRET,
            **extra,
        }

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return [item["Key"] for item in listing.get("Contents", [])]


@pytest.fixture
def s3_bucket(s3_server) -> Bucket:
    """A new, empty, private bucket on the local S3 server."""
    client = s3_client(s3_server)
    name = f"kyc-docs-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": S3_REGION})
    return Bucket(name=name, endpoint_url=s3_server, client=client)


def use_s3(settings, monkeypatch, bucket: Bucket, **extra_env: str) -> dict:
    """Documents go to `bucket`, configured exactly as kyc/settings.py configures it from the
    S3_* variables; returns the storage settings."""
    namespace = settings_from_env(monkeypatch, **bucket.env(**extra_env))
    settings.STORAGES = {**settings.STORAGES, "default": namespace["STORAGES"]["default"]}
    return namespace["STORAGES"]["default"]


@pytest.fixture
def s3_storage(settings, monkeypatch, s3_bucket) -> Bucket:
    """Documents in a fresh bucket, with AES256 server-side encryption."""
    use_s3(settings, monkeypatch, s3_bucket, S3_SSE="AES256", S3_PREFIX="kyc")
    return s3_bucket


@contextlib.contextmanager
def gunicorn_on_test_database(tmp_path: Path, **env: str) -> Iterator[Gunicorn]:
    """`gunicorn kyc.wsgi` with the repository's gunicorn.conf.py on a free local port, serving
    the test database (tests.settings; the test must be transactional to share its rows), until
    the block ends. `env` adds to or overrides the environment (WEB_CONCURRENCY,
    GUNICORN_THREADS, ...). Waits until it listens; fails with its log if it exits."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    full_env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        and not name.startswith(("GUNICORN_", "WEB_CONCURRENCY"))
    }
    full_env.update(database_env())
    full_env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "XDG_RUNTIME_DIR": str(tmp_path),  # gunicorn's control socket
            **env,
        }
    )
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "kyc.wsgi"],
            env=full_env,
            cwd=django_settings.BASE_DIR,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(process=process, port=port, log=log)
    try:

        def listening() -> bool:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{server.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        wait_for(listening, timeout=60, what="gunicorn to listen")
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

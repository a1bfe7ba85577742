"""Health check for load balancers: public, cheap, and honest about what a request needs.

GET /healthz/ checks the database, the task backend and the document storage, each within
HEALTH_CHECK_TIMEOUT seconds. 200 with every check "ok"; 503 with the failing check named and
only the exception's class: messages can carry host names, paths or bucket names, and this
answer is public. The details go to the log.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.tasks import task_backends
from django.tasks.backends.base import BaseTaskBackend
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Remote object storage is probed by reading this key (written once if missing): a write per
# probe would pile up versions and delete markers in a versioned bucket.
STORAGE_PROBE_NAME = "health/probe"

_lock = threading.Lock()
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_probe_storages: dict[str, Storage] = {}


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    timeout = settings.HEALTH_CHECK_TIMEOUT
    deadline = time.monotonic() + timeout
    backend = task_backends["default"]
    backend_kind = _backend_kind(backend)

    # Checks that do not use Django's database connection run concurrently in threads, so a
    # probe takes as long as its slowest check, not their sum.
    remote = {"storage": _check_storage}
    if backend_kind == "rq":
        remote["tasks"] = lambda timeout: _check_redis(backend, timeout)
    futures = {name: _pool().submit(check, timeout) for name, check in remote.items()}

    checks: dict[str, str] = {}
    checks["database"] = _outcome("database", lambda: _check_database(timeout))
    if backend_kind == "database":
        checks["tasks"] = _outcome("tasks", lambda: _check_task_table(timeout))
    for name, future in futures.items():
        remaining = max(0.0, deadline - time.monotonic())
        checks[name] = _outcome(name, functools.partial(future.result, timeout=remaining))

    checks = {name: checks[name] for name in ("database", "tasks", "storage") if name in checks}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )


def _outcome(name: str, check: Callable[[], object]) -> str:
    try:
        check()
    except concurrent.futures.TimeoutError:
        logger.warning("health check %s: no answer in time", name)
        return "error: Timeout"
    except Exception as exc:  # any failure makes this instance unhealthy; say which kind
        logger.warning("health check %s failed: %s: %s", name, exc.__class__.__name__, exc)
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    # One small pool per process, created on first use (after gunicorn forks): its threads, and
    # the storage clients they hold, are reused by every probe.
    global _executor
    with _lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="healthz"
            )
        return _executor


# ------------------------------------------------------------------------------------- database


@contextlib.contextmanager
def _statement_timeout(timeout: float) -> Iterator[None]:
    """On PostgreSQL, statements inside give up after `timeout` (a server that is up but stuck
    answers in time too; the connect is bounded by DB_CONNECT_TIMEOUT). Not on SQLite: its
    IMMEDIATE transactions would take the write lock just to answer a probe."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = %s", [max(1, int(timeout * 1000))])
        yield


def _check_database(timeout: float) -> None:
    with _statement_timeout(timeout), connection.cursor() as cursor:
        cursor.execute("SELECT 1")


# ---------------------------------------------------------------------------------------- tasks


def _backend_kind(backend: BaseTaskBackend) -> str:
    from django_tasks_db import DatabaseBackend

    if isinstance(backend, DatabaseBackend):
        return "database"
    try:
        from django_tasks_rq import RQBackend
    except ImportError:  # pragma: no cover - django-tasks-rq is a dependency
        return "other"
    return "rq" if isinstance(backend, RQBackend) else "other"


def _check_task_table(timeout: float) -> None:
    """The queue table answers (and exists: migrations ran). An indexed one-row read."""
    from django_tasks_db.models import DBTaskResult

    with _statement_timeout(timeout):
        list(DBTaskResult.objects.order_by().values_list("pk", flat=True)[:1])


def _check_redis(backend: BaseTaskBackend, timeout: float) -> None:
    """PING the Redis of every queue the backend uses, on a fresh connection with timeouts (the
    queues' own connections have none: a worker blocks on Redis by design)."""
    from django_rq.connection_utils import filter_connection_params, get_redis_connection
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    configs = []
    for queue in sorted(backend.queues):
        config = filter_connection_params(settings.RQ_QUEUES[queue])
        if config not in configs:
            configs.append(config)
    for config in configs:
        client = get_redis_connection(config)
        client.connection_pool.connection_kwargs.update(
            socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        try:
            client.ping()
        finally:
            client.close()


# -------------------------------------------------------------------------------------- storage


def _check_storage(timeout: float) -> None:
    storage = _probe_storage(timeout)
    if isinstance(storage, FileSystemStorage):
        # Local disk: writing and deleting a tiny file is cheap, leaves nothing behind, and is
        # the only honest check (a missing or read-only folder still "exists()" nothing).
        name = storage.save(f"{STORAGE_PROBE_NAME}-{uuid.uuid4().hex}", ContentFile(b"ok"))
        storage.delete(name)
        return
    # Object storage: one HEAD request on a known key; the key is written once, the first time
    # (and again should someone delete it), which also proves writes work then.
    if not storage.exists(STORAGE_PROBE_NAME):
        storage.save(STORAGE_PROBE_NAME, ContentFile(b"ok"))


def _probe_storage(timeout: float) -> Storage:
    """The default storage as configured, but with the probe's short timeouts and no retries
    (an S3 client otherwise waits up to its connect timeout three times)."""
    config = settings.STORAGES["default"]
    key = f"{config!r}/{timeout}"
    with _lock:
        storage = _probe_storages.get(key)
        if storage is None:
            options = dict(config.get("OPTIONS", {}))
            if "s3" in config["BACKEND"].lower():
                from botocore.config import Config

                short = Config(
                    connect_timeout=timeout,
                    read_timeout=timeout,
                    retries={"mode": "standard", "max_attempts": 1},
                )
                base = options.get("client_config")
                options["client_config"] = base.merge(short) if base is not None else short
                # The probe key may be rewritten in place, never as "probe_<random>".
                options["file_overwrite"] = True
            storage = storages.create_storage({**config, "OPTIONS": options})
            _probe_storages.clear()  # settings changed (tests): drop the old client
            _probe_storages[key] = storage
        return storage

"""What the benchmark processes share: paths, the environment of the measured processes, and
small statistics helpers. No Django import here: the orchestrator never loads the settings."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var" / "bench"
PYTHON = sys.executable
MINDEE_SECRET = "bench-mindee-webhook-secret"  # noqa: S105 - a local benchmark key, not a secret
# Never passed on to the measured processes: a vendor credential would make uploads call out,
# and REDIS_URL would move tasks off the database backend the worker benchmark measures.
DROPPED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "OCTOBER_USER_ID",
    "OCTOBER_SESSION_TOKEN",
    "FINOVOX_API_KEY",
    "MINDEE_API_KEY",
    "ARTEMIS_CLIENT_ID",
    "ARTEMIS_CLIENT_SECRET",
    "S3_BUCKET",
    "AWS_STORAGE_BUCKET_NAME",
    "DJANGO_SETTINGS_MODULE",
)


def database_label(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sized(database: str, customers: int) -> str:
    """One database per size, kept between runs (seeding 100,000 customers takes minutes):
    var/bench/bench-N.sqlite3, or the PostgreSQL database named in the URL with _N appended."""
    if database == "sqlite":
        return f"sqlite:{VAR / f'bench-{customers}.sqlite3'}"
    parts = urlsplit(database)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{customers}"))


def environment(database: str) -> dict[str, str]:
    """Production-like settings (DEBUG off, whitenoise's manifest) for a local benchmark run of
    one sized database (see sized())."""
    env = {key: value for key, value in os.environ.items() if key not in DROPPED_ENV}
    env.update(
        DJANGO_SETTINGS_MODULE="kyc.settings",
        DEBUG="False",
        SECRET_KEY="bench-only-secret-key-not-for-production",  # noqa: S106
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        # Plain HTTP on loopback: no redirect to HTTPS, cookies sent without TLS.
        SECURE_SSL_REDIRECT="False",
        SESSION_COOKIE_SECURE="False",
        CSRF_COOKIE_SECURE="False",
        SECURE_HSTS_SECONDS="0",
        PRIVATE_MEDIA_ROOT=str(VAR / "private"),
        STATIC_ROOT=str(VAR / "static"),
        LOG_LEVEL="WARNING",
        MINDEE_WEBHOOK_SECRET=MINDEE_SECRET,
        PYTHONPATH=str(ROOT),
        DEMO_APP="True",  # `seed_bench` is a command of the demo app
    )
    if database.startswith("sqlite:"):
        env["SQLITE_PATH"] = database.removeprefix("sqlite:")
    else:
        env["DATABASE_URL"] = database
    return env


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [PYTHON, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout if capture else ""


def child(env: dict[str, str], *args: str) -> str:
    """Run `python -m bench.child ...` (Django side) and return what it printed."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [PYTHON, "-m", "bench.child", *args],
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
        stdout=subprocess.PIPE,
    )
    return result.stdout


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was actually measured."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def redact(url: str) -> str:
    """A database URL without its password, for tables and result files."""
    if url.startswith("sqlite"):
        return url
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def rss_peak_kib(pid: int) -> int | None:
    """VmHWM: the highest resident set size the process has had."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(value) for value in (task / "children").read_text().split()]
        except OSError:
            continue
    return found

"""`python -m bench` (`make bench`): speed and cost as the data grows.

For each database (SQLite, and PostgreSQL with --database-url) and each N (customers), a
database of that size (var/bench/bench-N.sqlite3, or the PostgreSQL database's name + _N) is
seeded with `manage.py seed_bench` unless an earlier run left it with exactly N customers, then:

  pages     case queue (first page, filtered, searches, deep page), customer file and live-status
            fragment: server time p50/p95 over --requests requests through the Django test client
            in-process (DEBUG off, logged-in analyst, warm-up first) and SQL queries per page; the
            Django admin's Customer changelist on the same data, as a ratio
  status    the live-status endpoint of a customer file watching 20 pending jobs, under load with
            a session cookie: gunicorn (--gunicorn-workers) on 127.0.0.1, wrk when installed, else
            bench/load.py; requests per second
  webhooks  --webhooks signed Mindee webhooks, each sent once as fast as bench/load.py can, to
            the same gunicorn: accepted per second, then every one stored exactly once?
  upload    upload -> report through the real `manage.py db_worker`: p50/p95 seconds for a
            one-page PDF and a passport image
  memory    peak RSS (VmHWM) of the web workers after the pages/status/webhook load and of the
            worker after analysing images (comes with status/webhooks and upload)
  mrz       bench/mrz_accuracy.py (the built-in MRZ reader's accuracy), once

Every load is bounded in requests and time, and only talks to 127.0.0.1. Results: a table, and
JSON in var/bench/ (results-<time>.json and latest.json).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from bench import load
from bench.common import (
    MINDEE_SECRET,
    PYTHON,
    ROOT,
    VAR,
    child,
    children_of,
    database_label,
    environment,
    manage,
    percentile,
    redact,
    rss_peak_kib,
    sized,
)

BENCHES = ("pages", "status", "webhooks", "upload")
TARGETS = {
    "page_p95_ms": 100.0,
    "status_rps": 500.0,
    "upload_p95_s": 3.0,
    "webhooks_per_s": 300.0,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0].split(": ", 1)[1]
    )
    parser.add_argument(
        "--bench",
        nargs="+",
        choices=[*BENCHES, "mrz"],
        default=list(BENCHES),
        help="which benchmarks (default: %(default)s; memory comes with status/webhooks/upload)",
    )
    parser.add_argument(
        "--database-url",
        action="append",
        dest="databases",
        metavar="URL",
        help="'sqlite' (var/bench/bench-N.sqlite3, the default) or postgres://.../NAME "
        "(databases NAME_N are created and rebuilt as needed: never point it at real data); "
        "repeatable",
    )
    parser.add_argument(
        "--customers",
        type=int,
        nargs="+",
        default=[1000, 10_000, 100_000],
        metavar="N",
        help="database sizes, smallest first (default: %(default)s)",
    )
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page")
    parser.add_argument(
        "--admin-requests",
        type=int,
        default=20,
        help="timed requests per admin page (the reference: about 1 s each at 100,000)",
    )
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    parser.add_argument("--status-seconds", type=float, default=10.0)
    parser.add_argument("--status-connections", type=int, default=8)
    parser.add_argument("--webhooks", type=int, default=10_000, help="webhooks to send")
    parser.add_argument("--webhook-connections", type=int, default=8)
    parser.add_argument(
        "--uploads", type=int, default=12, help="timed uploads per file type and interval"
    )
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument(
        "--worker-intervals",
        type=float,
        nargs="+",
        default=[1.0, 0.2],
        metavar="SECONDS",
        help="db_worker --interval values to measure uploads with (how long an idle worker "
        "sleeps before looking for tasks again; 1 is db_worker's default) (default: %(default)s)",
    )
    parser.add_argument("--reseed", action="store_true", help="rebuild the databases first")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.customers = sorted(set(args.customers))
    databases = args.databases or ["sqlite"]
    VAR.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    results: dict = {
        "started": started.isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(_quoted(argv)),
        "machine": machine(),
        "load_before": os.getloadavg(),
        "targets": TARGETS,
        "runs": [],
    }
    if "mrz" in args.bench:
        print("== MRZ accuracy (bench/mrz_accuracy.py)")
        output = subprocess.run(  # noqa: S603 - our own interpreter and module
            [PYTHON, "-m", "bench.mrz_accuracy", "--json"],
            cwd=ROOT,
            check=True,
            text=True,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout
        summary = json.loads(output)
        summary.pop("misses", None)
        results["mrz"] = summary
    if "status" in args.bench or "pages" in args.bench:
        manage(environment(sized("sqlite", 0)), "collectstatic", "--noinput", "-v0")
    for database in databases if set(args.bench) & set(BENCHES) else []:
        for customers in args.customers:
            target = sized(database, customers)
            run = measure(args, target, environment(target), customers, reset=args.reseed)
            results["runs"].append(run)
            _save(results, started)
    results["load_after"] = os.getloadavg()
    path = _save(results, started)
    (VAR / "latest.md").write_text(markdown(results))
    print()
    print(table(results))
    print(f"\nJSON: {path.relative_to(ROOT)}; Markdown summary: var/bench/latest.md")
    return 0


def _quoted(argv: list[str] | None) -> list[str]:
    import shlex

    return [shlex.quote(arg) for arg in (argv if argv is not None else os.sys.argv[1:])]


def _save(results: dict, started: dt.datetime) -> Path:
    path = VAR / f"results-{started:%Y%m%dT%H%M%S}.json"
    text = json.dumps(results, indent=2, default=str)
    path.write_text(text)
    (VAR / "latest.json").write_text(text)
    return path


def machine() -> dict:
    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


# ------------------------------------------------------------------------------------ database


def prepare(database: str, env: dict[str, str], customers: int, reset: bool) -> dict:
    """The sized benchmark database with exactly `customers` customers: kept from an earlier
    run, completed, or rebuilt."""
    if reset:
        drop(database)
    create(database)
    manage(env, "migrate", "--noinput", "-v0")
    have = json.loads(child(env, "count"))
    if have["customers"] != have["bench_customers"] or have["customers"] > customers:
        drop(database)
        create(database)
        manage(env, "migrate", "--noinput", "-v0")
        have = {"customers": 0}
    seeded = None
    if have["customers"] < customers:
        print(f"  seeding {customers - have['customers']:,} customers ...", flush=True)
        output = manage(
            env, "seed_bench", "--customers", str(customers - have["customers"]), capture=True
        )
        print("  " + output.strip().splitlines()[0], flush=True)
        match = re.search(r"in ([0-9.]+) s", output)
        seeded = {
            "customers": customers - have["customers"],
            "seconds": float(match.group(1)) if match else None,
            "output": output,
        }
    return {"seeded": seeded}


def _pg(database: str) -> tuple[str, str]:
    """(maintenance URL, database name) of a PostgreSQL URL."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(database)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), name


def create(database: str) -> None:
    if database.startswith("sqlite:"):
        return
    import psycopg

    admin_url, name = _pg(database)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def drop(database: str) -> None:
    if database.startswith("sqlite:"):
        for suffix in ("", "-wal", "-shm"):
            Path(database.removeprefix("sqlite:") + suffix).unlink(missing_ok=True)
        return
    import psycopg

    admin_url, name = _pg(database)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------------ one size


def measure(
    args: argparse.Namespace, database: str, env: dict[str, str], customers: int, reset: bool
) -> dict:
    print(f"== {database_label(database)}, {customers:,} customers", flush=True)
    run = {
        "database": database_label(database),
        "database_url": redact(database),
        "customers": customers,
        "load_before": os.getloadavg(),
    }
    run.update(prepare(database, env, customers, reset))
    info = json.loads(child(env, "info"))
    run["info"] = info
    if "pages" in args.bench:
        print("  pages (test client in-process)", flush=True)
        output = child(
            env,
            "pages",
            "--requests",
            str(args.requests),
            "--admin-requests",
            str(args.admin_requests),
            "--warmup",
            str(args.warmup),
        )
        run["pages"] = json.loads(output)["pages"]
    if "status" in args.bench or "webhooks" in args.bench:
        with gunicorn(env, args) as server:
            if "status" in args.bench:
                run["status"] = status(args, env, server, info)
            if "webhooks" in args.bench:
                run["webhooks"] = webhooks(args, env, server)
            run["memory_web_kib"] = server.peak_rss()
    if "upload" in args.bench:
        run["upload"] = {}
        for interval in args.worker_intervals:
            print(f"  upload -> report, db_worker --interval {interval:g}", flush=True)
            with worker(env, interval) as process:
                output = child(env, "upload", "--count", str(args.uploads))
                run["upload"][f"{interval:g}"] = json.loads(output)
                peak = rss_peak_kib(process.pid) or 0
                run["memory_worker_kib"] = max(run.get("memory_worker_kib") or 0, peak)
    run["load_after"] = os.getloadavg()
    return run


class Server:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port

    def peak_rss(self) -> dict:
        workers = [rss_peak_kib(pid) or 0 for pid in children_of(self.process.pid)]
        return {"master": rss_peak_kib(self.process.pid), "workers": workers}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], args: argparse.Namespace):
    port = args.port or _free_port()
    log = (VAR / "gunicorn.log").open("a")
    process = subprocess.Popen(  # noqa: S603 - our own virtualenv's gunicorn
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "kyc.wsgi",
            "--workers",
            str(args.gunicorn_workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        # /webhooks/mindee/ takes deliveries only with Mindee configured (else 404). The web
        # process never calls Mindee (it stores deliveries; the worker, without the key, submits
        # nothing to Mindee), and the base URL is a closed local port all the same.
        env={**env, "MINDEE_API_KEY": "bench-mindee-key", "MINDEE_BASE_URL": "http://127.0.0.1:9"},
        cwd=ROOT,
        # gunicorn.conf.py logs every request to stdout, as in production: to a file here.
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(port, process)
        yield Server(process, port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        url = f"http://127.0.0.1:{port}/healthz/"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz/ in time")


@contextlib.contextmanager
def worker(env: dict[str, str], interval: float):
    command = [
        PYTHON,
        str(ROOT / "manage.py"),
        "db_worker",
        "--queue-name",
        "*",
        "--no-startup-delay",
        "--no-reload",
    ]
    command += ["--interval", f"{interval:g}"]
    log = (VAR / "worker.log").open("a")
    process = subprocess.Popen(  # noqa: S603
        command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        time.sleep(1.0)
        if process.poll() is not None:
            raise SystemExit(f"db_worker exited with {process.returncode}")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# -------------------------------------------------------------------------------- live status


def _get(port: int, path: str, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def status(args: argparse.Namespace, env: dict[str, str], server: Server, info: dict) -> dict:
    """Two modes: every poll rendered in full (a client that never revalidates, or every poll
    seeing a change), and the browser's steady state, revalidating with If-None-Match while
    nothing changed (304)."""
    cookie = json.loads(child(env, "session", "bench-analyst-00"))["cookie"]
    headers = {"Cookie": cookie, "HX-Request": "true"}
    path = info["live_url"]
    # A wrong cookie would measure the login redirect: check the answers first.
    code, answer = _get(server.port, path, headers)
    if code != 200:
        raise SystemExit(f"live status answered {code}")
    modes = {"full render": headers}
    etag = answer.get("ETag")
    if etag:
        revalidate = {**headers, "If-None-Match": etag}
        code, _answer = _get(server.port, path, revalidate)
        if code != 304:
            raise SystemExit(f"live status revalidation answered {code}, not 304")
        modes["revalidated (304)"] = revalidate
    # The web workers also serve the heavier pages, so their peak memory includes them.
    pages = ["/", "/?risk=red&status=in_review", info["customer_url"], "/?page=10"]
    cycle = iter(range(10**9))
    load.run(
        server.port,
        lambda: load.request_bytes(
            "GET", pages[next(cycle) % len(pages)], port=server.port, headers={"Cookie": cookie}
        ),
        concurrency=2,
        max_requests=40,
        max_seconds=60,
    )
    print(f"  live status: {info['live_pending_jobs']} pending jobs, {path}", flush=True)
    results = {"pending_jobs": info["live_pending_jobs"]}
    for mode, mode_headers in modes.items():
        if shutil.which("wrk"):
            summary = _wrk(args, server, path, mode_headers)
        else:
            result = load.run(
                server.port,
                lambda mode_headers=mode_headers: load.request_bytes(
                    "GET", path, port=server.port, headers=mode_headers
                ),
                concurrency=args.status_connections,
                max_requests=10**7,
                max_seconds=args.status_seconds,
            )
            summary = {
                "tool": "bench/load.py",
                "connections": args.status_connections,
                "seconds": result.seconds,
                "requests": result.answered,
                "rps": result.per_second,
                "statuses": dict(result.statuses),
                "errors": dict(result.errors),
                "p50": f"{percentile(result.latencies, 50) * 1000:.2f}ms",
                "p99": f"{percentile(result.latencies, 99) * 1000:.2f}ms",
            }
        results[mode] = summary
        print(
            f"  live status, {mode} ({summary['tool']}): {summary['rps']:.0f} requests/s, "
            f"p99 {summary['p99']}",
            flush=True,
        )
    return results


def _wrk(args: argparse.Namespace, server: Server, path: str, headers: dict) -> dict:
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(args.status_connections),
        "--duration",
        f"{max(1, round(args.status_seconds))}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{server.port}{path}")
    output = subprocess.run(command, check=True, text=True, stdout=subprocess.PIPE).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))
    requests = int(re.search(r"([0-9]+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([0-9.]+\w+)", output, re.M))
    summary = {
        "tool": "wrk",
        "connections": args.status_connections,
        "seconds": args.status_seconds,
        "requests": requests,
        "rps": rps,
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
        "p50": latency.get("50"),
        "p99": latency.get("99"),
    }
    return summary


# ----------------------------------------------------------------------------------- webhooks


def webhooks(args: argparse.Namespace, env: dict[str, str], server: Server) -> dict:
    """Each webhook names its own Mindee job: every delivery is new, none may be lost or stored
    twice. Bodies and signatures are prepared before the clock starts."""
    run = uuid.uuid4().hex[:8]
    key = MINDEE_SECRET.encode()
    prepared, keys = [], []
    for index in range(args.webhooks):
        job_id = str(uuid.UUID(int=(int(run, 16) << 64) | index, version=4))
        document_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "api_request": {"status": "success", "status_code": 200},
                "document": {"id": document_id, "name": f"cni-{index}.png", "n_pages": 1},
                "job": {
                    "id": job_id,
                    "status": "completed",
                    "issued_at": "2026-01-05T10:00:00.000000",
                    "available_at": "2026-01-05T10:00:06.000000",
                },
            }
        ).encode()
        signature = hmac.new(key, body, hashlib.sha256).hexdigest()
        keys.append(f"mindee:job:{job_id}:document:{document_id}")
        prepared.append(
            load.request_bytes(
                "POST",
                "/webhooks/mindee/",
                port=server.port,
                headers={
                    "Content-Type": "application/json",
                    "X-Mindee-Hmac-Signature": signature,
                },
                body=body,
            )
        )
    keys_file = VAR / f"webhook-keys-{run}.json"
    keys_file.write_text(json.dumps(keys))
    queue = iter(prepared)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    result = load.run(
        server.port,
        lambda: next(queue, None),
        concurrency=args.webhook_connections,
        max_requests=len(prepared),
        max_seconds=600,
    )
    check = json.loads(
        child(env, "webhook-check", "--since", since.isoformat(), "--keys", str(keys_file))
    )
    keys_file.unlink()
    summary = {
        "tool": "bench/load.py",
        "connections": args.webhook_connections,
        "sent": result.sent,
        "answered": result.answered,
        "statuses": dict(result.statuses),
        "errors": dict(result.errors),
        "seconds": result.seconds,
        "accepted_per_s": result.statuses.get(200, 0) / result.seconds,
        "p50_ms": percentile(result.latencies, 50) * 1000,
        "p99_ms": percentile(result.latencies, 99) * 1000,
        "check": check,
    }
    print(
        f"  webhooks: {summary['accepted_per_s']:.0f} accepted/s, "
        f"{check['stored_expected_keys']}/{check['sent_keys']} stored, "
        f"{check['duplicate_rows']} duplicates, exactly once: {check['exactly_once']}",
        flush=True,
    )
    return summary


# -------------------------------------------------------------------------------------- table


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(results: dict) -> str:
    lines = []
    machine_ = results["machine"]
    lines.append(
        f"machine: {machine_['cpu']}, {machine_['cores']} cores, {machine_['memory']}, "
        f"Python {machine_['python']}; load average before "
        + ", ".join(f"{v:.2f}" for v in results["load_before"])
    )
    for run in results["runs"]:
        lines.append("")
        lines.append(
            f"{run['database']} · {run['customers']:,} customers "
            f"(load {run['load_before'][0]:.2f} -> {run['load_after'][0]:.2f})"
        )
        if "pages" in run:
            lines.append(
                f"  {'page':<38} {'p50 ms':>7} {'p95 ms':>7} {'SQL':>4}"
                f" {'admin p95':>10} {'admin SQL':>9} {'ratio':>6}"
            )
            for name, row in run["pages"].items():
                page, admin = row["page"], row.get("admin")
                lines.append(
                    f"  {name:<38} {page['p50_ms']:>7.1f} {page['p95_ms']:>7.1f}"
                    f" {page['queries']:>4}"
                    + (
                        f" {admin['p95_ms']:>10.1f} {admin['queries']:>9} {row['ratio_p95']:>6.2f}"
                        if admin
                        else ""
                    )
                )
        for mode, status_ in run.get("status", {}).items():
            if isinstance(status_, dict):
                lines.append(
                    f"  live status, {mode} ({status_['tool']}, {status_['connections']} conn.):"
                    f" {status_['rps']:.0f} requests/s, p50 {status_['p50']}, p99 {status_['p99']}"
                )
        if "webhooks" in run:
            hooks = run["webhooks"]
            check = hooks["check"]
            lines.append(
                f"  webhooks: {hooks['accepted_per_s']:.0f} accepted/s "
                f"({hooks['statuses'].get(200, 0)}/{hooks['sent']} answered 200 in "
                f"{hooks['seconds']:.1f} s); stored {check['stored_expected_keys']}/"
                f"{check['sent_keys']}, duplicates {check['duplicate_rows']}, "
                f"exactly once: {check['exactly_once']}"
            )
        for interval, rows in run.get("upload", {}).items():
            for label, row in rows.items():
                lines.append(
                    f"  upload -> report, {label}, db_worker --interval {interval}:"
                    f" p50 {row['p50_s']:.2f} s, p95 {row['p95_s']:.2f} s"
                    f" ({row['uploads']} uploads)"
                )
        if "memory_web_kib" in run:
            web = run["memory_web_kib"]
            lines.append(
                "  peak RSS web workers: "
                + ", ".join(f"{kib / 1024:.0f} MiB" for kib in web["workers"])
            )
        if run.get("memory_worker_kib"):
            lines.append(f"  peak RSS worker: {run['memory_worker_kib'] / 1024:.0f} MiB")
    if "mrz" in results:
        mrz_ = results["mrz"]
        lines.append("")
        lines.append(
            f"MRZ: {mrz_['seconds_per_image']:.2f} s per image, degraded variants "
            f"{mrz_['degraded_all_fields_exact']:.1%} exact, tampered caught "
            f"{mrz_['tampered_caught']}/{mrz_['tampered']}"
        )
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """One table per database: a row per measurement, a column per size (for the README)."""
    out = []
    databases = dict.fromkeys(run["database"] for run in results["runs"])
    for database in databases:
        runs = [run for run in results["runs"] if run["database"] == database]
        rows: dict[str, dict[int, str]] = {}

        def put(name: str, customers: int, value: str, rows: dict = rows) -> None:
            rows.setdefault(name, {})[customers] = value

        for run in runs:
            n = run["customers"]
            for name, row in run.get("pages", {}).items():
                page = row["page"]
                label = re.sub(r"deep page \d+", "deep page", name)
                cell = f"{page['p50_ms']:.0f} / {page['p95_ms']:.0f} ms, {page['queries']} q"
                if "admin" in row:
                    cell += f"; admin p95 {row['admin']['p95_ms']:.0f} ms ({row['ratio_p95']:.2f})"
                put(f"{label} (p50 / p95)", n, cell)
            for mode, status_ in run.get("status", {}).items():
                if isinstance(status_, dict):
                    put(f"live status under load, {mode}", n, f"{status_['rps']:.0f} req/s")
            if "webhooks" in run:
                hooks, check = run["webhooks"], run["webhooks"]["check"]
                put(
                    "webhooks accepted",
                    n,
                    f"{hooks['accepted_per_s']:.0f}/s, {check['stored_expected_keys']}/"
                    f"{check['sent_keys']} stored once"
                    + ("" if check["exactly_once"] else " (NOT exactly once)"),
                )
            for interval, uploads in run.get("upload", {}).items():
                for label, row in uploads.items():
                    put(
                        f"upload -> report, {label}, worker --interval {interval} (p50 / p95)",
                        n,
                        f"{row['p50_s']:.2f} / {row['p95_s']:.2f} s",
                    )
            if "memory_web_kib" in run:
                web = max(run["memory_web_kib"]["workers"] or [0])
                put("peak RSS, web worker", n, f"{web / 1024:.0f} MiB")
            if run.get("memory_worker_kib"):
                put(
                    "peak RSS, task worker (OCR loaded)",
                    n,
                    f"{run['memory_worker_kib'] / 1024:.0f} MiB",
                )
        sizes = [run["customers"] for run in runs]
        out.append(f"**{database}**\n")
        out.append("| | " + " | ".join(f"{n:,} customers" for n in sizes) + " |")
        out.append("|---|" + "---|" * len(sizes))
        for name, cells in rows.items():
            out.append(f"| {name} | " + " | ".join(cells.get(n, "") for n in sizes) + " |")
        out.append("")
    return "\n".join(out)

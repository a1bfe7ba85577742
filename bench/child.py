"""The Django side of the benchmarks, run by `python -m bench` in a process of its own with the
benchmark environment (bench/common.py): `python -m bench.child COMMAND ...`.

    pages          server time of the case queue, the customer file and the admin changelist
                   (Django test client in-process, DEBUG off, a logged-in user), SQL query counts
    session USER   a session cookie for USER (for the load generators)
    info           ids the other benchmarks need (live-status customer, upload target)
    upload         upload -> report through the real worker (started by the orchestrator)
    webhook-check  were the webhooks sent stored exactly once? then remove them
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.common import percentile  # noqa: E402
from demo import bench as bench_data  # noqa: E402
from demo import documents  # noqa: E402
from kyc.models import Customer, Document, ProviderJob, Report, WebhookEvent  # noqa: E402

ANALYST = f"{bench_data.USER_PREFIX}analyst-00"
ADMIN = f"{bench_data.USER_PREFIX}admin"
# A common last name of the seeded data set (the fragment is what an analyst types), and one that
# matches nobody: the search then reads the whole table.
NAME_FRAGMENT = "mercier"
NO_MATCH = "zzqx"


def _client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def _time(client: Client, urls: list[str], count: int, warmup: int, headers: dict) -> dict:
    for index in range(warmup):
        client.get(urls[index % len(urls)], headers=headers)
    seconds = []
    for index in range(count):
        url = urls[index % len(urls)]
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        seconds.append(time.perf_counter() - started)
        if response.status_code not in (200, 286):
            raise SystemExit(f"{url} answered {response.status_code}")
    queries = 0
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            client.get(url, headers=headers)
        queries = max(queries, len(captured))
    return {
        "requests": count,
        "p50_ms": percentile(seconds, 50) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
        "max_ms": max(seconds) * 1000,
        "queries": queries,
        "urls": urls[:3],
    }


def pages(args: argparse.Namespace) -> dict:
    customers = Customer.objects.count()
    live = bench_data.live_status_customer()
    company = (
        Customer.objects.filter(kind=Customer.Kind.COMPANY, pk__gte=customers // 2)
        .order_by("pk")
        .first()
    )
    deep = min(1000, max(2, customers // 100))
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first()
    sample = random.Random(11).sample(range(3, top + 1), min(20, max(1, top - 2)))
    files = [f"/customers/{pk}/" for pk in sample]
    queue = {
        "queue: first page": ["/"],
        "queue: risk=red & status=in_review": ["/?risk=red&status=in_review"],
        "queue: search name": [f"/?q={NAME_FRAGMENT}"],
        "queue: search no match": [f"/?q={NO_MATCH}"],
        "queue: search SIREN": [f"/?q={company.siren}"],
        f"queue: deep page {deep}": [f"/?page={deep}"],
        "customer file (20 customers)": files,
        "live status (htmx, 20 pending jobs)": [f"/customers/{live.pk}/status/"],
    }
    changelist = reverse("admin:kyc_customer_changelist")
    admin = {
        "queue: first page": [changelist],
        "queue: risk=red & status=in_review": [
            f"{changelist}?risk_level__exact=red&status__exact=in_review"
        ],
        "queue: search name": [f"{changelist}?q={NAME_FRAGMENT}"],
        "queue: search no match": [f"{changelist}?q={NO_MATCH}"],
        "queue: search SIREN": [f"{changelist}?q={company.siren}"],
        f"queue: deep page {deep}": [f"{changelist}?p={deep}"],
        "customer file (20 customers)": [
            reverse("admin:kyc_customer_change", args=[pk]) for pk in sample
        ],
    }
    analyst, superuser = _client(ANALYST), _client(ADMIN)
    results = {}
    for name, urls in queue.items():
        headers = {"HX-Request": "true"} if "htmx" in name else {}
        row = {"page": _time(analyst, urls, args.requests, args.warmup, headers)}
        if name in admin:
            row["admin"] = _time(superuser, admin[name], args.admin_requests, 2, {})
            row["ratio_p95"] = row["page"]["p95_ms"] / row["admin"]["p95_ms"]
        results[name] = row
        print(
            f"  {name:<38} p95 {row['page']['p95_ms']:7.1f} ms, {row['page']['queries']} queries"
            + (f"; admin p95 {row['admin']['p95_ms']:7.1f} ms" if "admin" in row else ""),
            file=sys.stderr,
        )
    return {"customers": customers, "pages": results}


def session(args: argparse.Namespace) -> dict:
    client = _client(args.username)
    name = settings.SESSION_COOKIE_NAME
    return {"cookie": f"{name}={client.cookies[name].value}"}


def info(args: argparse.Namespace) -> dict:
    live = bench_data.live_status_customer()
    target = bench_data.upload_target()
    pending = ProviderJob.objects.filter(
        request__customer=live, status__in=ProviderJob.ACTIVE_STATUSES
    ).count()
    return {
        "customers": Customer.objects.count(),
        "bench_customers": bench_data.bench_customer_count(),
        "live_customer": live.pk,
        "live_pending_jobs": pending,
        "live_url": reverse("kyc:customer-status", args=[live.pk]),
        "customer_url": reverse("kyc:customer-detail", args=[live.pk]),
        "upload_customer": target.pk,
    }


def count(args: argparse.Namespace) -> dict:
    return {
        "customers": Customer.objects.count(),
        "bench_customers": bench_data.bench_customer_count(),
    }


# ------------------------------------------------------------------------------------- uploads


def _passport(index: int) -> bytes:
    return documents.passport_jpeg(
        bench_data.sample_identity(
            "passport",
            surname=random.Random(index).choice(bench_data.LAST_NAMES),
            given_names="Camille",
            document_number=f"{20 + index % 5}BX{index:05d}",
            birth_date=dt.date(1984, 3, 9),
            birth_place="Nantes",
            issue_date=dt.date(2022, 7, 1),
            expiry_date=dt.date(2032, 6, 30),
        )
    )


def _pdf(index: int) -> bytes:
    created = dt.datetime(2025, 1, 14, 5, 30)
    return documents.utility_bill_pdf(
        supplier="Électricité Verte de France",
        holder="Camille ESSAI-ENVOI",
        address=["4 rue de Saint-Malo", "35000 Rennes"],
        issued_on=dt.date(2025, 1, 14),
        reference=f"{4410000000 + index}",
        amount=40 + index,
        origin=documents.FileOrigin(created, created, "EDV Facturation 5.0"),
    )


def upload(args: argparse.Namespace) -> dict:
    """Each upload goes through the upload view (test client, in this process); the worker
    process analyses it. Timed from the request to the moment the job's report is stored."""
    target = bench_data.upload_target()
    url = reverse("kyc:document-upload", args=[target.requests.get().pk])
    client = _client(ANALYST)
    started_run = timezone.now()
    plans = {
        "one-page PDF": ("proof_of_address", "facture-{}.pdf", _pdf),
        "passport image": ("passport", "passeport-{}.jpg", _passport),
    }
    results = {}
    try:
        for label, (kind, name, make) in plans.items():
            files = [(name.format(i), make(i)) for i in range(args.count + 1)]
            seconds = []
            for index, (file_name, content) in enumerate(files):
                elapsed = _upload_one(client, url, target, kind, file_name, content, args.timeout)
                if index:  # the first one warms the worker up (and loads the OCR model)
                    seconds.append(elapsed)
                else:
                    warmup = elapsed
            results[label] = {
                "uploads": len(seconds),
                "p50_s": percentile(seconds, 50),
                "p95_s": percentile(seconds, 95),
                "max_s": max(seconds),
                "warmup_s": warmup,
                "bytes": len(files[0][1]),
            }
            print(
                f"  upload {label}: p50 {results[label]['p50_s']:.2f} s, "
                f"p95 {results[label]['p95_s']:.2f} s (warm-up {warmup:.2f} s)",
                file=sys.stderr,
            )
    finally:
        # The target customer stays small from one run to the next.
        uploaded = Document.objects.filter(customer=target, created_at__gte=started_run)
        names = list(uploaded.values_list("file", flat=True))
        uploaded.delete()
        for stored in names:
            default_storage.delete(stored)
    return results


def _upload_one(client, url, target, kind, file_name, content, timeout) -> float:
    started = time.perf_counter()
    response = client.post(url, {"files": SimpleUploadedFile(file_name, content), "kind": kind})
    if response.status_code != 302:
        raise SystemExit(f"upload of {file_name} answered {response.status_code}")
    document = (
        Document.objects.filter(customer=target, original_name=file_name).order_by("-pk").first()
    )
    deadline = started + timeout
    while time.perf_counter() < deadline:
        job = ProviderJob.objects.filter(document=document, provider="local").first()
        if job is not None and job.status in ProviderJob.FINAL_STATUSES:
            if job.status != ProviderJob.Status.COMPLETED:
                raise SystemExit(f"{file_name}: job {job.status}: {job.last_error}")
            if Report.objects.filter(job=job).exists():
                return time.perf_counter() - started
        time.sleep(0.01)
    raise SystemExit(f"{file_name}: no report after {timeout} s")


# ------------------------------------------------------------------------------------ webhooks


def webhook_check(args: argparse.Namespace) -> dict:
    from django_tasks_db.models import DBTaskResult

    expected = set(json.loads(Path(args.keys).read_text()))
    since = dt.datetime.fromisoformat(args.since)
    events = WebhookEvent.objects.filter(received_at__gte=since, provider="mindee")
    rows = list(events.values_list("dedupe_key", "state", "signature_verdict"))
    keys = [key for key, _state, _verdict in rows]
    stored = {key for key in keys if key in expected}
    tasks = DBTaskResult.objects.filter(
        enqueued_at__gte=since, task_path__endswith="process_webhook_task"
    )
    result = {
        "sent_keys": len(expected),
        "stored_rows": len(rows),
        "stored_distinct_keys": len(set(keys)),
        "stored_expected_keys": len(stored),
        "missing": len(expected - stored),
        "duplicate_rows": len(rows) - len(set(keys)),
        "not_valid_signature": sum(1 for row in rows if row[2] != "valid"),
        "states": dict(sorted({state: 0 for _k, state, _v in rows}.items())),
        "processing_tasks_enqueued": tasks.count(),
    }
    for _key, state, _verdict in rows:
        result["states"][state] += 1
    result["exactly_once"] = (
        result["missing"] == 0
        and result["duplicate_rows"] == 0
        and result["stored_rows"] == len(expected)
        and result["not_valid_signature"] == 0
    )
    if not args.keep:
        tasks.delete()
        events.delete()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("pages")
    command.add_argument("--requests", type=int, default=60)
    command.add_argument("--warmup", type=int, default=5)
    command.add_argument("--admin-requests", type=int, default=20)
    command = commands.add_parser("session")
    command.add_argument("username")
    commands.add_parser("info")
    commands.add_parser("count")
    command = commands.add_parser("upload")
    command.add_argument("--count", type=int, default=20)
    command.add_argument("--timeout", type=float, default=120.0)
    command = commands.add_parser("webhook-check")
    command.add_argument("--since", required=True)
    command.add_argument("--keys", required=True)
    command.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    handler = {
        "pages": pages,
        "session": session,
        "info": info,
        "count": count,
        "upload": upload,
        "webhook-check": webhook_check,
    }[args.command]
    print(json.dumps(handler(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

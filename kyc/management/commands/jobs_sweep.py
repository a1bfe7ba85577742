"""Pick up work left in flight (a worker died, a task was lost): provider jobs, expired ones,
webhook deliveries still waiting for their task, and OCR corrections waiting to reach Artemis."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from kyc.services import jobs_sweep
from kyc.services.ocr import corrections_sweep
from kyc.services.task_results import task_results_prune
from kyc.services.webhooks import webhooks_sweep


class Command(BaseCommand):
    help = (
        "Re-enqueue stuck provider jobs and expire those past their deadline; re-enqueue webhook "
        "deliveries still waiting WEBHOOK_STALE_SECONDS after their last hand-over to the queue."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=float,
            default=0,
            help="Keep running, sweeping every N seconds (0: sweep once and exit).",
        )

    def handle(self, *args, every: float, **options):
        # SIGTERM (a supervisor, `make run`'s Ctrl-C) ends the wait between sweeps, never a sweep
        # half-way: the process exits 0 as a stopped service should.
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.is_set():
            counts = jobs_sweep()
            hooks = webhooks_sweep()
            resent = corrections_sweep()
            pruned = task_results_prune()
            if (
                counts["expired"]
                or counts["requeued"]
                or hooks["requeued"]
                or hooks["failed"]
                or resent
                or pruned
                or not every
            ):
                self.stdout.write(
                    f"swept: {counts['requeued']} job(s) re-enqueued, {counts['expired']} "
                    f"expired, {hooks['requeued']} webhook(s) re-enqueued, {hooks['failed']} "
                    f"given up, {resent} OCR correction push(es) sent again, {pruned} old task "
                    "result(s) deleted"
                )
            if not every:
                return
            stop.wait(every)

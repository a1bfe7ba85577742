"""Pick up work left in flight (a worker died, a task was lost): provider jobs, expired ones, and
OCR corrections waiting to reach Artemis."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from kyc.services import jobs_sweep
from kyc.services.ocr import corrections_sweep


class Command(BaseCommand):
    help = "Re-enqueue stuck provider jobs and expire those past their deadline."

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
            resent = corrections_sweep()
            if counts["expired"] or counts["requeued"] or resent or not every:
                self.stdout.write(
                    f"swept: {counts['requeued']} job(s) re-enqueued, {counts['expired']} "
                    f"expired, {resent} OCR correction push(es) sent again"
                )
            if not every:
                return
            stop.wait(every)

"""Pick up work left in flight (a worker died, a task was lost): provider jobs, expired ones, and
OCR corrections waiting to reach Artemis."""

from __future__ import annotations

import time

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
        while True:
            counts = jobs_sweep()
            resent = corrections_sweep()
            if counts["expired"] or counts["requeued"] or resent or not every:
                self.stdout.write(
                    f"swept: {counts['requeued']} job(s) re-enqueued, {counts['expired']} "
                    f"expired, {resent} OCR correction push(es) sent again"
                )
            if not every:
                return
            time.sleep(every)

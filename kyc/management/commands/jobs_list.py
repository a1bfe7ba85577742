"""List provider jobs that need attention: stuck (task lost) or failing."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from kyc.models import ProviderJob
from kyc.services.jobs import jobs_stuck


class Command(BaseCommand):
    help = "List stuck jobs (in flight with a lost task) and failing jobs (failed, or erroring)."

    def add_arguments(self, parser):
        parser.add_argument("--stuck", action="store_true", help="Only jobs that look stuck.")
        parser.add_argument("--failed", action="store_true", help="Only failed/erroring jobs.")
        parser.add_argument("--limit", type=int, default=200)

    def handle(self, *args, stuck: bool, failed: bool, limit: int, **options):
        now = timezone.now()
        stuck_ids = set(jobs_stuck(now).values_list("pk", flat=True))
        failing = Q(status__in=ProviderJob.UNSUCCESSFUL_STATUSES) | Q(
            status__in=ProviderJob.ACTIVE_STATUSES, error_count__gt=0
        )
        if stuck and not failed:
            queryset = ProviderJob.objects.filter(pk__in=stuck_ids)
        elif failed and not stuck:
            queryset = ProviderJob.objects.filter(failing)
        else:
            queryset = ProviderJob.objects.filter(failing | Q(pk__in=stuck_ids))
        rows = queryset.select_related("request__customer").order_by("-updated_at")[:limit]
        count = 0
        for job in rows:
            count += 1
            flag = "STUCK " if job.pk in stuck_ids else ""
            self.stdout.write(
                f"{flag}#{job.pk} {job.provider}/{job.operation} {job.status} "
                f"attempts={job.attempts} errors={job.error_count} "
                f"next={job.next_poll_at.isoformat() if job.next_poll_at else '-'} "
                f"deadline={job.deadline_at.isoformat() if job.deadline_at else '-'} "
                f"customer={job.request.customer_id} error={job.last_error[:120]!r}"
            )
        self.stdout.write(f"{count} job(s)")

"""Purge documents whose retention ran out (RETENTION_DAYS_AFTER_DECISION after the final
decision), and the raw bodies and headers of processed webhook deliveries older than
WEBHOOK_RETENTION_DAYS. Run it daily (cron, a systemd timer, a Kubernetes CronJob); it is
idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kyc.services.privacy import documents_purge_expired, webhook_payloads_purge


class Command(BaseCommand):
    help = (
        "Delete the stored files of documents whose customer's final decision (approve or reject, "
        "confirmed) is older than RETENTION_DAYS_AFTER_DECISION days; the rows stay, marked "
        "purged, and each purge is audited. Also blank the raw body and headers of processed "
        "webhook deliveries received more than WEBHOOK_RETENTION_DAYS days ago (the rows stay, "
        "for deduplication; one audit row per run)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be purged; change nothing."
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=(
                "Document retention in days after the final decision "
                f"(default: {settings.RETENTION_DAYS_AFTER_DECISION})."
            ),
        )
        parser.add_argument(
            "--webhook-days",
            type=int,
            default=None,
            help=(
                "Webhook payload retention in days after receipt "
                f"(default: {settings.WEBHOOK_RETENTION_DAYS})."
            ),
        )

    def handle(self, *args, dry_run: bool, days: int | None, webhook_days: int | None, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be zero or more")
        if webhook_days is not None and webhook_days < 0:
            raise CommandError("--webhook-days must be zero or more")
        result = documents_purge_expired(days=days, dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        for document_id in result.documents:
            self.stdout.write(f"{verb} document #{document_id}")
        for document_id in result.skipped_busy:
            self.stdout.write(f"skipped document #{document_id}: an analysis is still running")
        self.stdout.write(
            f"{verb} {len(result.documents)} document(s) of {len(result.customers)} customer(s) "
            f"and {result.attachments} report file(s); decisions before "
            f"{result.cutoff.isoformat()}"
        )
        webhooks = webhook_payloads_purge(days=webhook_days, dry_run=dry_run)
        self.stdout.write(
            f"{verb} {webhooks.count} webhook payload(s) received before "
            f"{webhooks.cutoff.isoformat()}"
        )

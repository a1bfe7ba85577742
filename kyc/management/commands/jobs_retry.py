"""Re-queue failed or expired jobs: the same service as the workspace's Retry button."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kyc.services import job_retry


class Command(BaseCommand):
    help = "Re-queue failed or expired provider jobs by id."

    def add_arguments(self, parser):
        parser.add_argument("job_ids", nargs="+", type=int)
        parser.add_argument(
            "--as", dest="username", help="Record this user as the actor in the audit trail."
        )

    def handle(self, *args, job_ids: list[int], username: str | None, **options):
        actor = None
        if username:
            try:
                actor = get_user_model().objects.get(username=username)
            except get_user_model().DoesNotExist as exc:
                raise CommandError(f"No user called {username!r}.") from exc
        failures = 0
        for job_id in job_ids:
            try:
                job_retry(job_id=job_id, actor=actor)
            except ValidationError as exc:
                failures += 1
                self.stderr.write(f"#{job_id}: {' '.join(exc.messages)}")
            else:
                self.stdout.write(f"#{job_id}: queued again")
        if failures:
            raise CommandError(f"{failures} job(s) not re-queued")

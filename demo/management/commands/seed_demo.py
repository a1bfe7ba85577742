"""`manage.py seed_demo`: demo users, and the demo data set loaded once (development only).

`make run` calls it on every start: it creates what is missing and otherwise changes nothing.
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from demo import builder
from kyc.models import (
    AuditEvent,
    Customer,
    Decision,
    Document,
    ManagerAlert,
    OcrCorrection,
    OcrResult,
    Officer,
    ProviderJob,
    Report,
)


class Command(BaseCommand):
    help = _(
        "Create the demo users (analyst, reviewer, admin) and load the demo customers, "
        "documents and analyses once. The password comes from DEMO_PASSWORD."
    )

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", "")
        if not password:
            if not settings.DEBUG:
                # A known default password on a production admin account would be a hole.
                raise CommandError(
                    _("Set DEMO_PASSWORD to seed demo users outside development (DEBUG=False).")
                )
            password = builder.DEFAULT_PASSWORD
        started = time.monotonic()
        demo: builder.DemoBuilder | None = None
        try:
            with transaction.atomic():
                users = builder.ensure_users(password)
                if not builder.demo_data_exists():
                    demo = builder.DemoBuilder(users)
                    demo.build()
        except BaseException:
            # The database rolled back; the stored files of that transaction go as well.
            for name in demo.stored_files if demo else []:
                default_storage.delete(name)
            raise

        self._report_users(users, password)
        if demo is None:
            self.stdout.write(_("Demo data already present: nothing loaded."))
            return
        self.stdout.write(self.style.SUCCESS(self._summary(time.monotonic() - started)))

    def _report_users(self, users: builder.DemoUsers, password: str) -> None:
        names = ", ".join(username for username, *_rest in builder.DEMO_USERS)
        if users.created:
            self.stdout.write(
                _("Demo users %(created)s created with the password %(password)s.")
                % {"created": ", ".join(users.created), "password": password}
            )
        else:
            self.stdout.write(
                _("Demo users %(names)s already exist; their passwords are unchanged.")
                % {"names": names}
            )

    @staticmethod
    def _summary(seconds: float) -> str:
        jobs = ProviderJob.objects
        return _(
            "Demo data loaded in %(seconds).1f s: %(customers)d customers "
            "(%(companies)d companies, %(individuals)d individuals), %(documents)d documents, "
            "%(jobs)d provider jobs "
            "(%(failed)d failed or expired, %(active)d in progress), %(reports)d reports, "
            "%(officers)d officers, %(alerts)d manager alerts, %(ocr)d OCR results, "
            "%(corrections)d corrections, %(decisions)d decisions, %(audit)d audit events."
        ) % {
            "seconds": seconds,
            "customers": Customer.objects.count(),
            "companies": Customer.objects.filter(kind=Customer.Kind.COMPANY).count(),
            "individuals": Customer.objects.filter(kind=Customer.Kind.INDIVIDUAL).count(),
            "documents": Document.objects.count(),
            "jobs": jobs.count(),
            "failed": jobs.filter(status__in=ProviderJob.UNSUCCESSFUL_STATUSES).count(),
            "active": jobs.filter(status__in=ProviderJob.ACTIVE_STATUSES).count(),
            "reports": Report.objects.count(),
            "officers": Officer.objects.count(),
            "alerts": ManagerAlert.objects.count(),
            "ocr": OcrResult.objects.count(),
            "corrections": OcrCorrection.objects.count(),
            "decisions": Decision.objects.count(),
            "audit": AuditEvent.objects.count(),
        }

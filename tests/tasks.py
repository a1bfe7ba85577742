"""A tiny task used by tests/test_task_workers.py to prove that real workers run our tasks.

It follows the project's task shape: ids and strings in, re-fetch the row, write through a
service, so a worker that runs it leaves a row the test can find.
"""

from __future__ import annotations

from django.db import transaction
from django.tasks import task

from kyc import services
from kyc.models import Customer

PING_ACTION = "worker.ping"


@task
def record_worker_ping_task(customer_id: int, marker: str) -> str:
    customer = Customer.objects.get(pk=customer_id)
    with transaction.atomic():
        services.audit_record(
            actor=None,
            action=PING_ACTION,
            obj=customer,
            customer=customer,
            after={"marker": marker},
        )
    return marker

"""A tiny task used by tests/test_task_workers.py to prove that real workers run our tasks.

It follows the project's task shape: ids and strings in, re-fetch the row, write in a
transaction, so a worker that runs it leaves a row the test can find. The row is written
directly: its action is a test's, which audit_record (registered actions only) would refuse.
"""

from __future__ import annotations

from django.db import transaction
from django.tasks import task

from kyc.models import AuditEvent, Customer

PING_ACTION = "worker.ping"


@task
def record_worker_ping_task(customer_id: int, marker: str) -> str:
    customer = Customer.objects.get(pk=customer_id)
    with transaction.atomic():
        AuditEvent.objects.create(
            action=PING_ACTION,
            object_type="customer",
            object_id=str(customer.pk),
            customer=customer,
            after={"marker": marker},
        )
    return marker

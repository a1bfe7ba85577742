"""The audit trail's single writer."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from kyc import roles
from kyc.middleware import current_context
from kyc.models import AuditEvent, Customer


def audit_record(
    *,
    actor,
    action: str,
    obj: Model | type[Model],
    customer: Customer | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit row. Call it inside the transaction of the change it records.

    `obj` is the row changed, or its model class for one record of a change to many rows (a
    bulk purge): the object id is then left empty and `after` says which rows.

    `action` must be one of `AuditEvent.Action`: an unregistered one is a programming error,
    raised before anything is written, so the audit log's filter knows every action there is.
    """
    if action not in AuditEvent.Action.values:
        raise ValueError(f"Unknown audit action {action!r}: register it in AuditEvent.Action.")
    context = current_context()
    object_type = obj._meta.model_name
    assert object_type is not None  # set on every model class (Options.contribute_to_class)
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id="" if isinstance(obj, type) else str(obj.pk),
        customer=customer,
        before=before,
        after=after,
        ip_address=context.ip_address if context else None,
    )


def touch_customer(customer: Customer) -> None:
    Customer.objects.filter(pk=customer.pk).update(last_activity_at=timezone.now())


@transaction.atomic
def audit_export_record(*, actor, filters: dict[str, Any]) -> AuditEvent:
    """Record that `actor` exported the audit log with these filters: an export copies personal
    data out of the application, so it is itself audited (before the first row is sent)."""
    if not roles.can_review(actor):
        raise PermissionDenied(_("Only reviewers and administrators may export the audit log."))
    return audit_record(actor=actor, action="audit.export", obj=actor, after={"filters": filters})

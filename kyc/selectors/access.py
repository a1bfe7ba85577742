"""Object access: which customers (and so which documents, jobs, reports) a user may see.

Every read of customer data starts here, so a future per-team scope changes one module.
"""

from __future__ import annotations

from django.db.models import QuerySet

from kyc import roles
from kyc.models import Customer, Document


def customers_visible_to(user) -> QuerySet[Customer]:
    """Every role sees every live file today; erased files are gone; no role, nothing."""
    if not roles.can_work_cases(user):
        return Customer.objects.none()
    return Customer.objects.filter(erased_at__isnull=True)


def documents_visible_to(user) -> QuerySet[Document]:
    return Document.objects.filter(customer__in=customers_visible_to(user))

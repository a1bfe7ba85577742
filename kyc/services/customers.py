"""Customers and their analysis requests."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kyc.dates import EARLIEST_DATE

# The SIREN and SIRET validators live with the one normaliser of every lookup (kyc.services
# re-exports them).
from kyc.identifiers import normalise_digits, normalize_siren, normalize_siret
from kyc.models import AnalysisRequest, Customer
from kyc.services.audit import audit_record, touch_customer
from kyc.services.jobs import jobs_create_for_request

# ------------------------------------------------------------------------------------ customers


def _customer_snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "kind": customer.kind,
        "legal_name": customer.legal_name,
        "siren": customer.siren,
        "siret": customer.siret,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
        "nationality": customer.nationality,
        "status": customer.status,
        "assignee": customer.assignee_id,
    }


def customer_details_clean(
    *,
    kind: str,
    legal_name: str = "",
    siren: str = "",
    siret: str = "",
    first_name: str = "",
    last_name: str = "",
    birth_date: dt.date | None = None,
    nationality: str = "",
) -> dict[str, Any]:
    """A customer's identity fields normalised (SIREN and SIRET as ASCII digits, the other
    kind's fields blanked), or ValidationError by field.

    The one set of rules for a customer's identity: used when a file is created and when an
    administrator corrects one in the admin."""
    errors: dict[str, list[str]] = {}
    legal_name, first_name, last_name = legal_name.strip(), first_name.strip(), last_name.strip()
    nationality = unicodedata.normalize("NFKC", nationality).strip().upper()
    if kind == Customer.Kind.COMPANY:
        if not legal_name:
            errors.setdefault("legal_name", []).append(_("A company needs its legal name."))
        try:
            siren = normalize_siren(siren)
        except ValidationError as exc:
            errors.setdefault("siren", []).extend(exc.messages)
        else:
            if siret.strip():
                try:
                    siret = normalize_siret(siret, siren=siren)
                except ValidationError as exc:
                    errors.setdefault("siret", []).extend(exc.messages)
        first_name = last_name = nationality = ""
        birth_date = None
    elif kind == Customer.Kind.INDIVIDUAL:
        if not last_name:
            errors.setdefault("last_name", []).append(_("An individual needs a last name."))
        if birth_date is not None and birth_date >= timezone.localdate():
            errors.setdefault("birth_date", []).append(_("A birth date must be in the past."))
        elif birth_date is not None and birth_date < EARLIEST_DATE:
            errors.setdefault("birth_date", []).append(_("A birth date cannot be before 1900."))
        if nationality and not (
            len(nationality) == 3 and nationality.isascii() and nationality.isalpha()
        ):
            errors.setdefault("nationality", []).append(
                _("Nationality is a three-letter ISO 3166 code, such as FRA.")
            )
        legal_name = siren = siret = ""
    else:
        errors["kind"] = [_("Choose an individual or a company.")]
    if errors:
        raise ValidationError(errors)
    return {
        "legal_name": legal_name,
        "siren": siren,
        "siret": siret,
        "first_name": first_name,
        "last_name": last_name,
        "birth_date": birth_date,
        "nationality": nationality,
    }


@transaction.atomic
def customer_create(
    *,
    kind: str,
    actor,
    legal_name: str = "",
    siren: str = "",
    siret: str = "",
    first_name: str = "",
    last_name: str = "",
    birth_date: dt.date | None = None,
    nationality: str = "",
    assignee=None,
) -> Customer:
    """Register a customer and open its first analysis request."""
    details = customer_details_clean(
        kind=kind,
        legal_name=legal_name,
        siren=siren,
        siret=siret,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        nationality=nationality,
    )
    customer = Customer.objects.create(kind=kind, **details, assignee=assignee, created_by=actor)
    audit_record(
        actor=actor,
        action="customer.create",
        obj=customer,
        customer=customer,
        after=_customer_snapshot(customer),
    )
    analysis_request_open(customer=customer, actor=actor)
    return customer


def customers_with_siren(siren: str, *, exclude: Customer | None = None):
    """Existing files for the same SIREN, so the UI can warn and link them (the SIREN as typed:
    it is normalised here, as in every lookup)."""
    qs = Customer.objects.filter(siren=normalise_digits(siren), erased_at__isnull=True)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs


# ----------------------------------------------------------------------------- analysis requests


@transaction.atomic
def analysis_request_open(*, customer: Customer, actor) -> AnalysisRequest:
    """Open a KYC/KYB file for the customer, identified by SIREN for companies."""
    if customer.kind == Customer.Kind.COMPANY:
        code_type, code_id = AnalysisRequest.CodeType.SIREN, customer.siren
    else:
        code_type, code_id = AnalysisRequest.CodeType.INTERNAL, f"CUST-{customer.pk}"
    request = AnalysisRequest.objects.create(
        customer=customer, code_type=code_type, code_id=code_id, created_by=actor
    )
    audit_record(
        actor=actor,
        action="request.open",
        obj=request,
        customer=customer,
        after={"code": request.october_code},
    )
    touch_customer(customer)
    jobs_create_for_request(request=request, actor=actor)
    return request


# ----------------------------------------------------------------------------------- assignment

OPEN_STATUSES = (Customer.Status.NEW, Customer.Status.IN_REVIEW, Customer.Status.INFO_REQUESTED)


@transaction.atomic
def customer_assign(*, customer_id: int, assignee, actor) -> Customer:
    """Give a case to `assignee` (None: unassign). A no-op when nothing changes."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if customer.assignee_id == (assignee.pk if assignee else None):
        return customer
    before = {"assignee": customer.assignee_id}
    customer.assignee = assignee
    customer.save(update_fields=["assignee"])
    audit_record(
        actor=actor,
        action="customer.assign",
        obj=customer,
        customer=customer,
        before=before,
        after={"assignee": customer.assignee_id},
    )
    touch_customer(customer)
    return customer


@transaction.atomic
def customer_take_next(*, actor) -> Customer | None:
    """Assign the oldest unassigned open case to `actor`, or None when there is none.

    Two analysts pressing the button together get two different cases: the row is locked (and
    skipped by the other transaction on PostgreSQL; SQLite serialises writers anyway).
    """
    candidate = (
        Customer.objects.select_for_update(skip_locked=True)
        .filter(assignee__isnull=True, status__in=OPEN_STATUSES, erased_at__isnull=True)
        .order_by("last_activity_at", "id")
        .first()
    )
    if candidate is None:
        return None
    return customer_assign(customer_id=candidate.pk, assignee=actor, actor=actor)

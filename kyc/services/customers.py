"""Customers and their analysis requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from kyc.dates import EARLIEST_PLAUSIBLE_DATE
from kyc.models import AnalysisRequest, Customer
from kyc.services.audit import audit_record, touch_customer
from kyc.services.jobs import jobs_create_for_request

# ------------------------------------------------------------------------------------ customers


def normalize_siren(value: str) -> str:
    """A SIREN with its Luhn checksum verified, as nine digits; raises ValidationError."""
    try:
        return stdnum_siren.validate(value)
    except stdnum_exceptions.InvalidChecksum as exc:
        raise ValidationError(
            _("This SIREN's check digit is wrong: please check the number."), code="siren_checksum"
        ) from exc
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(_("A SIREN is exactly nine digits."), code="siren_format") from exc


def normalize_siret(value: str, *, siren: str) -> str:
    try:
        siret = stdnum_siret.validate(value)
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(_("This SIRET is not valid."), code="siret_invalid") from exc
    if not siret.startswith(siren):
        raise ValidationError(
            _("This SIRET does not belong to SIREN %(siren)s.") % {"siren": siren},
            code="siret_mismatch",
        )
    return siret


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
    errors: dict[str, list[str]] = {}
    legal_name, first_name, last_name = legal_name.strip(), first_name.strip(), last_name.strip()
    nationality = nationality.strip().upper()
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
        elif birth_date is not None and birth_date < EARLIEST_PLAUSIBLE_DATE:
            errors.setdefault("birth_date", []).append(_("A birth date cannot be before 1900."))
        if nationality and (len(nationality) != 3 or not nationality.isalpha()):
            errors.setdefault("nationality", []).append(
                _("Nationality is a three-letter ISO 3166 code, such as FRA.")
            )
        legal_name = siren = siret = ""
    else:
        errors["kind"] = [_("Choose an individual or a company.")]
    if errors:
        raise ValidationError(errors)

    customer = Customer.objects.create(
        kind=kind,
        legal_name=legal_name,
        siren=siren,
        siret=siret,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        nationality=nationality,
        assignee=assignee,
        created_by=actor,
    )
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
    """Existing files for the same SIREN, so the UI can warn and link them."""
    qs = Customer.objects.filter(siren=siren, erased_at__isnull=True)
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

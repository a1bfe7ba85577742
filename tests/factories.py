"""Test data builders: real rows through the real services, with overridable defaults."""

from __future__ import annotations

import datetime as dt
import io
import itertools

from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from kyc import services
from kyc.models import AnalysisRequest, Customer, Document

_seq = itertools.count(1)

# Valid SIRENs (Luhn checksum correct).
VALID_SIRENS = ["732829320", "552100554", "542051180", "404833048", "775672272", "356000000"]


def make_user(username: str | None = None, *, role: str | None = "analyst", **extra) -> User:
    username = username or f"user{next(_seq)}"
    user = User.objects.create_user(username=username, password="pw-for-tests-only", **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_customer(*, actor: User | None = None, **overrides) -> Customer:
    actor = actor or make_user()
    kind = overrides.pop("kind", Customer.Kind.INDIVIDUAL)
    if kind == Customer.Kind.COMPANY:
        defaults = {"legal_name": f"Société {next(_seq)} SAS", "siren": VALID_SIRENS[0]}
    else:
        defaults = {
            "first_name": "Marie",
            "last_name": f"Dupont{next(_seq)}",
            "birth_date": dt.date(1985, 4, 12),
            "nationality": "FRA",
        }
    defaults.update(overrides)
    return services.customer_create(kind=kind, actor=actor, **defaults)


def png_bytes(size: tuple[int, int] = (32, 32), color: str = "white") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 280), "white").save(buffer, "PDF")
    return buffer.getvalue()


def upload(content: bytes, name: str = "scan.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def make_document(
    *,
    customer: Customer | None = None,
    request: AnalysisRequest | None = None,
    content: bytes | None = None,
    name: str = "scan.png",
    kind: str = Document.Kind.PASSPORT,
    actor: User | None = None,
    **extra,
) -> Document:
    if request is None:
        customer = customer or make_customer()
        request = customer.requests.first()
    actor = actor or make_user()
    return services.document_add(
        request=request,
        uploaded_file=upload(content if content is not None else png_bytes(), name),
        kind=kind,
        actor=actor,
        **extra,
    )

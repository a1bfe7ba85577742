"""Company numbers (SIREN, SIRET) as people type them, and the one normaliser every lookup uses.

A SIREN typed in full-width digits (U+FF10..U+FF19, as East Asian input methods write them) or in
Arabic-Indic digits is the same number as "732829320". python-stdnum reads full-width digits,
but our own lookups compared the characters as typed, so the duplicate warning found no file and
a second file for the same company was created at once. Every lookup (the
creation form, the service, the live SIREN check, the queue search, the admin) goes through
normalise_digits() first.

Pure functions, no ORM.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

# What people put between digit groups. NFKC has already turned no-break and thin spaces into
# plain ones; dashes of every kind (Unicode category Pd) are dropped too.
_SEPARATORS = frozenset(" .\t")


def normalise_digits(value: str | None) -> str:
    """`value` in NFKC form, every decimal digit of any script as its ASCII digit, spaces, dots
    and dashes removed. Any other character is kept, so that a validator still refuses it."""
    kept = []
    for char in unicodedata.normalize("NFKC", value or ""):
        if char in _SEPARATORS or char.isspace() or unicodedata.category(char) == "Pd":
            continue
        digit = unicodedata.decimal(char, None)
        kept.append(str(digit) if digit is not None else char)
    return "".join(kept)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def company_number(value: str | None) -> tuple[Literal["siren", "siret"], str] | None:
    """("siren", nine digits) or ("siret", fourteen digits) when `value` is written like one,
    else None: for searches, which then look the number up instead of a name."""
    digits = normalise_digits(value)
    if _ascii_digits(digits) and len(digits) == 9:
        return "siren", digits
    if _ascii_digits(digits) and len(digits) == 14:
        return "siret", digits
    return None


def normalize_siren(value: str | None) -> str:
    """A SIREN as nine ASCII digits with its Luhn checksum verified; raises ValidationError."""
    digits = normalise_digits(value)
    if not _ascii_digits(digits):
        raise ValidationError(_("A SIREN is exactly nine digits."), code="siren_format")
    try:
        return stdnum_siren.validate(digits)
    except stdnum_exceptions.InvalidChecksum as exc:
        raise ValidationError(
            _("This SIREN's check digit is wrong: please check the number."), code="siren_checksum"
        ) from exc
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(_("A SIREN is exactly nine digits."), code="siren_format") from exc


def normalize_siret(value: str | None, *, siren: str) -> str:
    """A SIRET as fourteen ASCII digits, valid and belonging to `siren`; raises ValidationError."""
    digits = normalise_digits(value)
    try:
        if not _ascii_digits(digits):
            raise stdnum_exceptions.InvalidFormat()
        siret = stdnum_siret.validate(digits)
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(_("This SIRET is not valid."), code="siret_invalid") from exc
    if not siret.startswith(siren):
        raise ValidationError(
            _("This SIRET does not belong to SIREN %(siren)s.") % {"siren": siren},
            code="siret_mismatch",
        )
    return siret

"""The one normaliser of company numbers (kyc.identifiers)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from kyc.identifiers import company_number, normalise_digits, normalize_siren, normalize_siret

FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in "732829320")
ARABIC_INDIC = "".join(chr(0x0660 + int(d)) for d in "732829320")
DEVANAGARI = "".join(chr(0x0966 + int(d)) for d in "732829320")


@pytest.mark.parametrize(
    "typed",
    [
        "732829320",
        "732 829 320",
        "732.829.320",
        "732-829-320",
        "732\u00a0829\u202f320",  # no-break and narrow no-break spaces
        "732\u2013829\u2014320",  # en and em dashes
        " 732829320\t",
        FULL_WIDTH,
        ARABIC_INDIC,
        DEVANAGARI,
        "７３２ ８２９ ３２０",  # noqa: RUF001 - full-width digits, spaced
    ],
)
def test_every_way_of_typing_a_siren_normalises_to_the_same_nine_ascii_digits(typed):
    assert normalise_digits(typed) == "732829320"
    assert normalize_siren(typed) == "732829320"
    assert company_number(typed) == ("siren", "732829320")


def test_letters_and_other_characters_are_kept_so_that_validation_refuses_them():
    assert normalise_digits("73282932O") == "73282932O"
    assert normalise_digits("732829320²") == "7328293202"  # NFKC: superscript two is a 2
    assert company_number("7328293 2O") is None
    with pytest.raises(ValidationError, match="exactly nine digits"):
        normalize_siren("73282932O")


@pytest.mark.parametrize("typed", ["", None, "12345678", "1234567890"])
def test_a_value_that_is_not_nine_or_fourteen_digits_is_no_company_number(typed):
    assert company_number(typed) is None


def test_a_siret_in_full_width_digits_is_read_and_checked_against_its_siren():
    siret = "".join(chr(0xFF10 + int(d)) for d in "73282932000074")
    assert company_number(siret) == ("siret", "73282932000074")
    assert normalize_siret(siret, siren="732829320") == "73282932000074"
    with pytest.raises(ValidationError, match="does not belong"):
        normalize_siret(siret, siren="552100554")


def test_a_wrong_check_digit_is_refused_whatever_the_digits():
    with pytest.raises(ValidationError, match="check digit"):
        normalize_siren("".join(chr(0xFF10 + int(d)) for d in "732829321"))

"""MRZ check digits as the correction form recomputes them, against ICAO Doc 9303's published
specimens (part 4, Appendix B: TD3 passport; part 5, Appendix B: TD1 card): the built-in
engine's check-digit function, and what the analyst is shown and refused."""

from __future__ import annotations

import datetime as dt

import pytest

from kyc.analysis.mrz import check_digit
from kyc.services.ocr import mrz_errors, mrz_normalise
from kyc.views.ocr import mrz_report

TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
TODAY = dt.date(2025, 3, 3)


@pytest.mark.parametrize(
    ("data", "digit"),
    [
        ("L898902C3", "6"),  # TD3 document number
        ("740812", "2"),  # birth date
        ("120415", "9"),  # expiry date
        ("ZE184226B<<<<<", "1"),  # personal number
        ("L898902C36" + "7408122" + "1204159" + "ZE184226B<<<<<1", "0"),  # composite
        ("D23145890", "7"),  # TD1 document number
        ("D231458907<<<<<<<<<<<<<<<" + "7408122" + "1204159" + "<<<<<<<<<<<", "6"),
    ],
)
def test_check_digits_of_the_icao_specimens(data, digit):
    assert check_digit(data) == digit


@pytest.mark.parametrize("lines", [TD3, TD1], ids=["TD3", "TD1"])
def test_every_check_of_the_specimens_passes_and_only_utopia_is_called_out(lines):
    report = mrz_report("\n".join(lines))
    assert report.format == ("TD3" if lines is TD3 else "TD1")
    assert all(flag.ok is not False for flag in report.checks)
    assert report.specimen
    failing = {flag.label for flag in report.formats if flag.ok is False}
    assert failing == {"Issuing country code", "Nationality code"}  # UTO is no real country
    # A specimen is never accepted as a correction.
    assert any("specimen" in error for error in mrz_errors(list(lines), today=TODAY))


def test_a_wrong_digit_is_pinpointed_with_what_the_data_gives():
    line2 = TD3[1].replace("7408122", "7408127")  # a 2 read as 7
    report = mrz_report(f"{TD3[0]}\n{line2}")
    birth = next(flag for flag in report.checks if "birth date" in flag.label)
    composite = next(flag for flag in report.checks if "composite" in flag.label)
    assert (birth.ok, composite.ok) == (False, False)
    assert "read 7, computed 2" in birth.detail
    assert not report.valid
    errors = mrz_errors([TD3[0], line2], today=TODAY)
    assert "Check digit of the birth date is 7, but the data gives 2." in errors


def test_a_look_alike_misread_is_suggested():
    line2 = TD3[1].replace("L898902C3", "L8989O2C3")  # 0 read as O
    report = mrz_report(f"{TD3[0]}\n{line2}")
    number = next(flag for flag in report.checks if "document number" in flag.label)
    assert number.ok is False
    assert "possible misread: O→0" in number.detail


def test_pasted_lines_are_normalised_and_their_shape_is_checked():
    assert mrz_normalise(" p<uto eriksson \r\n\n l898 \n") == ["P<UTOERIKSSON", "L898"]
    assert mrz_report("   ") is None
    short = mrz_report("P<UTOERIKSSON\nL898")
    assert short.errors and "2 lines of 44" in short.errors[0]
    assert not short.valid
    assert mrz_errors(["P<UTO€"], today=TODAY) == [
        "The MRZ may only contain A-Z, 0-9 and <; found: €"
    ]

from __future__ import annotations

import datetime as dt
import random

import pytest

from kyc.analysis import identity
from kyc.analysis.mrz import check_digit, misreads_for, mrz_name, parse_mrz
from kyc.analysis.ocr import fit_length, fix_positions, normalise_text
from tests.analysis.specimens import Identity, compose, random_identity, tamper

# ICAO Doc 9303 part 4 (TD3) and part 5 (TD1) specimens.
ICAO_TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
ICAO_TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
WHEN = dt.date(2010, 1, 1)


@pytest.mark.parametrize(
    ("data", "digit"),
    [
        ("L898902C3", "6"),
        ("740812", "2"),
        ("120415", "9"),
        ("ZE184226B<<<<<", "1"),
        ("L898902C3674081221204159ZE184226B<<<<<1", "0"),
        ("D23145890", "7"),
        ("<<<<<<", "0"),
    ],
)
def test_check_digits_of_the_icao_specimens(data, digit):
    assert check_digit(data) == digit


def test_icao_td3_specimen_parses_with_every_check_valid():
    result = parse_mrz(ICAO_TD3, today=WHEN)
    assert result is not None
    assert result.format == "TD3"
    assert result.checks_valid
    assert [c.name for c in result.checks] == [
        "document_number",
        "birth_date",
        "expiry_date",
        "optional_data",
        "composite",
    ]
    assert (result.document_code, result.issuing_country, result.nationality) == ("P", "UTO", "UTO")
    assert (result.surname, result.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert result.document_number == "L898902C3"
    assert result.birth_date == dt.date(1974, 8, 12)
    assert result.expiry_date == dt.date(2012, 4, 15)
    assert result.sex == "F"
    assert result.optional_data == "ZE184226B"
    # Utopia is ICAO's specimen country: not a valid code, and called out as a specimen.
    assert result.specimen
    assert set(result.problems) == {"invalid_country_code", "invalid_nationality_code"}


def test_icao_td1_specimen_parses_with_every_check_valid():
    result = parse_mrz(ICAO_TD1, today=WHEN)
    assert result is not None
    assert result.format == "TD1"
    assert result.checks_valid
    assert result.document_number == "D23145890"
    assert result.birth_date == dt.date(1974, 8, 12)
    assert result.expiry_date == dt.date(2012, 4, 15)
    assert (result.surname, result.given_names) == ("ERIKSSON", "ANNA MARIA")


def test_specimen_document_is_reported_as_fraudulent():
    result = parse_mrz(ICAO_TD3, today=WHEN)
    findings = identity.format_findings(result)
    assert [(f.code, f.level) for f in findings] == [("mrz_specimen", "fraudulent")]


def test_a_changed_birth_date_fails_its_check_and_is_not_repaired():
    line2 = ICAO_TD3[1][:13] + "7408132" + ICAO_TD3[1][20:]  # 12 -> 13 August
    result = parse_mrz((ICAO_TD3[0], line2), today=WHEN)
    assert result.birth_date == dt.date(1974, 8, 13)  # what the zone says, not a guess
    failing = {c.name for c in result.checks if not c.valid}
    assert failing == {"birth_date", "composite"}
    birth = result.check("birth_date")
    # Only digits are allowed in a date: no look-alike explains a digit changed to a digit.
    assert birth.misreads == ()
    findings = identity.check_findings(result, (0.99, 0.99))
    assert [(f.code, f.level) for f in findings] == [("mrz_check_digit", "fraudulent")]


def test_a_likely_misread_is_listed_separately_and_only_suspicious():
    # The document number read with "S" where the real document has "5".
    lines = compose(
        Identity(
            fmt="TD3",
            document_code="P<",
            issuing_country="FRA",
            surname="MARTIN",
            given_names="ZOE",
            document_number="12AB5C678",
            nationality="FRA",
            birth_date=dt.date(1990, 1, 2),
            sex="F",
            expiry_date=dt.date(2030, 5, 6),
        )
    )
    misread = (lines[0], lines[1].replace("12AB5C678", "12ABSC678"))
    result = parse_mrz(misread, today=WHEN)
    check = result.check("document_number")
    assert not check.valid
    assert any(m.read == "S" and m.alternative == "5" for m in check.misreads)
    assert result.document_number == "12ABSC678"
    findings = identity.check_findings(result, (0.99, 0.99))
    assert [(f.code, f.level) for f in findings] == [("mrz_check_digit", "suspicious")]
    assert "possible misread" in findings[0].detail


def test_misreads_respect_the_field_format():
    # In a date, "S" for "5" is not an explanation: dates are digits only.
    assert all(m.alternative.isdigit() for m in misreads_for("74O812" + "2", "n" * 6))


def test_td2_and_its_composite_check():
    lines = compose(
        Identity(
            fmt="TD2",
            document_code="I<",
            issuing_country="D",
            surname="MULLER",
            given_names="ANNA",
            document_number="T22000129",
            nationality="D",
            birth_date=dt.date(1964, 8, 12),
            sex="F",
            expiry_date=dt.date(2030, 10, 31),
        )
    )
    assert lines[0].startswith("I<D<<MULLER<<ANNA")
    result = parse_mrz(lines, today=WHEN)
    assert result.format == "TD2"
    assert result.valid, (result.problems, [c.as_dict() for c in result.checks])
    assert result.issuing_country == "D"


def test_td1_long_document_number_continues_in_the_optional_data():
    number = "D23145890123"  # 12 characters: 9 in place, 3 + check digit in optional data
    line1 = "I<UTO" + number[:9] + "<" + number[9:] + check_digit(number)
    line1 = line1.ljust(30, "<")
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    result = parse_mrz((line1, line2, ICAO_TD1[2]), today=WHEN)
    assert result.document_number == number
    assert result.check("document_number").valid
    assert result.check("composite").valid


def test_old_french_identity_card_layout():
    line1 = "IDFRA" + "BERTHIER<<<<<<<<<<<<<<<<<" + "750123"
    body = "880692310285" + check_digit("880692310285") + "CORINNE<<<<<<<" + "650309"
    body += check_digit("650309") + "F"
    line2 = body + check_digit(line1 + body)
    result = parse_mrz((line1, line2), today=WHEN)
    assert result.format == "FR_CNI"
    assert result.valid, (result.problems, [c.as_dict() for c in result.checks])
    assert (result.surname, result.given_names) == ("BERTHIER", "CORINNE")
    assert result.birth_date == dt.date(1965, 3, 9)
    assert result.expiry_date is None


def test_unknown_codes_bad_dates_and_sex_are_format_problems():
    lines = compose(random_identity(random.Random(1), "TD3"))
    line2 = lines[1][:10] + "ZZZ" + "741399" + lines[1][19] + "Q" + lines[1][21:]
    result = parse_mrz((lines[0], line2), today=WHEN)
    assert {"invalid_nationality_code", "invalid_birth_date", "invalid_sex"} <= set(result.problems)


@pytest.mark.parametrize("code", ["D<<", "GBD", "UNO", "XXA", "XXB", "XXC", "XXX", "EUE", "RKS"])
def test_icao_extra_codes_are_valid(code):
    from kyc.analysis.countries import is_valid_code

    assert is_valid_code(code)


def test_expired_document_and_under_18_are_reported():
    person = random_identity(random.Random(2), "TD3")
    young = Identity(
        **{
            **person.__dict__,
            "birth_date": dt.date(2012, 5, 5),
            "expiry_date": dt.date(2025, 1, 1),
        }
    )
    result = parse_mrz(compose(young), today=dt.date(2026, 6, 1))
    codes = {(f.code, f.level) for f in identity.date_findings(result, dt.date(2026, 6, 1))}
    assert ("document_expired", "suspicious") in codes
    assert ("under_18", "suspicious") in codes


def test_every_tampered_zone_fails_a_check():
    rng = random.Random(42)
    for index in range(60):
        person = random_identity(rng, ("TD3", "TD1", "TD2")[index % 3])
        lines, _field = tamper(person.lines, rng)
        result = parse_mrz(lines, today=WHEN)
        assert not result.checks_valid, lines


def test_genuine_zones_pass_every_check():
    rng = random.Random(7)
    for index in range(60):
        person = random_identity(rng, ("TD3", "TD1", "TD2")[index % 3])
        result = parse_mrz(person.lines, today=dt.date(2026, 6, 1))
        assert result.valid, (person.lines, result.problems)


def test_look_alike_characters_are_folded_into_the_mrz_alphabet():
    # Greek capital Rho, fullwidth Latin letters, a guillemet for two fillers, hiragana ku.
    text = "\u03a1<\uff26\uff32\uff21MARTIN\u00abZOE\u304f"
    assert normalise_text(text) == "P<FRAMARTIN<<ZOE<"


def test_letters_and_digits_are_fixed_by_position_only():
    lines = (
        "P<FRAMART1N<<ZOE<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
        "12AB5C6780FRA9OO1O2OF3OO5O6S<<<<<<<<<<<<<<<6",
    )
    fixed, subs = fix_positions(lines, "TD3")
    assert fixed[0].startswith("P<FRAMARTIN<<ZOE")
    # Dates and check digits become digits; the document number is left as read.
    assert fixed[1][:9] == "12AB5C678"
    assert fixed[1][13:20] == "9001020"
    assert fixed[1][21:28] == "3005065"
    assert all(s.read in "1OS" for s in subs)


def test_miscounted_fillers_are_fitted_without_touching_data():
    assert fit_length("P<FRAMARTIN<<ZOE<<<<", 44, 5, 0) == "P<FRAMARTIN<<ZOE".ljust(44, "<")
    long_line = "12AB5C6780FRA9001020F3005065" + "<" * 16 + "06"
    assert fit_length(long_line, 44, 28, 2) == "12AB5C6780FRA9001020F3005065" + "<" * 14 + "06"


def test_mrz_names_drop_accents_and_spell_out_umlauts():
    assert mrz_name("Lefèvre-Müller") == "LEFEVRE<MUELLER"
    assert mrz_name("Zoé  Anne") == "ZOE<ANNE"


def test_artemis_keys_and_string_booleans():
    result = parse_mrz(ICAO_TD3, today=WHEN)
    fields = identity.artemis_fields(result, None)
    for key in (
        "first_name",
        "last_name",
        "full_name",
        "gender",
        "date_of_birth",
        "birth date",
        "nationality",
        "issuing_country",
        "document_type",
        "document_number",
        "passport_number",
        "personal_id_number",
        "expiry_date",
        "expiry date",
        "optional_data",
        "mrz_raw_string",
        "status",
        "missing_fields",
        "ignored_fields",
    ):
        assert key in fields
    for key in identity.ARTEMIS_FLAGS:
        assert fields[key] in ("true", "false")
    assert fields["birth date"] == fields["date_of_birth"] == "1974-08-12"
    assert fields["passport_number"] == "L898902C3"
    assert fields["final hash"] == "true"
    assert fields["valid country code"] == "false"  # UTO
    assert fields["mrz_raw_string"] == "\n".join(ICAO_TD3)


def test_visa_has_no_composite_check():
    # ICAO 9303-7 MRV-A specimen layout: optional data runs to the end of line 2.
    line1 = "V<UTOERIKSSON<<ANNA<MARIA".ljust(44, "<")
    line2 = "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"
    result = parse_mrz((line1, line2), today=WHEN)
    assert result.document_code == "V"
    assert [c.name for c in result.checks] == ["document_number", "birth_date", "expiry_date"]
    assert result.checks_valid

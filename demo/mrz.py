"""ICAO 9303 machine-readable zones (TD1 identity cards, TD3 passports) for the demo documents.

Only what the demo needs: build correct zones and re-check them. The built-in engine's own MRZ
parser lives in `kyc.analysis`; this module does not depend on it so the demo data stays
independent of the code it is meant to exercise.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

WEIGHTS = (7, 3, 1)
FILLER = "<"
# Letters that Unicode decomposition leaves alone (ICAO 9303 part 3, transliteration table).
_TRANSLITERATIONS = {"Æ": "AE", "Œ": "OE", "Ø": "OE", "ß": "SS", "Ł": "L", "Đ": "D", "Þ": "TH"}


def char_value(char: str) -> int:
    """Value of one MRZ character: digits as themselves, A=10 … Z=35, '<' = 0."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise ValueError(f"{char!r} cannot appear in an MRZ")


def check_digit(field: str) -> str:
    """ICAO 9303 check digit: weights 7, 3, 1 repeated, sum modulo 10."""
    total = sum(char_value(char) * WEIGHTS[index % 3] for index, char in enumerate(field))
    return str(total % 10)


def transliterate(value: str) -> str:
    """Upper-case A-Z/0-9 text with accents removed, apostrophes dropped, separators as '<'."""
    value = "".join(_TRANSLITERATIONS.get(char, char) for char in value.upper())
    value = unicodedata.normalize("NFKD", value)
    value = "".join(char for char in value if not unicodedata.combining(char))
    value = value.replace("'", "").replace("\N{RIGHT SINGLE QUOTATION MARK}", "")
    return "".join(char if char.isascii() and char.isalnum() else FILLER for char in value.upper())


def pad(value: str, width: int) -> str:
    return (value + FILLER * width)[:width]


def name_field(surname: str, given_names: str, width: int) -> str:
    return pad(f"{transliterate(surname)}{FILLER * 2}{transliterate(given_names)}", width)


def yymmdd(value: dt.date) -> str:
    return value.strftime("%y%m%d")


def td3(
    *,
    issuing_country: str,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: dt.date,
    sex: str,
    expiry_date: dt.date,
    personal_number: str = "",
    document_code: str = "P",
) -> tuple[str, str]:
    """The two 44-character lines of a passport data page."""
    line1 = pad(document_code, 2) + issuing_country + name_field(surname, given_names, 39)
    number = pad(transliterate(document_number), 9)
    birth, expiry = yymmdd(birth_date), yymmdd(expiry_date)
    personal = pad(transliterate(personal_number), 14)
    line2 = (
        number
        + check_digit(number)
        + nationality
        + birth
        + check_digit(birth)
        + (sex or FILLER)
        + expiry
        + check_digit(expiry)
        + personal
        + check_digit(personal)
    )
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    return line1, line2 + check_digit(composite)


def td1(
    *,
    issuing_country: str,
    document_number: str,
    birth_date: dt.date,
    sex: str,
    expiry_date: dt.date,
    nationality: str,
    surname: str,
    given_names: str,
    optional1: str = "",
    optional2: str = "",
    document_code: str = "ID",
) -> tuple[str, str, str]:
    """The three 30-character lines of an identity card."""
    number = pad(transliterate(document_number), 9)
    line1 = pad(document_code, 2) + issuing_country + number + check_digit(number)
    line1 += pad(transliterate(optional1), 15)
    birth, expiry = yymmdd(birth_date), yymmdd(expiry_date)
    line2 = (
        birth
        + check_digit(birth)
        + (sex or FILLER)
        + expiry
        + check_digit(expiry)
        + nationality
        + pad(transliterate(optional2), 11)
    )
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += check_digit(composite)
    return line1, line2, name_field(surname, given_names, 30)


def for_document(
    *,
    passport: bool,
    country: str,
    document_number: str,
    surname: str,
    given_names: str,
    birth_date: dt.date,
    sex: str,
    expiry_date: dt.date,
) -> tuple[str, ...]:
    """A national passport (TD3) or identity card (TD1) of `country`, issued to one of its
    nationals: the machine-readable zone the demo and benchmark data sets print."""
    common = {
        "issuing_country": country,
        "nationality": country,
        "document_number": document_number,
        "surname": surname,
        "given_names": given_names,
        "birth_date": birth_date,
        "sex": sex,
        "expiry_date": expiry_date,
    }
    return td3(**common) if passport else td1(**common)


def verify(lines: list[str] | tuple[str, ...]) -> dict[str, bool]:
    """Which check digits of a TD1 or TD3 zone hold, keyed like the Artemis MRZ flags."""
    if len(lines) == 2 and all(len(line) == 44 for line in lines):
        line1, line2 = lines
        number, birth, expiry, optional = line2[0:9], line2[13:19], line2[21:27], line2[28:42]
        digits = {
            "document number hash": (number, line2[9]),
            "birth date hash": (birth, line2[19]),
            "expiry date hash": (expiry, line2[27]),
            "optional data hash": (optional, line2[42]),
            "final hash": (line2[0:10] + line2[13:20] + line2[21:43], line2[43]),
        }
        document_code, country, nationality, sex = line1[0:2], line1[2:5], line2[10:13], line2[20]
    elif len(lines) == 3 and all(len(line) == 30 for line in lines):
        line1, line2, _line3 = lines
        number, optional = line1[5:14], line1[15:30]
        birth, expiry = line2[0:6], line2[8:14]
        digits = {
            "document number hash": (number, line1[14]),
            "birth date hash": (birth, line2[6]),
            "expiry date hash": (expiry, line2[14]),
            "optional data hash": (optional, "<"),
            "final hash": (line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29], line2[29]),
        }
        document_code, country, nationality, sex = line1[0:2], line1[2:5], line2[15:18], line2[7]
    else:
        raise ValueError("not a TD1 or TD3 machine-readable zone")
    # TD1 has no check digit over its optional field: report it as holding.
    results = {
        key: (key == "optional data hash" and len(lines) == 3) or check_digit(field) == digit
        for key, (field, digit) in digits.items()
    }
    results["valid country code"] = country.replace(FILLER, "").isalpha()
    results["valid nationality code"] = nationality.replace(FILLER, "").isalpha()
    results["valid genre format"] = sex in ("M", "F", FILLER, "X")
    results["document type format"] = document_code[0] in ("P", "I", "A", "C")
    results["document number format"] = number.replace(FILLER, "").isalnum()
    results["optional data format"] = all(char.isalnum() or char == FILLER for char in optional)
    return results

"""Our own ICAO 9303 machine readable zone parser: TD1 (ID cards, 3 x 30), TD2 (2 x 36), TD3
(passports, 2 x 44), plus the French national ID card issued until 2021 (2 x 36, its own layout).

Pure functions on strings. A failing check digit is reported, never "repaired": trying look-alike
characters until a check passes would hide exactly the alteration we are looking for. Likely OCR
misreads (S/5, Z/2, O/0, B/8, I/1) are listed separately so an analyst can tell "possible misread"
from "altered".

Reference: ICAO Doc 9303, 8th edition, parts 3 (common specifications, check digits, codes),
4 (TD3), 5 (TD1) and 6 (TD2). https://www.icao.int/publications/pages/publication.aspx?docnum=9303
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from kyc.analysis.countries import is_specimen_code, is_valid_code, normalise_code
from kyc.dates import add_years

FILLER = "<"
MRZ_CHARSET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
_WEIGHTS = (7, 3, 1)

# Characters an OCR engine confuses on OCR-B, both ways. Only ever used to *describe* a failing
# check, never to change what was read.
LOOKALIKES: dict[str, tuple[str, ...]] = {
    "S": ("5",),
    "5": ("S",),
    "Z": ("2",),
    "2": ("Z",),
    "O": ("0",),
    "0": ("O", "D"),
    "D": ("0",),
    "B": ("8",),
    "8": ("B",),
    "I": ("1",),
    "1": ("I",),
    "G": ("6",),
    "6": ("G",),
}

FORMATS = {"TD1": (3, 30), "TD2": (2, 36), "TD3": (2, 44), "FR_CNI": (2, 36)}


def char_value(char: str) -> int:
    """ICAO 9303-3 4.9: digits are themselves, A..Z are 10..35, the filler is 0."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise ValueError(f"not an MRZ character: {char!r}")


def check_digit(data: str) -> str:
    """The 7-3-1 check digit of `data`, as a character."""
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(data)) % 10)


def _safe_check_digit(data: str) -> str | None:
    try:
        return check_digit(data)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Misread:
    """One look-alike substitution that would make a failing check pass."""

    position: int  # 0-based index in the checked data (the check digit itself is the last one)
    read: str
    alternative: str

    def as_dict(self) -> dict[str, object]:
        return {"position": self.position, "read": self.read, "alternative": self.alternative}


@dataclass(frozen=True)
class Check:
    """One check digit: what the MRZ says, what the data gives, and likely misreads if failing."""

    name: str  # document_number | birth_date | expiry_date | optional_data | composite
    data: str
    read: str
    computed: str | None
    # False for an optional-data check on an empty field, which ICAO lets be "<".
    applicable: bool = True
    misreads: tuple[Misread, ...] = ()

    @property
    def valid(self) -> bool:
        if not self.applicable:
            return True
        return self.computed is not None and self.read == self.computed

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "data": self.data,
            "read": self.read,
            "computed": self.computed,
            "applicable": self.applicable,
            "valid": self.valid,
            "misreads": [m.as_dict() for m in self.misreads],
        }


@dataclass(frozen=True)
class MrzResult:
    format: str
    lines: tuple[str, ...]
    document_code: str
    issuing_country: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date_raw: str
    birth_date: dt.date | None
    sex: str
    expiry_date_raw: str
    expiry_date: dt.date | None
    optional_data: str
    optional_data_2: str = ""
    checks: tuple[Check, ...] = ()
    # Format problems as stable codes (see PROBLEM_TEXT), e.g. "invalid_country_code".
    problems: tuple[str, ...] = ()
    specimen: bool = False
    formats: dict[str, bool] = field(default_factory=dict)

    @property
    def checks_valid(self) -> bool:
        return all(check.valid for check in self.checks)

    @property
    def valid(self) -> bool:
        return self.checks_valid and not self.problems

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def as_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "lines": list(self.lines),
            "document_code": self.document_code,
            "issuing_country": self.issuing_country,
            "surname": self.surname,
            "given_names": self.given_names,
            "document_number": self.document_number,
            "nationality": self.nationality,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "birth_date_raw": self.birth_date_raw,
            "sex": self.sex,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "expiry_date_raw": self.expiry_date_raw,
            "optional_data": self.optional_data,
            "optional_data_2": self.optional_data_2,
            "checks": {c.name: c.as_dict() for c in self.checks},
            "problems": list(self.problems),
            "formats": dict(self.formats),
            "specimen": self.specimen,
            "valid": self.valid,
        }


PROBLEM_TEXT = {
    "invalid_characters": "characters outside the MRZ alphabet",
    "invalid_document_type": "document type code is not P, I, A, C or V",
    "invalid_country_code": "issuing state is not an ISO 3166 or ICAO code",
    "invalid_nationality_code": "nationality is not an ISO 3166 or ICAO code",
    "invalid_birth_date": "birth date is not a valid YYMMDD date",
    "invalid_expiry_date": "expiry date is not a valid YYMMDD date",
    "invalid_sex": "sex is not M, F, X or <",
    "invalid_document_number": "document number is empty or malformed",
    "invalid_optional_data": "optional data has a misplaced filler or invalid characters",
    "invalid_name": "name field has no surname or contains digits",
}


# ------------------------------------------------------------------------------------- helpers


def misreads_for(data_with_check: str, kinds: str = "") -> tuple[Misread, ...]:
    """Single look-alike substitutions (in the data or in the check digit) that make it pass.

    `data_with_check` is the checked data followed by its check digit. `kinds` says, per
    character of the data, "n" where only a digit is allowed (dates, check digits) and "a" where
    letters are allowed too; an alternative that breaks the field's format is no explanation.
    The check digit itself is always numeric.
    """
    kinds = (kinds or "a" * (len(data_with_check) - 1)) + "n"
    found: list[Misread] = []
    for position, char in enumerate(data_with_check):
        for alternative in LOOKALIKES.get(char, ()):
            if kinds[position] == "n" and not alternative.isdigit():
                continue
            candidate = data_with_check[:position] + alternative + data_with_check[position + 1 :]
            computed = _safe_check_digit(candidate[:-1])
            if computed is not None and computed == candidate[-1]:
                found.append(Misread(position, char, alternative))
    return tuple(found)


def _check(name: str, data: str, read: str, *, kinds: str = "", optional: bool = False) -> Check:
    computed = _safe_check_digit(data)
    # ICAO 9303-4 4.2.2: an empty personal number may carry "<" (or 0) as its check digit.
    applicable = not (optional and set(data) <= {FILLER} and read in (FILLER, "0"))
    check = Check(name=name, data=data, read=read, computed=computed, applicable=applicable)
    if not check.valid:
        check = Check(
            name=name,
            data=data,
            read=read,
            computed=computed,
            applicable=applicable,
            misreads=misreads_for(data + read, kinds),
        )
    return check


def parse_date(raw: str, *, kind: str, today: dt.date) -> dt.date | None:
    """A YYMMDD date. The century is chosen the way inspection systems do: a birth date is never
    in the future; an expiry date is at most 50 years ahead (documents last ten years at most,
    but old expired documents are presented too)."""
    if not re.fullmatch(r"\d{6}", raw):
        return None
    yy, mm, dd = int(raw[:2]), int(raw[2:4]), int(raw[4:6])
    if kind == "birth":
        year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    else:
        year = 2000 + yy if 2000 + yy <= today.year + 50 else 1900 + yy
    try:
        value = dt.date(year, mm, dd)
    except ValueError:
        return None
    if kind == "birth" and value > today:
        value = add_years(value, -100)
    return value


def split_name(raw: str) -> tuple[str, str]:
    """ "ERIKSSON<<ANNA<MARIA<<<" -> ("ERIKSSON", "ANNA MARIA")."""
    raw = raw.rstrip(FILLER)
    surname, _, given = raw.partition("<<")
    return surname.replace(FILLER, " ").strip(), given.replace(FILLER, " ").strip()


def _clean(value: str) -> str:
    return value.replace(FILLER, " ").strip()


def _valid_doc_code(code: str) -> bool:
    # ICAO 9303-3 4.2.2.1: first letter P, I, A, C or V; second a letter or the filler.
    return len(code) == 2 and code[0] in "PIACV" and (code[1] == FILLER or code[1].isalpha())


def _valid_free_field(value: str) -> bool:
    # Some states put fillers inside their optional data (as separators): only the alphabet counts.
    return bool(re.fullmatch(r"[A-Z0-9<]*", value))


# ------------------------------------------------------------------------------------- parsing


def detect_format(lines: Sequence[str]) -> str | None:
    shape = (len(lines), len(lines[0]) if lines else 0)
    if any(len(line) != shape[1] for line in lines):
        return None
    if shape == (2, 36) and lines[0].startswith("IDFRA") and _looks_like_fr_cni(lines):
        return "FR_CNI"
    for name, expected in FORMATS.items():
        if name != "FR_CNI" and expected == shape:
            return name
    return None


def _looks_like_fr_cni(lines: Sequence[str]) -> bool:
    # The old French card has a 12-character all-digit card number where TD2 has a 9-character
    # document number followed by a check digit and a nationality (letters).
    return bool(re.fullmatch(r"[0-9A-Z]{12}\d", lines[1][:13])) and not lines[1][10:13].isalpha()


def parse_mrz(lines: Sequence[str], *, today: dt.date | None = None) -> MrzResult | None:
    """Parse MRZ lines (already normalised to the MRZ alphabet), or None if their shape is not
    one we know."""
    today = today or dt.date.today()
    lines = tuple(line.strip().upper() for line in lines)
    fmt = detect_format(lines)
    if fmt is None:
        return None
    parser = {"TD1": _parse_td1, "TD2": _parse_td2, "TD3": _parse_td3, "FR_CNI": _parse_fr_cni}
    return parser[fmt](lines, today)


def _common_problems(
    *,
    lines: tuple[str, ...],
    code: str,
    issuing: str,
    nationality: str,
    birth: dt.date | None,
    expiry: dt.date | None,
    expiry_required: bool,
    sex: str,
    number: str,
    optional_ok: bool,
    surname: str,
) -> tuple[tuple[str, ...], dict[str, bool]]:
    formats = {
        "characters": all(set(line) <= MRZ_CHARSET for line in lines),
        "document_type": _valid_doc_code(code),
        "country_code": is_valid_code(issuing),
        "nationality_code": is_valid_code(nationality),
        "birth_date": birth is not None,
        "expiry_date": expiry is not None or not expiry_required,
        "sex": sex in ("M", "F", "X", FILLER),
        "document_number": bool(number) and bool(re.fullmatch(r"[A-Z0-9]+", number)),
        "optional_data": optional_ok,
        "name": bool(surname) and not any(ch.isdigit() for ch in surname),
    }
    codes = {
        "characters": "invalid_characters",
        "document_type": "invalid_document_type",
        "country_code": "invalid_country_code",
        "nationality_code": "invalid_nationality_code",
        "birth_date": "invalid_birth_date",
        "expiry_date": "invalid_expiry_date",
        "sex": "invalid_sex",
        "document_number": "invalid_document_number",
        "optional_data": "invalid_optional_data",
        "name": "invalid_name",
    }
    problems = tuple(codes[name] for name, ok in formats.items() if not ok)
    return problems, formats


def _icao_result(
    format_name: str,
    lines: tuple[str, ...],
    today: dt.date,
    *,
    code: str,
    issuing: str,
    nationality: str,
    surname: str,
    given: str,
    number_raw: str,
    birth_raw: str,
    sex: str,
    expiry_raw: str,
    optional_data: str,
    optional_data_2: str = "",
    optional_ok: bool,
    checks: tuple[Check, ...],
) -> MrzResult:
    """What the TD1, TD2 and TD3 layouts share once their fields are cut out of the lines:
    dates read, formats checked, the result assembled."""
    birth = parse_date(birth_raw, kind="birth", today=today)
    expiry = parse_date(expiry_raw, kind="expiry", today=today)
    number = _clean(number_raw)
    problems, formats = _common_problems(
        lines=lines,
        code=code,
        issuing=issuing,
        nationality=nationality,
        birth=birth,
        expiry=expiry,
        expiry_required=True,
        sex=sex,
        number=number,
        optional_ok=optional_ok,
        surname=surname,
    )
    return MrzResult(
        format=format_name,
        lines=lines,
        document_code=code.replace(FILLER, ""),
        issuing_country=normalise_code(issuing),
        surname=surname,
        given_names=given,
        document_number=number,
        nationality=normalise_code(nationality),
        birth_date_raw=birth_raw,
        birth_date=birth,
        sex=sex,
        expiry_date_raw=expiry_raw,
        expiry_date=expiry,
        optional_data=_clean(optional_data),
        optional_data_2=_clean(optional_data_2),
        checks=checks,
        problems=problems,
        specimen=is_specimen_code(issuing) or is_specimen_code(nationality),
        formats=formats,
    )


def _parse_td3(lines: tuple[str, ...], today: dt.date) -> MrzResult:
    l1, l2 = lines
    code, issuing = l1[0:2], l1[2:5]
    surname, given = split_name(l1[5:44])
    number_raw, nationality = l2[0:9], l2[10:13]
    birth_raw, sex, expiry_raw, personal = l2[13:19], l2[20], l2[21:27], l2[28:42]
    checks: tuple[Check, ...] = (
        _check("document_number", number_raw, l2[9]),
        _check("birth_date", birth_raw, l2[19], kinds="n" * 6),
        _check("expiry_date", expiry_raw, l2[27], kinds="n" * 6),
        _check("optional_data", personal, l2[42], optional=True),
        _check(
            "composite",
            l2[0:10] + l2[13:20] + l2[21:43],
            l2[43],
            kinds="a" * 9 + "n" * 15 + "a" * 14 + "n",
        ),
    )
    if code.startswith("V"):
        # A visa (ICAO 9303-7 MRV-A): optional data runs to the end, no composite check.
        personal = l2[28:44]
        checks = checks[:3]
    return _icao_result(
        "TD3",
        lines,
        today,
        code=code,
        issuing=issuing,
        nationality=nationality,
        surname=surname,
        given=given,
        number_raw=number_raw,
        birth_raw=birth_raw,
        sex=sex,
        expiry_raw=expiry_raw,
        optional_data=personal,
        optional_ok=_valid_free_field(personal),
        checks=checks,
    )


def _long_document_number(number9: str, optional: str) -> tuple[str, str, str] | None:
    """ICAO 9303-5 4.2.4 note j: a document number longer than 9 characters continues at the
    start of the optional data, followed by its check digit and a filler. Returns (number,
    check digit, remaining optional data)."""
    head = optional.split(FILLER, 1)[0]
    if len(head) < 2:
        return None
    return number9 + head[:-1], head[-1], optional[len(head) :]


def _parse_td1(lines: tuple[str, ...], today: dt.date) -> MrzResult:
    l1, l2, l3 = lines
    code, issuing = l1[0:2], l1[2:5]
    number_raw, number_check, optional1 = l1[5:14], l1[14], l1[15:30]
    if number_check == FILLER and (long := _long_document_number(number_raw, optional1)):
        number_raw, number_check, optional1 = long
    birth_raw, sex, expiry_raw, nationality = l2[0:6], l2[7], l2[8:14], l2[15:18]
    optional2 = l2[18:29]
    checks = (
        _check("document_number", number_raw, number_check),
        _check("birth_date", birth_raw, l2[6], kinds="n" * 6),
        _check("expiry_date", expiry_raw, l2[14], kinds="n" * 6),
        _check(
            "composite",
            l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29],
            l2[29],
            kinds="a" * 25 + "n" * 14 + "a" * 11,
        ),
    )
    surname, given = split_name(l3)
    return _icao_result(
        "TD1",
        lines,
        today,
        code=code,
        issuing=issuing,
        nationality=nationality,
        surname=surname,
        given=given,
        number_raw=number_raw,
        birth_raw=birth_raw,
        sex=sex,
        expiry_raw=expiry_raw,
        optional_data=optional1,
        optional_data_2=optional2,
        optional_ok=_valid_free_field(optional1) and _valid_free_field(optional2),
        checks=checks,
    )


def _parse_td2(lines: tuple[str, ...], today: dt.date) -> MrzResult:
    l1, l2 = lines
    code, issuing = l1[0:2], l1[2:5]
    surname, given = split_name(l1[5:36])
    number_raw, number_check, optional = l2[0:9], l2[9], l2[28:35]
    if number_check == FILLER and (long := _long_document_number(number_raw, optional)):
        number_raw, number_check, optional = long
    nationality, birth_raw, sex, expiry_raw = l2[10:13], l2[13:19], l2[20], l2[21:27]
    checks: tuple[Check, ...] = (
        _check("document_number", number_raw, number_check),
        _check("birth_date", birth_raw, l2[19], kinds="n" * 6),
        _check("expiry_date", expiry_raw, l2[27], kinds="n" * 6),
        _check(
            "composite",
            l2[0:10] + l2[13:20] + l2[21:35],
            l2[35],
            kinds="a" * 9 + "n" * 15 + "a" * 7,
        ),
    )
    if code.startswith("V"):
        # A visa (ICAO 9303-7 MRV-B): optional data runs to the end, no composite check.
        optional = l2[28:36]
        checks = checks[:3]
    return _icao_result(
        "TD2",
        lines,
        today,
        code=code,
        issuing=issuing,
        nationality=nationality,
        surname=surname,
        given=given,
        number_raw=number_raw,
        birth_raw=birth_raw,
        sex=sex,
        expiry_raw=expiry_raw,
        optional_data=optional,
        optional_ok=_valid_free_field(optional),
        checks=checks,
    )


def _parse_fr_cni(lines: tuple[str, ...], today: dt.date) -> MrzResult:
    """The French "carte nationale d'identite" issued 1988-2021 (not an ICAO layout).

    Line 1: "ID" "FRA", surname (25), issuing office (6). Line 2: card number (12: YYMM of issue,
    department, office, serial), check, given names (14), birth date, check, sex, final check
    over both lines. There is no expiry date in the MRZ: cards were valid 10 (then 15) years.
    """
    l1, l2 = lines
    code, issuing = l1[0:2], l1[2:5]
    surname = _clean(l1[5:30].replace("<<", "<"))
    number_raw, given_raw, birth_raw, sex = l2[0:12], l2[13:27], l2[27:33], l2[34]
    checks = (
        _check("document_number", number_raw, l2[12]),
        _check("birth_date", birth_raw, l2[33], kinds="n" * 6),
        _check("composite", l1 + l2[0:35], l2[35]),
    )
    # Given names are separated by "<<" on this card (a single "<" inside a compound name).
    given = " ".join(_clean(part) for part in given_raw.split("<<") if _clean(part))
    birth = parse_date(birth_raw, kind="birth", today=today)
    number = _clean(number_raw)
    problems, formats = _common_problems(
        lines=lines,
        code=code,
        issuing=issuing,
        nationality=issuing,
        birth=birth,
        expiry=None,
        expiry_required=False,
        sex=sex,
        number=number,
        optional_ok=True,
        surname=surname,
    )
    return MrzResult(
        format="FR_CNI",
        lines=lines,
        document_code=code.replace(FILLER, ""),
        issuing_country=normalise_code(issuing),
        surname=surname,
        given_names=given,
        document_number=number,
        nationality=normalise_code(issuing),
        birth_date_raw=birth_raw,
        birth_date=birth,
        sex=sex,
        expiry_date_raw="",
        expiry_date=None,
        optional_data=_clean(l1[30:36]),
        checks=checks,
        problems=problems,
        specimen=False,
        formats=formats,
    )


# ------------------------------------------------------------------------------------ building

_TRANSLITERATIONS = {"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "Æ": "AE", "Œ": "OE", "Ø": "OE"}


def mrz_name(value: str) -> str:
    """A name in the MRZ alphabet: accents dropped, German umlauts and ligatures spelled out as
    ICAO 9303-3 6.A recommends, anything else not a letter becomes the filler."""
    value = value.upper()
    for src, dst in _TRANSLITERATIONS.items():
        value = value.replace(src, dst)
    value = unicodedata.normalize("NFKD", value)
    value = "".join(c for c in value if not unicodedata.combining(c))
    return re.sub(r"[^A-Z]+", FILLER, value).strip(FILLER)

"""Judging an MRZ: check digits, codes, dates, and cross-checks with the printed fields and with
what the customer declared; and the Artemis OCR key set (vendor-apis.md 4.3) built from it.

Names are protected by no check digit: comparing them with the printed text and the customer's
declared identity is the only way to see a changed name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

from kyc.analysis.findings import Finding, fraudulent, info, suspicious
from kyc.analysis.mrz import PROBLEM_TEXT, Check, MrzResult, mrz_name
from kyc.analysis.ocr import MrzReading, printed_tokens


def gettext_noop(text: str) -> str:
    return text


_ = gettext_noop

# Below this OCR score for a line, a failing check on it may be a misread rather than an edit.
CONFIDENT_LINE = 0.90
FIELD_LABELS = {
    "document_number": "document number",
    "birth_date": "birth date",
    "expiry_date": "expiry date",
    "optional_data": "optional data",
    "composite": "composite (whole line)",
}
# The MRZ line each field sits on, per format (for per-field confidence and misread judgement).
FIELD_LINES: dict[str, dict[str, int]] = {
    "TD3": {"names": 0, "issuing_country": 0, "document_type": 0, "other": 1},
    "TD2": {"names": 0, "issuing_country": 0, "document_type": 0, "other": 1},
    "TD1": {
        "names": 2,
        "issuing_country": 0,
        "document_type": 0,
        "document_number": 0,
        "optional_data": 0,
        "other": 1,
    },
    "FR_CNI": {"names": 0, "issuing_country": 0, "document_type": 0, "other": 1},
}


def _line_of(fmt: str, name: str) -> int:
    lines = FIELD_LINES.get(fmt, {})
    return lines.get(name, lines.get("other", 0))


def _check_line(fmt: str, check: Check) -> int:
    if fmt == "TD1" and check.name == "document_number":
        return 0
    return _line_of(fmt, "other")


# --------------------------------------------------------------------------------- findings


def check_findings(result: MrzResult, scores: Sequence[float]) -> list[Finding]:
    found: list[Finding] = []
    failing = [c for c in result.checks if not c.valid]
    if not failing:
        names = ", ".join(FIELD_LABELS[c.name] for c in result.checks if c.applicable)
        found.append(
            info(
                "mrz_check_digits",
                _("MRZ check digits"),
                f"all check digits valid ({names})",
                positive=True,
                checks={c.name: c.valid for c in result.checks},
            )
        )
        return found
    field_failed = any(c.name != "composite" for c in failing)
    for check in failing:
        if check.name == "composite" and field_failed:
            # The field's own failure already explains the composite one.
            continue
        line = _check_line(result.format, check)
        score = scores[line] if line < len(scores) else 1.0
        label = FIELD_LABELS[check.name]
        criteria: dict[str, Any] = {
            "field": check.name,
            "data": check.data,
            "read": check.read,
            "computed": check.computed,
            "lineConfidence": round(score, 4),
            "misreads": [m.as_dict() for m in check.misreads],
        }
        if check.misreads:
            hints = ", ".join(
                f"{m.read!r} read where {m.alternative!r} would pass (position {m.position + 1})"
                for m in check.misreads[:4]
            )
            found.append(
                suspicious(
                    "mrz_check_digit",
                    _("MRZ check digit failed (possible misread)"),
                    f"{label}: check digit {check.read!r}, computed {check.computed!r}; "
                    f"possible misread: {hints}. Compare with the document before concluding.",
                    **criteria,
                )
            )
        elif score < CONFIDENT_LINE:
            found.append(
                suspicious(
                    "mrz_check_digit",
                    _("MRZ check digit failed"),
                    f"{label}: check digit {check.read!r}, computed {check.computed!r}; the line "
                    f"was read with low confidence ({score:.2f}), compare with the document.",
                    **criteria,
                )
            )
        else:
            found.append(
                fraudulent(
                    "mrz_check_digit",
                    _("MRZ check digit failed"),
                    f"{label}: check digit {check.read!r}, computed {check.computed!r}, and no "
                    "look-alike character explains it: the zone may have been altered.",
                    **criteria,
                )
            )
    return found


def format_findings(result: MrzResult) -> list[Finding]:
    found: list[Finding] = []
    if result.specimen:
        found.append(
            fraudulent(
                "mrz_specimen",
                _("Specimen document"),
                "the MRZ uses ICAO's specimen country code UTO (Utopia): a published specimen, "
                "not a real document",
                issuing=result.issuing_country,
                nationality=result.nationality,
            )
        )
    problems = [p for p in result.problems if not (result.specimen and "code" in p)]
    if problems:
        found.append(
            suspicious(
                "mrz_format",
                _("MRZ format"),
                "; ".join(PROBLEM_TEXT[p] for p in problems),
                problems=list(problems),
                formats=dict(result.formats),
            )
        )
    return found


def date_findings(result: MrzResult, today: dt.date) -> list[Finding]:
    found: list[Finding] = []
    if result.expiry_date is not None:
        criteria = {"expiryDate": result.expiry_date.isoformat(), "today": today.isoformat()}
        if result.expiry_date < today:
            found.append(
                suspicious(
                    "document_expired",
                    _("Document expired"),
                    f"expired on {result.expiry_date.isoformat()}",
                    **criteria,
                )
            )
        else:
            found.append(
                info(
                    "document_expired",
                    _("Document valid"),
                    f"valid until {result.expiry_date.isoformat()}",
                    positive=True,
                    **criteria,
                )
            )
        if result.birth_date and result.expiry_date <= result.birth_date:
            found.append(
                suspicious(
                    "mrz_dates",
                    _("Inconsistent dates"),
                    "the document expires before its holder was born",
                )
            )
    age = result.age_on(today)
    if age is not None and age < 18:
        found.append(
            suspicious(
                "under_18",
                _("Holder under 18"),
                f"born {result.birth_date_raw} (YYMMDD): {age} years old",
                age=age,
            )
        )
    return found


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"[^A-Z0-9]+", value.upper()) if w]


def _word_in(word: str, tokens: Sequence[str]) -> bool:
    if word in tokens:
        return True
    if len(word) < 5:
        return False
    return any(
        SequenceMatcher(None, word, t).ratio() >= 0.85
        for t in tokens
        if abs(len(t) - len(word)) <= 1
    )


def _date_in(value: dt.date, printed: str) -> bool:
    digits = re.sub(r"(?<=\d) (?=\d)", "", printed)
    compact = printed.replace(" ", "")
    candidates = {
        value.strftime("%d%m%Y"),
        value.strftime("%Y%m%d"),
        value.strftime("%d%m%y"),
    }
    months = (
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        ["JAN", "FEV", "MAR", "AVR", "MAI", "JUN", "JUL", "AOU", "SEP", "OCT", "NOV", "DEC"],
    )
    for names in months:
        candidates.add(f"{value.day:02d}{names[value.month - 1]}{value.year}")
        candidates.add(f"{value.day:02d}{names[value.month - 1]}{value.year % 100:02d}")
    return any(c in digits.replace(" ", "") or c in compact for c in candidates)


def printed_findings(result: MrzResult, reading: MrzReading) -> list[Finding]:
    """Compare the MRZ with the printed (visual zone) text read from the same picture."""
    tokens_text = printed_tokens(reading.printed_text)
    tokens = tokens_text.split()
    if len(tokens) < 4:
        return [
            info(
                "mrz_printed",
                _("MRZ vs printed fields"),
                "the printed fields could not be read: not compared",
            )
        ]
    missing: dict[str, str] = {}
    surname_words = _words(result.surname)
    if surname_words and not all(_word_in(w, tokens) for w in surname_words):
        missing["surname"] = result.surname
    given_words = _words(result.given_names)
    if given_words and not _word_in(given_words[0], tokens):
        missing["given_names"] = result.given_names
    if result.birth_date and not _date_in(result.birth_date, tokens_text):
        missing["birth_date"] = result.birth_date.isoformat()
    number = result.document_number.replace(" ", "")
    # O/0 and I/1 are compared as equal here: the printed font is not OCR-B.
    fold = str.maketrans({"O": "0", "I": "1", "Q": "0", "D": "0"})
    if number and number.translate(fold) not in tokens_text.replace(" ", "").translate(fold):
        missing["document_number"] = number
    criteria = {"notFound": missing, "printed": list(reading.printed_text)[:40]}
    if missing:
        return [
            suspicious(
                "mrz_printed_mismatch",
                _("MRZ vs printed fields mismatch"),
                "not found in the printed fields: "
                + ", ".join(f"{k.replace('_', ' ')} {v!r}" for k, v in missing.items()),
                **criteria,
            )
        ]
    return [
        info(
            "mrz_printed_mismatch",
            _("MRZ vs printed fields"),
            "names, birth date and document number match the printed fields",
            positive=True,
            **criteria,
        )
    ]


def _same_name(declared: str, read: str) -> bool:
    """MRZ names are upper case, without accents, and may be truncated to fit the zone."""
    a = mrz_name(declared).replace("<", " ").split()
    b = read.upper().split()
    if not a or not b:
        return True
    joined_a, joined_b = "".join(a), "".join(b)
    return joined_a == joined_b or (
        min(len(joined_a), len(joined_b)) >= 8
        and (joined_a.startswith(joined_b) or joined_b.startswith(joined_a))
    )


def customer_findings(result: MrzResult, customer: Any) -> list[Finding]:
    """Compare the MRZ with the identity the customer declared (individuals only)."""
    if customer is None or getattr(customer, "kind", "") != "individual":
        return []
    differences: dict[str, list[str]] = {}
    last_name = getattr(customer, "last_name", "") or ""
    first_name = getattr(customer, "first_name", "") or ""
    birth_date = getattr(customer, "birth_date", None)
    nationality = (getattr(customer, "nationality", "") or "").upper()
    if last_name and not _same_name(last_name, result.surname):
        differences["last_name"] = [last_name, result.surname]
    if first_name:
        declared_first = mrz_name(first_name).replace("<", " ").split()
        read_given = result.given_names.split()
        if declared_first and read_given and declared_first[0] not in read_given:
            differences["first_name"] = [first_name, result.given_names]
    if birth_date and result.birth_date and birth_date != result.birth_date:
        differences["birth_date"] = [birth_date.isoformat(), result.birth_date.isoformat()]
    if nationality and result.nationality and nationality != result.nationality:
        differences["nationality"] = [nationality, result.nationality]
    compared = [
        k
        for k, v in (
            ("last_name", last_name),
            ("first_name", first_name),
            ("birth_date", birth_date),
            ("nationality", nationality),
        )
        if v
    ]
    if not compared:
        return []
    if differences:
        return [
            suspicious(
                "customer_mismatch",
                _("Document vs declared identity"),
                "; ".join(
                    f"{k.replace('_', ' ')}: declared {v[0]!r}, document {v[1]!r}"
                    for k, v in differences.items()
                ),
                differences=differences,
            )
        ]
    return [
        info(
            "customer_mismatch",
            _("Document vs declared identity"),
            "matches the customer's declared " + ", ".join(c.replace("_", " ") for c in compared),
            positive=True,
            compared=compared,
        )
    ]


def mrz_findings(
    result: MrzResult | None,
    reading: MrzReading | None,
    *,
    kind: str,
    customer: Any = None,
    today: dt.date,
) -> list[Finding]:
    if result is None:
        message = (
            reading.message if reading and reading.message else "no machine readable zone found"
        )
        if reading is not None and reading.found:
            message = "a zone was found but its lines have no known ICAO layout"
        make = suspicious if kind == "passport" else info
        hint = (
            "" if kind == "passport" else " (on ID cards and residence permits it is on the back)"
        )
        return [
            make(
                "mrz_missing",
                _("No MRZ read"),
                message + hint,
                passes=list(reading.passes) if reading else [],
            )
        ]
    found = [
        info(
            "mrz",
            _("MRZ read"),
            f"{result.format} zone read: {result.document_code} {result.issuing_country} "
            f"{result.document_number}",
            format=result.format,
            lines=list(result.lines),
        )
    ]
    found.extend(format_findings(result))
    found.extend(check_findings(result, reading.scores if reading else ()))
    found.extend(date_findings(result, today))
    if reading is not None:
        found.extend(printed_findings(result, reading))
    found.extend(customer_findings(result, customer))
    return found


# ----------------------------------------------------------------------------------- Artemis

ARTEMIS_FLAGS = (
    "final hash",
    "birth date hash",
    "document number hash",
    "expiry date hash",
    "optional data hash",
    "valid country code",
    "valid nationality code",
    "valid genre format",
    "document type format",
    "document number format",
    "optional data format",
)
ARTEMIS_VALUES = (
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
)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def artemis_fields(result: MrzResult | None, reading: MrzReading | None) -> dict[str, Any]:
    """The Artemis OCR `result` object (vendor-apis.md 4.3): values as strings, dates ISO,
    validation flags as the strings "true"/"false"."""
    if result is None:
        fields: dict[str, Any] = dict.fromkeys(ARTEMIS_VALUES, "")
        fields.update(dict.fromkeys(ARTEMIS_FLAGS, "false"))
        if reading is not None and reading.lines:
            fields["mrz_raw_string"] = "\n".join(reading.lines)
        fields["status"] = "FAILED"
        fields["missing_fields"] = [k for k in ARTEMIS_VALUES if not fields[k]]
        fields["ignored_fields"] = []
        return fields

    def check_ok(name: str) -> bool:
        check = result.check(name)
        return True if check is None else check.valid

    birth = result.birth_date.isoformat() if result.birth_date else ""
    expiry = result.expiry_date.isoformat() if result.expiry_date else ""
    is_passport = result.document_code.startswith("P")
    optional = " ".join(v for v in (result.optional_data, result.optional_data_2) if v)
    fields = {
        "first_name": result.given_names,
        "last_name": result.surname,
        "full_name": " ".join(v for v in (result.given_names, result.surname) if v),
        "gender": result.sex.replace("<", "X") if result.sex else "",
        "date_of_birth": birth,
        "birth date": birth,
        "nationality": result.nationality,
        "issuing_country": result.issuing_country,
        "document_type": result.document_code,
        "document_number": result.document_number,
        "passport_number": result.document_number if is_passport else "",
        # TD3 line 2 positions 29-42 are the holder's personal number when the state uses them.
        "personal_id_number": result.optional_data if result.format == "TD3" else "",
        "expiry_date": expiry,
        "expiry date": expiry,
        "optional_data": optional,
        "mrz_raw_string": "\n".join(result.lines),
        "final hash": _flag(check_ok("composite")),
        "birth date hash": _flag(check_ok("birth_date")),
        "document number hash": _flag(check_ok("document_number")),
        "expiry date hash": _flag(check_ok("expiry_date")),
        # TD1 and TD2 have no check digit on optional data: nothing failed.
        "optional data hash": _flag(check_ok("optional_data")),
        "valid country code": _flag(result.formats.get("country_code", False)),
        "valid nationality code": _flag(result.formats.get("nationality_code", False)),
        "valid genre format": _flag(result.formats.get("sex", False)),
        "document type format": _flag(result.formats.get("document_type", False)),
        "document number format": _flag(result.formats.get("document_number", False)),
        "optional data format": _flag(result.formats.get("optional_data", False)),
    }
    fields["status"] = "SUCCESS" if result.valid else "UNCERTAIN"
    fields["missing_fields"] = [
        k
        for k in ARTEMIS_VALUES
        if not fields[k] and not (k == "passport_number" and not is_passport)
    ]
    fields["ignored_fields"] = []
    return fields


def field_confidence(result: MrzResult | None, reading: MrzReading | None) -> dict[str, float]:
    """Per Artemis field, the OCR score of the MRZ line it was read from."""
    if result is None or reading is None or not reading.scores:
        return {}
    scores = reading.scores

    def score(name: str) -> float:
        line = _line_of(result.format, name)
        return round(scores[line] if line < len(scores) else min(scores), 4)

    names = score("names")
    other = score("other")
    confidence = dict.fromkeys(ARTEMIS_VALUES, other)
    for key in ("first_name", "last_name", "full_name"):
        confidence[key] = names
    confidence["issuing_country"] = score("issuing_country")
    confidence["document_type"] = score("document_type")
    if result.format == "TD1":
        for key in ("document_number", "passport_number"):
            confidence[key] = score("document_number")
    confidence["mrz_raw_string"] = round(min(scores), 4)
    return confidence

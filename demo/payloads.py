"""Vendor-shaped raw payloads for the demo reports, each with its normalised reading in the
provider interface's own types (`kyc.providers.base`), which the job engine stores as it stores a
real provider's answer.

The raw shapes follow shared/vendor-apis.md: October Doc X-Ray (1.4) and Manager X-Ray (1.4),
Finovox `risk` + `explanation` (2.2), Mindee V1 passport and international ID (3.2, 3.3). The
built-in engine's reports use the Doc X-Ray reason layout. OCR fields use the Artemis key set
(4.3), space-containing MRZ flags included.

Normalised fields are the same for every source: flag colour, flag value, score (0 = clean,
1 = certainly fraudulent), reasons as {code, title, detail, level, criteria}, and a summary.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from demo import catalog, mrz
from demo.documents import FileOrigin, IdentityDocument
from kyc.providers.base import OcrData, OfficerData, Reason, ReportData
from kyc.providers.finovox import RISK_AXES as FINOVOX_AXES
from kyc.providers.october import OctoberReport, manager_xray_data

CLEAN, SUSPICIOUS, FRAUDULENT = "clean", "suspicious", "fraudulent"
COLOR_FOR_RISK = {"low": "green", "medium": "orange", "high": "red"}


# ------------------------------------------------------------------ vendor bodies, one builder each
# The shapes of vendor-apis.md, used by the demo data and by the tests' fake vendor servers alike.

MINDEE_API = "https://api.mindee.net"
MINDEE_PASSPORT = "/v1/products/mindee/passport/v1"
MINDEE_INTERNATIONAL_ID = "/v1/products/mindee/international_id/v2"


def mindee_field(value: Any, confidence: float, polygon: list[list[float]]) -> dict[str, Any]:
    """A Mindee V1 field object: value, confidence, polygon, page id (3.3)."""
    return {"value": value, "confidence": confidence, "polygon": polygon, "page_id": 0}


def mindee_api_request(
    url: str,
    status_code: int,
    *,
    error: dict[str, Any] | None = None,
    resources: tuple[str, ...] = ("document",),
) -> dict[str, Any]:
    """The `api_request` envelope of every Mindee V1 answer (3.2)."""
    return {
        "error": error or {},
        "resources": list(resources),
        "status": "failure" if error else "success",
        "status_code": status_code,
        "url": url,
    }


def mindee_document(
    doc_id: str,
    prediction: dict[str, Any],
    *,
    product: str,
    version: str,
    name: str,
    started: dt.datetime,
    processing: float,
) -> dict[str, Any]:
    """A Mindee V1 `document`: one page, whose prediction is the document's (3.2)."""
    return {
        "id": doc_id,
        "name": name,
        "n_pages": 1,
        "is_rotation_applied": True,
        "inference": {
            "extras": {},
            "started_at": started.isoformat(),
            "finished_at": (started + dt.timedelta(seconds=processing)).isoformat(),
            "processing_time": processing,
            "is_rotation_applied": True,
            "product": {"name": product, "version": version},
            "prediction": prediction,
            "pages": [
                {"id": 0, "orientation": {"value": 0}, "extras": {}, "prediction": prediction}
            ],
        },
    }


def mindee_job(
    job_id: str,
    status: str,
    *,
    issued_at: str,
    available_at: str | None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Mindee V1 asynchronous `job` (3.2): waiting, processing, completed or failed."""
    return {
        "id": job_id,
        "status": status,
        "issued_at": issued_at,
        "available_at": available_at,
        "error": error or {},
    }


def finovox_result(
    *,
    name: str,
    global_risk: str,
    risks: dict[str, str],
    document_quality: str,
    software: str,
    explanation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Finovox `risk` result, with `explanation` when asked for (2.2)."""
    result: dict[str, Any] = {
        "name": name,
        "global_risk": global_risk,
        **{f"{axis}_risk": risks[axis] for axis in FINOVOX_AXES},
        "document_quality": document_quality,
        "software": software,
    }
    if explanation is not None:
        result["explanation"] = explanation
    return result


# ----------------------------------------------------------------------------- demo payloads


def hex_id(rng: random.Random, length: int = 24) -> str:
    """An opaque vendor id (October's look like MongoDB ObjectIds)."""
    return f"{rng.getrandbits(length * 4):0{length}x}"


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


SENTIMENTS = {"good": "positive", "bad": "negative"}


def normalise_reason(reason: dict[str, Any]) -> dict[str, Any]:
    """A Doc X-Ray style reason in our normalised layout (`kyc.providers.base.Reason`)."""
    return {
        "code": reason["typeCode"],
        "title": reason["message"]["title"],
        "detail": reason["message"]["content"],
        "level": reason["level"],
        "sentiment": SENTIMENTS.get(reason["sentiment"], "neutral"),
        "criteria": reason["criteria"],
    }


def _reasons(reasons: list[dict[str, Any]]) -> tuple[Reason, ...]:
    return tuple(Reason(**reason) for reason in reasons)


def _reason(
    type_code: str, title: str, content: str, *, level: str | None, criteria: dict[str, Any]
) -> dict[str, Any]:
    return {
        "criteria": criteria,
        "sentiment": "good" if level is None else "bad",
        "message": {"title": title, "content": content},
        "typeCode": type_code,
        "level": level,
    }


def _flag_color(value: float) -> str:
    if value < 0.2:
        return "green"
    return "orange" if value < 0.6 else "red"


def _flag_value(rng: random.Random, verdict: str) -> float:
    low, high = {CLEAN: (0.0, 0.06), SUSPICIOUS: (0.25, 0.55), FRAUDULENT: (0.7, 0.95)}[verdict]
    return rng.uniform(low, high)


def _time_reason(origin: FileOrigin | None, verdict: str) -> dict[str, Any]:
    if origin is None:
        criteria = {
            "creationDate": None,
            "modDate": None,
            "lastSigningTime": None,
            "modCreationDiff": None,
        }
        return _reason(
            "time",
            "Creation/Modification Time",
            "no dates in the file",
            level=None,
            criteria=criteria,
        )
    diff_ms = int((origin.modified - origin.created).total_seconds() * 1000)
    criteria = {
        "creationDate": iso(origin.created),
        "modDate": iso(origin.modified),
        "lastSigningTime": None,
        "modCreationDiff": diff_ms,
    }
    if diff_ms < 60_000:
        return _reason(
            "time",
            "Creation/Modification Time",
            "not modified after creation",
            level=None,
            criteria=criteria,
        )
    days = diff_ms / 86_400_000
    return _reason(
        "time",
        "Creation/Modification Time",
        f"modified {days:.2f} days after creation",
        level="suspicious" if verdict != CLEAN else None,
        criteria=criteria,
    )


# ------------------------------------------------------------------------------ document checks

DOCUMENT_CLASSES = {
    "bank_statement": "bank_statement",
    "company_registration": "kbis",
    "financial_statement": "financial_statement",
    "proof_of_address": "invoice",
    "passport": "passport",
    "id_card": "id_card",
}
EDITING_SOFTWARE = ("photoshop", "gimp", "word", "ilovepdf", "acrobat")


def _is_editor(software: str) -> bool:
    return any(name in software.lower() for name in EDITING_SOFTWARE)


def _type(rng: random.Random, kind: str) -> list[dict[str, Any]]:
    primary = DOCUMENT_CLASSES.get(kind, "other")
    runner_up = "invoice" if primary != "invoice" else "bank_statement"
    confidence = rng.uniform(0.93, 0.99999)
    return [
        {"class": primary, "confidence": confidence},
        {"class": runner_up, "confidence": (1 - confidence) * rng.uniform(0.3, 0.9)},
    ]


def _document_reasons(
    rng: random.Random, *, kind: str, verdict: str, origin: FileOrigin | None, pdf: bool
) -> list[dict[str, Any]]:
    """The checks shared by Doc X-Ray and the built-in forensics, with this file's findings."""
    reasons = [_time_reason(origin, verdict)]
    software = origin.software if origin else ""
    editor = _is_editor(software)
    reasons.append(
        _reason(
            "software",
            "Producing software",
            f"written by {software}" if software else "no producer recorded",
            level=("fraudulent" if verdict == FRAUDULENT else "suspicious") if editor else None,
            criteria={"producer": software or None, "editor": editor},
        )
    )
    forged = verdict == FRAUDULENT
    if pdf:
        reasons += [
            _reason(
                "edited_text",
                "Edited text",
                "text replaced after the document was produced" if forged else "no edited text",
                level="fraudulent" if forged else None,
                criteria={"pages": [1] if forged else [], "zones": 2 if forged else 0},
            ),
            _reason(
                "overlay",
                "Overlaid & overlapped text",
                "white boxes painted over two amounts" if forged else "no overlapping text",
                level="fraudulent" if forged else None,
                criteria={"pages": [1] if forged else [], "overlaps": 2 if forged else 0},
            ),
            _reason(
                "font",
                "Inconsistent font",
                "two fonts of one family" if verdict != SUSPICIOUS else "a third font on one line",
                level="suspicious" if verdict == SUSPICIOUS and rng.random() < 0.5 else None,
                criteria={"fonts": ["Helvetica", "Helvetica-Bold"]},
            ),
            _reason(
                "revisions",
                "Document revisions",
                "saved twice: incremental update found" if forged else "single revision",
                level="fraudulent" if forged else None,
                criteria={"revisions": 2 if forged else 1},
            ),
        ]
    else:
        reasons += [
            _reason(
                "compression",
                "Compression history",
                "areas compressed twice (pasted region)" if forged else "uniform compression",
                level="fraudulent" if forged else None,
                criteria={"double_compression": forged},
            ),
            _reason(
                "resolution",
                "Resolution",
                "resolution consistent with a scan",
                level=None,
                criteria={"dpi": 300},
            ),
        ]
    if kind in ("bank_statement", "company_registration", "financial_statement"):
        reasons.append(
            _reason(
                "company_id",
                "Company identifier",
                "SIREN found and valid",
                level=None,
                criteria={"siren_found": True, "siren_valid": True},
            )
        )
    return reasons


def _document_report(
    rng: random.Random, reasons: list[dict[str, Any]], *, kind: str, verdict: str
) -> tuple[dict[str, Any], float, str]:
    value = _flag_value(rng, verdict)
    color = _flag_color(value)
    flag = {"color": color, "meta": [r["typeCode"] for r in reasons if r["level"]], "value": value}
    return {"type": _type(rng, kind), "reasons": reasons, "flag": flag}, value, color


def _summary(raw: dict[str, Any]) -> dict[str, Any]:
    levels = [reason["level"] for reason in raw["reasons"]]
    return {
        "document_class": raw["type"][0]["class"],
        "class_confidence": round(raw["type"][0]["confidence"], 4),
        "checks": len(levels),
        "suspicious": levels.count("suspicious"),
        "fraudulent": levels.count("fraudulent"),
        "flag_meta": raw["flag"]["meta"],
    }


def doc_xray(
    rng: random.Random, *, kind: str, verdict: str, origin: FileOrigin | None, pdf: bool = True
) -> ReportData:
    """October Doc X-Ray `report.raw` (vendor-apis.md 1.4)."""
    reasons = _document_reasons(rng, kind=kind, verdict=verdict, origin=origin, pdf=pdf)
    raw, value, color = _document_report(rng, reasons, kind=kind, verdict=verdict)
    return ReportData(
        source="doc_xray",
        raw=raw,
        flag_color=color,
        flag_value=repr(value),
        score=round(value, 4),
        reasons=_reasons([normalise_reason(reason) for reason in reasons]),
        summary=_summary(raw),
        external_id=hex_id(rng),
    )


def local_forensics(
    rng: random.Random,
    *,
    kind: str,
    verdict: str,
    origin: FileOrigin | None,
    content_type: str,
    size: int,
    sha256: str,
) -> ReportData:
    """The built-in forensics engine's report, in the Doc X-Ray reason layout."""
    pdf = content_type == "application/pdf"
    reasons = _document_reasons(rng, kind=kind, verdict=verdict, origin=origin, pdf=pdf)
    raw, value, color = _document_report(rng, reasons, kind=kind, verdict=verdict)
    raw = {
        "engine": {"name": "kyc.analysis.forensics", "version": "1.0"},
        "file": {
            "content_type": content_type,
            "size": size,
            "sha256": sha256,
            "pages": 1,
            "revisions": 2 if pdf and verdict == FRAUDULENT else 1,
        },
        **raw,
    }
    return ReportData(
        source="local_forensics",
        raw=raw,
        flag_color=color,
        flag_value=f"{value:.4f}",
        score=round(value, 4),
        reasons=_reasons([normalise_reason(reason) for reason in reasons]),
        summary=_summary(raw),
    )


# ------------------------------------------------------------------------------------- Finovox

_FINOVOX_TEXT = {
    "software": (
        "The file was last saved by an image or document editor ({software}).",
        "Le fichier a été enregistré en dernier par un éditeur ({software}).",
    ),
    "metadata": (
        "The modification date is several days after the creation date.",
        "La date de modification est postérieure de plusieurs jours à la date de création.",
    ),
    "datastructure": (
        "The PDF contains an incremental update that replaces page content.",
        "Le PDF contient une mise à jour incrémentale qui remplace le contenu de la page.",
    ),
    "vision": (
        "Rectangles painted over text, with different font rendering.",
        "Des rectangles masquent du texte, avec un rendu de police différent.",
    ),
    "coherence": (
        "Balances do not add up with the listed operations.",
        "Les soldes ne correspondent pas aux opérations listées.",
    ),
}


def _finovox_software(software: str) -> str:
    lowered = software.lower()
    for name, label in (
        ("photoshop", "photoshop"),
        ("gimp", "gimp"),
        ("word", "microsoft word"),
        ("ilovepdf", "ilovepdf"),
        ("acrobat", "adobe acrobat"),
    ):
        if name in lowered:
            return label
    return ""


def finovox_risk(
    rng: random.Random, *, name: str, verdict: str, origin: FileOrigin | None
) -> ReportData:
    """Finovox `POST /analyse` with analyse_type ["risk", "explanation"] (vendor-apis.md 2.2)."""
    risks = dict.fromkeys(FINOVOX_AXES, "low")
    if verdict == SUSPICIOUS:
        risks["metadata"] = "medium"
        if rng.random() < 0.5:
            risks["software"] = "medium"
    elif verdict == FRAUDULENT:
        risks.update(software="high", metadata="medium", datastructure="high", vision="high")
        if rng.random() < 0.6:
            risks["coherence"] = "medium"
    order = ["low", "medium", "high"]
    global_risk = max(risks.values(), key=order.index)
    software = _finovox_software(origin.software if origin else "")
    flagged = [axis for axis, risk in risks.items() if risk != "low"]
    english = [_FINOVOX_TEXT[axis][0].format(software=software or "?") for axis in flagged]
    french = [_FINOVOX_TEXT[axis][1].format(software=software or "?") for axis in flagged]
    raw = finovox_result(
        name=name,
        global_risk=global_risk,
        risks=risks,
        document_quality=rng.choice(["good", "acceptable", "acceptable"]),
        software=software,
        explanation={
            "en": english or ["No sign of tampering was found."],
            "fr": french or ["Aucun signe de falsification n'a été détecté."],
        },
    )
    low, high = {"low": (0.02, 0.18), "medium": (0.4, 0.6), "high": (0.8, 0.97)}[global_risk]
    reasons = [
        {
            "code": f"finovox_{axis}_risk",
            "title": f"{axis.capitalize()}: {risks[axis]}",
            "detail": _FINOVOX_TEXT[axis][0].format(software=software or "?"),
            "level": "fraudulent" if risks[axis] == "high" else "suspicious",
            "sentiment": "negative",
            "criteria": {"axis": axis, "risk": risks[axis]},
        }
        for axis in flagged
    ]
    if software:
        reasons.append(
            {
                "code": "finovox_software",
                "title": f"Produced with {software}",
                "detail": "",
                "level": None,
                "sentiment": "neutral",
                "criteria": {"software": software},
            }
        )
    summary = {key: raw[key] for key in raw if key not in ("name", "explanation")}
    return ReportData(
        source="finovox_risk",
        raw=raw,
        flag_color=COLOR_FOR_RISK[global_risk],
        flag_value=global_risk,
        score=round(rng.uniform(low, high), 4),
        reasons=_reasons(reasons),
        summary=summary,
    )


# ------------------------------------------------------------------------------ Manager X-Ray

ALERT_LEVELS = {"low": None, "medium": "suspicious", "high": "fraudulent"}


def manager_persons(
    rng: random.Random,
    *,
    company: str,
    siren: str,
    registered: dt.date,
    risk: str,
    today: dt.date,
    new_siren: Callable[[], str],
) -> list[dict[str, Any]]:
    """Manager X-Ray persons of a company, shaped as October's `report.raw.persons`: one to three
    managers, some with other companies, dated alerts whose worst level follows `risk`."""
    people = rng.sample(catalog.OFFICERS, rng.choice([1, 1, 2, 2, 3]))
    persons = []
    for first_name, last_name, _sex in people:
        start = registered + dt.timedelta(days=rng.randint(0, 900))
        start = min(start, today - dt.timedelta(days=200))
        companies = [
            {
                "name": company,
                "code": {"id": siren, "type": "siren"},
                "jobStartDate": start.isoformat(),
                "jobEndDate": None,
                "alerts": [],
            }
        ]
        for other in rng.sample(catalog.OTHER_COMPANIES, rng.choice([0, 1, 1, 2])):
            other_start = today - dt.timedelta(days=rng.randint(900, 6000))
            ended = rng.random() < 0.5
            end = other_start + dt.timedelta(days=rng.randint(300, 800)) if ended else None
            companies.append(
                {
                    "name": other,
                    "code": {"id": new_siren(), "type": "siren"},
                    "jobStartDate": other_start.isoformat(),
                    "jobEndDate": end.isoformat() if end else None,
                    "alerts": [],
                }
            )
        persons.append(
            {
                "lastname": last_name,
                "firstname": first_name,
                "birthdate": dt.date(
                    rng.randint(1952, 1988), rng.randint(1, 12), rng.randint(1, 28)
                ).isoformat(),
                # A fraction, as in October's example ("confidencePercentage": 1).
                "confidencePercentage": rng.choice([1, 1, 0.97, 0.92, 0.85]),
                "companies": companies,
            }
        )
    _alerts(rng, persons, risk, today)
    return persons


def _alerts(rng: random.Random, persons: list[dict[str, Any]], risk: str, today: dt.date) -> None:
    low = [alert for alert in catalog.ALERTS if alert[1] == "low"]
    worst = {CLEAN: None, SUSPICIOUS: "medium", FRAUDULENT: "high"}[risk]
    slots = [company for person in persons for company in person["companies"]]
    for company in slots:
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            _alert(rng, company, rng.choice(low), today)
    if worst:
        # The alert that drives the flag sits on another company of a manager when there is
        # one (the usual story), else on the customer itself.
        target = slots[-1] if len(slots) > 1 else slots[0]
        choices = [alert for alert in catalog.ALERTS if alert[1] == worst]
        _alert(rng, target, rng.choice(choices), today, recent=rng.random() < 0.5)
    if not any(company["alerts"] for company in slots):
        _alert(rng, slots[0], rng.choice(low), today, recent=True)


def _alert(
    rng: random.Random,
    company: dict[str, Any],
    alert: tuple[str, str],
    today: dt.date,
    recent: bool = False,
) -> None:
    recent = recent or rng.random() < 0.25
    days = rng.randint(0, 29) if recent else rng.randint(30, 730)
    date = (today - dt.timedelta(days=days)).isoformat()
    name, level = alert
    if any(a["name"] == name and a["date"] == date for a in company["alerts"]):
        return
    company["alerts"].append({"date": date, "name": name, "level": level})
    company["alerts"].sort(key=lambda a: a["date"], reverse=True)


def manager_xray(
    rng: random.Random,
    *,
    request_id: str,
    siren: str,
    persons: list[dict[str, Any]],
    today: dt.date,
) -> tuple[ReportData, tuple[OfficerData, ...]]:
    """October Manager X-Ray `report.raw` (vendor-apis.md 1.4) from already-shaped persons, and
    its officers as the October provider reads them (`manager_xray_data`)."""
    raw = {
        "request": {"id": request_id, "code": {"id": siren, "type": "siren"}},
        "persons": persons,
    }
    reasons, counts, recent = [], {"low": 0, "medium": 0, "high": 0}, 0
    for person in persons:
        for company in person["companies"]:
            for alert in company["alerts"]:
                counts[alert["level"]] += 1
                if dt.date.fromisoformat(alert["date"]) >= today - dt.timedelta(days=30):
                    recent += 1
                if alert["level"] == "low":
                    continue
                reasons.append(
                    {
                        "code": "manager_alert",
                        "title": alert["name"],
                        "detail": (
                            f"{person['firstname']} {person['lastname'].upper()}, "
                            f"{company['name']} ({company['code']['id']}), {alert['date']}"
                        ),
                        "level": ALERT_LEVELS[alert["level"]],
                        "sentiment": "negative",
                        "criteria": {
                            "person": f"{person['firstname']} {person['lastname']}",
                            "company": company["name"],
                            "siren": company["code"]["id"],
                            "date": alert["date"],
                            "alert_level": alert["level"],
                        },
                    }
                )
    worst = "high" if counts["high"] else "medium" if counts["medium"] else "low"
    low, high = {"low": (0.02, 0.15), "medium": (0.4, 0.6), "high": (0.8, 0.95)}[worst]
    score = round(rng.uniform(low, high), 4)
    report_id = hex_id(rng)
    report = ReportData(
        source="manager_xray",
        raw=raw,
        flag_color=COLOR_FOR_RISK[worst],
        flag_value=f"{sum(counts.values())} alerts, worst {worst}"
        if any(counts.values())
        else "no alert",
        score=score,
        reasons=_reasons(reasons),
        summary={
            "persons": len(persons),
            "companies": sum(len(person["companies"]) for person in persons),
            "alerts": counts,
            "alerts_last_30_days": recent,
        },
        external_id=report_id,
    )
    _data, officers = manager_xray_data(OctoberReport(id=report_id, raw=raw))
    return report, officers


# --------------------------------------------------------------------------------------- OCR


def _artemis_fields(
    doc: IdentityDocument, *, first_name: str, last_name: str, birth_date: dt.date
) -> dict[str, Any]:
    """The Artemis OCR `result` keys (vendor-apis.md 4.3) for one identity document."""
    checks = mrz.verify(doc.mrz_lines)
    passport = doc.kind == "passport"
    fields: dict[str, Any] = {
        "first_name": first_name,
        "last_name": last_name,
        "full_name": f"{first_name} {last_name}",
        "gender": doc.sex,
        "date_of_birth": birth_date.isoformat(),
        "birth date": birth_date.isoformat(),
        "nationality": doc.nationality,
        "issuing_country": doc.issuing_country,
        "document_type": "PASSPORT" if passport else "NATIONAL_ID",
        "document_number": doc.document_number,
        "expiry_date": doc.expiry_date.isoformat(),
        "expiry date": doc.expiry_date.isoformat(),
        "mrz_raw_string": "\n".join(doc.mrz_lines),
        "optional_data": "",
        "ignored_fields": [],
        "missing_fields": [],
    }
    if passport:
        fields["passport_number"] = doc.document_number
        fields["passport_expiry_date"] = doc.expiry_date.isoformat()
    fields.update({key: "true" if ok else "false" for key, ok in checks.items()})
    return fields


def local_mrz(
    rng: random.Random, doc: IdentityDocument, *, today: dt.date
) -> tuple[ReportData, OcrData]:
    """The built-in MRZ reader: ICAO 9303 check digits, then the zone against the printed data."""
    checks = mrz.verify(doc.mrz_lines)
    layout = "TD3" if len(doc.mrz_lines) == 2 else "TD1"
    digits_ok = all(checks[key] for key in checks if key.endswith("hash"))
    reasons = [
        _reason(
            "mrz_check_digits",
            "MRZ check digits",
            "all check digits hold" if digits_ok else "a check digit does not hold",
            level=None if digits_ok else "fraudulent",
            criteria={key: checks[key] for key in checks if key.endswith("hash")},
        ),
        _reason(
            "mrz_codes",
            "Country and nationality codes",
            f"{doc.issuing_country} / {doc.nationality} are ISO 3166 alpha-3 codes",
            level=None,
            criteria={"issuing_country": doc.issuing_country, "nationality": doc.nationality},
        ),
    ]
    printed = doc.printed_birth_date or doc.birth_date
    mismatch = printed != doc.birth_date
    reasons.append(
        _reason(
            "mrz_visual_mismatch",
            "MRZ against printed data",
            (
                f"printed birth date {printed.isoformat()} but the MRZ says "
                f"{doc.birth_date.isoformat()}"
            )
            if mismatch
            else "printed data match the MRZ",
            level="fraudulent" if mismatch else None,
            criteria={
                "field": "birth_date",
                "printed": printed.isoformat(),
                "mrz": doc.birth_date.isoformat(),
            },
        )
    )
    expired = doc.expiry_date < today
    reasons.append(
        _reason(
            "mrz_expiry",
            "Expiry date",
            f"expired on {doc.expiry_date.isoformat()}"
            if expired
            else f"valid until {doc.expiry_date.isoformat()}",
            level="suspicious" if expired else None,
            criteria={"expiry_date": doc.expiry_date.isoformat()},
        )
    )
    verdict = FRAUDULENT if mismatch or not digits_ok else SUSPICIOUS if expired else CLEAN
    value = _flag_value(rng, verdict)
    names = doc.mrz_lines[0][5:] if layout == "TD3" else doc.mrz_lines[2]
    surname, _, given = names.partition("<<")
    mrz_last, mrz_first = surname.replace("<", " ").strip(), given.replace("<", " ").strip()
    raw = {
        "engine": {"name": "kyc.analysis.mrz", "version": "1.0"},
        "format": layout,
        "lines": list(doc.mrz_lines),
        "checks": checks,
        "reasons": reasons,
        "flag": {
            "color": _flag_color(value),
            "meta": [r["typeCode"] for r in reasons if r["level"]],
            "value": value,
        },
    }
    report = ReportData(
        source="local_mrz",
        raw=raw,
        flag_color=_flag_color(value),
        flag_value=f"{value:.4f}",
        score=round(value, 4),
        reasons=_reasons([normalise_reason(reason) for reason in reasons]),
        summary={
            "format": layout,
            "check_digits_valid": digits_ok,
            "expired": expired,
            "visual_mismatch": mismatch,
        },
    )
    fields = _artemis_fields(
        doc, first_name=mrz_first, last_name=mrz_last, birth_date=doc.birth_date
    )
    fields["missing_fields"] = ["address", "issue_date", "country_of_birth"]
    confidence = {
        key: round(rng.uniform(0.97, 0.999), 3)
        for key in fields
        if isinstance(fields[key], str) and fields[key]
    }
    return report, OcrData(source="local_mrz", fields=fields, confidence=confidence)


def _box(rng: random.Random) -> list[list[float]]:
    left, top = round(rng.uniform(0.3, 0.7), 3), round(rng.uniform(0.1, 0.85), 3)
    right, bottom = round(left + rng.uniform(0.08, 0.25), 3), round(top + 0.04, 3)
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


def _mindee_field(rng: random.Random, value: Any, confidence: float) -> dict[str, Any]:
    return mindee_field(value, round(confidence, 2), _box(rng))


def _mindee_document(
    rng: random.Random,
    *,
    prediction: dict[str, Any],
    product: str,
    version: str,
    name: str,
    started: dt.datetime,
) -> dict[str, Any]:
    processing = round(rng.uniform(1.1, 4.5), 3)
    return mindee_document(
        uuid4(rng),
        prediction,
        product=product,
        version=version,
        name=name,
        started=started,
        processing=processing,
    )


def _confidences(rng: random.Random, keys: list[str], misread: str | None) -> dict[str, float]:
    values = {key: rng.uniform(0.9, 0.99) for key in keys}
    if misread:
        values[misread] = rng.uniform(0.52, 0.72)
    return values


def _mindee_report(
    *,
    source: str,
    raw: dict[str, Any],
    product_operation: str,
    confidences: dict[str, float],
    required: tuple[str, ...],
    external_id: str,
) -> ReportData:
    """The report Mindee's provider makes of this payload (kyc.providers.mindee): the same flag
    (orange when a required field is missing or any field was read under MINDEE_MIN_CONFIDENCE),
    reasons (one per low field, translatable) and per-field confidences as a real run stores;
    the score is the demo's (1 - the lowest required confidence)."""
    from kyc.providers import mindee

    data = mindee.outcome_from_document(mindee.PRODUCTS[product_operation], raw).reports[0]
    lowest = min(confidences[key] for key in required if key in confidences)
    mean = sum(confidences.values()) / len(confidences)
    return ReportData(
        source=source,
        raw=raw,
        flag_color=data.flag_color,
        flag_value=data.flag_value,
        score=round(1 - lowest, 4),
        reasons=data.reasons,
        summary={**data.summary, "mean_confidence": round(mean, 2)},
        external_id=external_id,
    )


# Artemis keys that repeat another one (the OCR service fills both spellings).
_ARTEMIS_ALIASES = {
    "birth date": "date_of_birth",
    "expiry date": "expiry_date",
    "passport_number": "document_number",
    "passport_expiry_date": "expiry_date",
}


def _mindee_ocr(
    source: str,
    doc: IdentityDocument,
    values: dict[str, Any],
    confidences: dict[str, float],
    mapping: dict[str, str],
) -> OcrData:
    """Mindee's values in the Artemis key set, with a confidence per Artemis key."""
    printed = doc.printed_birth_date or doc.birth_date
    fields = _artemis_fields(
        doc, first_name=doc.given_names, last_name=doc.surname, birth_date=printed
    )
    confidence: dict[str, float] = {}
    for mindee_key, artemis_key in mapping.items():
        if values.get(mindee_key):
            fields[artemis_key] = values[mindee_key]
            confidence[artemis_key] = round(confidences[mindee_key], 2)
    for alias, key in _ARTEMIS_ALIASES.items():
        if alias in fields and key in confidence:
            fields[alias] = fields[key]
            confidence[alias] = confidence[key]
    fields["full_name"] = f"{fields['first_name']} {fields['last_name']}"
    if printed != doc.birth_date or min(confidences.values()) < 0.8:
        fields["status"] = "UNCERTAIN"
    return OcrData(source=source, fields=fields, confidence=confidence)


def mindee_passport(
    rng: random.Random,
    doc: IdentityDocument,
    *,
    name: str,
    started: dt.datetime,
    misread: tuple[str, str] | None = None,
) -> tuple[ReportData, OcrData]:
    """Mindee V1 `mindee/passport/v1` synchronous response (vendor-apis.md 3.2, 3.3)."""
    printed = doc.printed_birth_date or doc.birth_date
    values: dict[str, Any] = {
        "country": doc.issuing_country,
        "id_number": doc.document_number,
        "surname": doc.surname,
        "given_names": doc.given_names,
        "birth_date": printed.isoformat(),
        "birth_place": doc.birth_place,
        "gender": doc.sex,
        "issuance_date": doc.issue_date.isoformat(),
        "expiry_date": doc.expiry_date.isoformat(),
        "mrz1": doc.mrz_lines[0],
        "mrz2": doc.mrz_lines[1],
    }
    if misread:
        values[misread[0]] = misread[1]
    confidences = _confidences(rng, list(values), misread[0] if misread else None)
    prediction = {
        key: (
            [_mindee_field(rng, given, confidences[key]) for given in value.split()]
            if key == "given_names"
            else _mindee_field(rng, value, confidences[key])
        )
        for key, value in values.items()
    }
    document = _mindee_document(
        rng,
        prediction=prediction,
        product="mindee/passport",
        version="1.1",
        name=name,
        started=started,
    )
    raw = {
        "api_request": mindee_api_request(f"{MINDEE_API}{MINDEE_PASSPORT}/predict", 201),
        "document": document,
    }
    mapping = {
        "given_names": "first_name",
        "surname": "last_name",
        "id_number": "document_number",
        "birth_date": "date_of_birth",
        "gender": "gender",
        "issuance_date": "issue_date",
        "expiry_date": "expiry_date",
        "country": "issuing_country",
    }
    ocr = _mindee_ocr("mindee_passport", doc, values, confidences, mapping)
    report = _mindee_report(
        source="mindee_passport",
        raw=raw,
        product_operation="passport",
        confidences=confidences,
        required=("given_names", "surname", "birth_date", "id_number", "expiry_date"),
        external_id=document["id"],
    )
    return report, ocr


def mindee_international_id(
    rng: random.Random,
    doc: IdentityDocument,
    *,
    name: str,
    started: dt.datetime,
    misread: tuple[str, str] | None = None,
) -> tuple[ReportData, OcrData]:
    """Mindee V1 `mindee/international_id/v2` asynchronous result (vendor-apis.md 3.2, 3.3)."""
    printed = doc.printed_birth_date or doc.birth_date
    values: dict[str, Any] = {
        "document_type": "IDENTIFICATION_CARD",
        "document_number": doc.document_number,
        "surnames": doc.surname,
        "given_names": doc.given_names,
        "sex": doc.sex,
        "birth_date": printed.isoformat(),
        "birth_place": doc.birth_place,
        "nationality": doc.nationality,
        "personal_number": "",
        "country_of_issue": doc.issuing_country,
        "state_of_issue": "",
        "issue_date": doc.issue_date.isoformat(),
        "expiry_date": doc.expiry_date.isoformat(),
        "address": doc.address,
        "mrz_line1": doc.mrz_lines[0],
        "mrz_line2": doc.mrz_lines[1],
        "mrz_line3": doc.mrz_lines[2] if len(doc.mrz_lines) > 2 else "",
    }
    if misread:
        values[misread[0]] = misread[1]
    confidences = _confidences(rng, list(values), misread[0] if misread else None)
    prediction: dict[str, Any] = {}
    for key, value in values.items():
        if key == "document_type":
            prediction[key] = {"value": value, "confidence": round(confidences[key], 2)}
        elif key in ("surnames", "given_names"):
            prediction[key] = [_mindee_field(rng, part, confidences[key]) for part in value.split()]
        else:
            # Mindee reports a field it could not read as "N/A" (the SDK maps it to None).
            prediction[key] = _mindee_field(rng, value or "N/A", confidences[key] if value else 0.0)
    document = _mindee_document(
        rng,
        prediction=prediction,
        product="mindee/international_id",
        version="2.2",
        name=name,
        started=started,
    )
    job_id = uuid4(rng)
    raw = {
        "api_request": mindee_api_request(
            f"{MINDEE_API}{MINDEE_INTERNATIONAL_ID}/documents/{document['id']}",
            200,
            resources=("document", "job"),
        ),
        "document": document,
        "job": mindee_job(
            job_id,
            "completed",
            issued_at=started.isoformat(),
            available_at=(started + dt.timedelta(seconds=6)).isoformat(),
        ),
    }
    confidences = {key: value for key, value in confidences.items() if values[key]}
    mapping = {
        "document_type": "document_type",
        "given_names": "first_name",
        "surnames": "last_name",
        "document_number": "document_number",
        "birth_date": "date_of_birth",
        "sex": "gender",
        "nationality": "nationality",
        "country_of_issue": "issuing_country",
        "issue_date": "issue_date",
        "expiry_date": "expiry_date",
        "address": "address",
    }
    ocr = _mindee_ocr("mindee_international_id", doc, values, confidences, mapping)
    ocr = replace(ocr, fields={**ocr.fields, "personal_id_number": ""})
    report = _mindee_report(
        source="mindee_international_id",
        raw=raw,
        product_operation="international_id",
        confidences=confidences,
        required=("given_names", "surnames", "birth_date", "document_number", "expiry_date"),
        external_id=document["id"],
    )
    return report, ocr

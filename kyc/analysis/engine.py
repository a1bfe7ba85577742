"""The built-in engine's one entry point: `analyse(bytes, content_type, kind=..., customer=...)`.

Both the `local` provider (kyc.providers.local, run by the task worker) and the `analyse`
management command call this, so a file analysed on the command line gives exactly what the
worker would store.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kyc.analysis import identity
from kyc.analysis.findings import Finding, flag, info, suspicious
from kyc.analysis.image import (
    MAX_PIXELS,
    ImageAnalysis,
    ImageRefused,
    analyse_image,
    open_image,
    upright,
)
from kyc.analysis.mrz import MrzResult, parse_mrz
from kyc.analysis.ocr import MrzReading, OcrUnavailable, read_mrz
from kyc.analysis.pdf import PdfAnalysis, analyse_pdf

if TYPE_CHECKING:
    from PIL import Image

    from kyc.providers.base import CustomerInput

logger = logging.getLogger(__name__)


def _(text: str) -> str:
    """gettext_noop: marks a title for `makemessages` without importing Django here."""
    return text


IDENTITY_KINDS = frozenset({"id_card", "passport", "residence_permit"})
PDF = "application/pdf"
# What Pillow decodes here (HEIC needs a plug-in we do not ship).
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/tiff", "image/webp", "image/gif", "image/bmp"}
)


def supported(content_type: str) -> bool:
    return content_type == PDF or content_type in IMAGE_TYPES


@dataclass(frozen=True)
class Analysis:
    """Everything the engine found about one file."""

    content_type: str
    kind: str
    forensics: tuple[Finding, ...]
    # Only for identity documents: the MRZ reading, its parse and the findings about it.
    identity_document: bool = False
    reading: MrzReading | None = None
    mrz: MrzResult | None = None
    mrz_findings: tuple[Finding, ...] = ()
    artemis: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def forensics_flag(self) -> tuple[str, float]:
        return flag(self.forensics)

    @property
    def mrz_flag(self) -> tuple[str, float]:
        return flag(self.mrz_findings)

    def check_digits(self) -> dict[str, Any]:
        if self.mrz is None:
            return {}
        return {c.name: c.as_dict() for c in self.mrz.checks}

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable, dates as ISO strings."""
        forensics_color, forensics_value = self.forensics_flag
        data: dict[str, Any] = {
            "content_type": self.content_type,
            "kind": self.kind,
            "seconds": round(self.seconds, 3),
            "facts": self.facts,
            "forensics": {
                "flag": {"color": forensics_color, "value": forensics_value},
                "reasons": [f.as_dict() for f in self.forensics],
            },
            "identity_document": self.identity_document,
        }
        if self.identity_document:
            mrz_color, mrz_value = self.mrz_flag
            data["mrz"] = {
                "flag": {"color": mrz_color, "value": mrz_value},
                "reasons": [f.as_dict() for f in self.mrz_findings],
                "reading": self.reading.as_dict() if self.reading else None,
                "parsed": self.mrz.as_dict() if self.mrz else None,
                "check_digits": self.check_digits(),
                "artemis": self.artemis,
                "confidence": self.confidence,
            }
        return data


def _pictures_in_pdf(data: bytes, *, limit_pages: int = 2) -> list[Image.Image]:
    """The pictures on the first pages of a PDF, largest first (a scanned ID card is one).

    Sizes are checked from the image dictionaries before anything is decoded: a small PDF can
    hold a picture that decompresses to gigabytes.
    """
    from pypdf import PdfReader

    pictures: list[Image.Image] = []
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return []
        for page in list(reader.pages)[:limit_pages]:
            resources = page.get("/Resources")
            xobjects = resources.get_object().get("/XObject") if resources else None
            for name, ref in (xobjects.get_object() if xobjects else {}).items():
                xobject = ref.get_object()
                if xobject.get("/Subtype") != "/Image":
                    continue
                pixels = int(xobject.get("/Width", 0)) * int(xobject.get("/Height", 0))
                if not 0 < pixels <= MAX_PIXELS:
                    continue
                try:
                    pictures.append(upright(open_image(page.images[name].data)))
                except (ImageRefused, KeyError, ValueError):
                    continue
    except Exception:  # the forensics report already says why the PDF is bad
        logger.debug("no pictures from PDF", exc_info=True)
    pictures.sort(key=lambda p: p.width * p.height, reverse=True)
    return pictures


def _read_identity(
    pictures: list[Image.Image], *, kind: str, customer: Any, today: dt.date
) -> tuple[MrzReading | None, MrzResult | None, list[Finding]]:
    if not pictures:
        return (
            None,
            None,
            [
                suspicious(
                    "mrz_missing",
                    _("No MRZ read"),
                    "no picture to read a machine readable zone from",
                )
            ],
        )
    reading: MrzReading | None = None
    result: MrzResult | None = None
    try:
        for picture in pictures[:3]:
            reading = read_mrz(picture)
            if reading.found:
                result = parse_mrz(reading.lines, today=today)
                break
    except OcrUnavailable as exc:
        return None, None, [info("ocr_unavailable", _("MRZ reader unavailable"), str(exc))]
    except Exception as exc:  # the OCR runtime failing on one picture must not lose the report
        logger.exception("MRZ reading failed")
        return (
            None,
            None,
            [
                suspicious(
                    "mrz_error", _("MRZ reading failed"), f"{type(exc).__name__}: {exc}"[:300]
                )
            ],
        )
    findings = identity.mrz_findings(result, reading, kind=kind, customer=customer, today=today)
    return reading, result, findings


def analyse(
    data: bytes,
    content_type: str,
    *,
    kind: str,
    customer: CustomerInput | None = None,
    today: dt.date | None = None,
) -> Analysis:
    """Forensics on any supported file, plus MRZ reading on identity documents.

    Never raises on bad input: a broken, encrypted or oversized file ends as findings. Raises
    ValueError only for a content type we do not read at all (callers check `supported()`).
    """
    started = time.perf_counter()
    today = today or dt.date.today()
    if not supported(content_type):
        raise ValueError(f"unsupported content type: {content_type}")
    siren = ""
    if customer is not None and getattr(customer, "kind", "") == "company":
        siren = (getattr(customer, "siren", "") or getattr(customer, "siret", "")[:9]).strip()
    pictures: list[Image.Image] = []
    facts: dict[str, Any]
    if content_type == PDF:
        pdf: PdfAnalysis = analyse_pdf(data, kind=kind, customer_siren=siren, today=today)
        forensics = pdf.findings
        facts = {"pdf": pdf.facts.as_dict()}
        if kind in IDENTITY_KINDS and pdf.facts.readable:
            pictures = _pictures_in_pdf(data)
    else:
        image: ImageAnalysis = analyse_image(data, kind=kind)
        forensics = image.findings
        facts = {"image": image.facts.as_dict()}
        if image.image is not None:
            pictures = [image.image]
    if kind not in IDENTITY_KINDS:
        return Analysis(
            content_type=content_type,
            kind=kind,
            forensics=forensics,
            facts=facts,
            seconds=time.perf_counter() - started,
        )
    reading, result, mrz_findings = _read_identity(
        pictures, kind=kind, customer=customer, today=today
    )
    return Analysis(
        content_type=content_type,
        kind=kind,
        forensics=forensics,
        identity_document=True,
        reading=reading,
        mrz=result,
        mrz_findings=tuple(mrz_findings),
        artemis=identity.artemis_fields(result, reading),
        confidence=identity.field_confidence(result, reading),
        facts=facts,
        seconds=time.perf_counter() - started,
    )

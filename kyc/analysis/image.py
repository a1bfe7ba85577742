"""Image forensics: what a picture's metadata says about the software that touched it.

Pure functions on bytes. A photo without EXIF is normal (messaging apps and most upload forms
strip it): that is never a reason on its own. What counts is positive evidence of an editor (EXIF
Software, XMP CreatorTool, PNG text chunks) and a modification time later than the capture time.

Pictures are refused from their header alone when they claim more pixels than MAX_PIXELS (a
"decompression bomb" would take gigabytes to decode): that is a finding, not a crash.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

from kyc.analysis import editors
from kyc.analysis.findings import Finding, fraudulent, info, suspicious

# Pillow's own default (about 89 megapixels, a 256 MB RGB buffer): a 50 Mpx phone photo fits.
MAX_PIXELS = 89_478_485
MODIFIED_AFTER_CAPTURE = dt.timedelta(minutes=1)


def gettext_noop(text: str) -> str:
    return text


_ = gettext_noop


class ImageRefused(ValueError):
    """The picture cannot be decoded safely or at all; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def open_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode `data` into a Pillow image, refusing bombs from the header before any pixel is
    decoded."""
    # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; we refuse at our own
    # limit and turn both into one clear error, without touching Pillow's process-wide setting.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise ImageRefused(
                    "too_many_pixels",
                    f"{image.width} x {image.height} pixels is more than the "
                    f"{max_pixels // 1_000_000} megapixels we decode",
                )
            image.load()
        except ImageRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRefused(
                "too_many_pixels",
                f"the picture is larger than the {max_pixels // 1_000_000} megapixels we decode "
                f"(Pillow: {exc})",
            ) from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise ImageRefused("unreadable", f"{type(exc).__name__}: {exc}"[:300]) from exc
    return image


def upright(image: Image.Image) -> Image.Image:
    """`image` turned the way its EXIF orientation tag says (phones store pictures sideways)."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # a broken orientation tag must not lose the picture
        return image


@dataclass(frozen=True)
class ImageFacts:
    format: str = ""
    width: int = 0
    height: int = 0
    mode: str = ""
    exif: dict[str, str] = field(default_factory=dict)
    software: str = ""
    captured: dt.datetime | None = None
    modified: dt.datetime | None = None
    text_chunks: dict[str, str] = field(default_factory=dict)
    xmp_creator_tool: str = ""
    photoshop_history: bool = False
    error: str = ""
    error_code: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "mode": self.mode,
            "exif": dict(self.exif),
            "software": self.software,
            "captured": self.captured.isoformat() if self.captured else None,
            "modified": self.modified.isoformat() if self.modified else None,
            "text_chunks": dict(self.text_chunks),
            "xmp_creator_tool": self.xmp_creator_tool,
            "photoshop_history": self.photoshop_history,
            "error": self.error,
            "error_code": self.error_code,
        }


@dataclass(frozen=True)
class ImageAnalysis:
    facts: ImageFacts
    findings: tuple[Finding, ...]
    image: Image.Image | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"facts": self.facts.as_dict(), "findings": [f.as_dict() for f in self.findings]}


_EXIF_NAMES = {
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x0132: "DateTime",
    0x000B: "ProcessingSoftware",
    0x013B: "Artist",
    0x9003: "DateTimeOriginal",
    0x9004: "DateTimeDigitized",
}


def _exif_date(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except (ValueError, AttributeError):
        return None


def _text(value: Any, limit: int = 300) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", "").strip()[:limit]


def image_facts(image: Image.Image, data: bytes) -> ImageFacts:
    exif_values: dict[str, str] = {}
    try:
        exif = image.getexif()
        for tag, name in _EXIF_NAMES.items():
            if tag in exif:
                exif_values[name] = _text(exif[tag])
        sub = exif.get_ifd(0x8769)
        for tag in (0x9003, 0x9004):
            if tag in sub:
                exif_values[_EXIF_NAMES[tag]] = _text(sub[tag])
    except Exception:  # a corrupt EXIF block counts as none
        exif_values = {}
    chunks = {}
    for key, value in (getattr(image, "text", None) or {}).items():
        chunks[_text(key, 80)] = _text(value)
    xmp = image.info.get("xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode()
    if not xmp:
        start = data.find(b"<x:xmpmeta")
        xmp = data[start : start + 50_000] if start >= 0 else b""
    tool = re.search(rb'CreatorTool(?:="|>)([^"<]+)', xmp)
    return ImageFacts(
        format=image.format or "",
        width=image.width,
        height=image.height,
        mode=image.mode,
        exif=exif_values,
        software=exif_values.get("Software") or exif_values.get("ProcessingSoftware", ""),
        captured=_exif_date(exif_values.get("DateTimeOriginal", "")),
        modified=_exif_date(exif_values.get("DateTime", "")),
        text_chunks=chunks,
        xmp_creator_tool=tool.group(1).decode("utf-8", "replace").strip() if tool else "",
        photoshop_history=b"photoshop:History" in xmp or b"stEvt:softwareAgent" in xmp,
    )


def _software_findings(facts: ImageFacts, kind: str) -> list[Finding]:
    sources = {"exif_software": facts.software, "xmp_creator_tool": facts.xmp_creator_tool}
    for key, value in facts.text_chunks.items():
        sources[f"png_text:{key}"] = f"{key}: {value}"
    found: list[Finding] = []
    seen: set[str] = set()
    for where, value in sources.items():
        editor = editors.match(value)
        if editor is None or editor.name in seen:
            continue
        seen.add(editor.name)
        level = editors.level_for(editor, kind, container="image")
        make = suspicious if level else info
        found.append(
            make(
                "software",
                _("Editing software"),
                f"{where.replace('_', ' ')} names {editor.name}: {value!r}",
                field=where,
                value=value,
                software=editor.name,
                category=editor.category,
            )
        )
    if facts.photoshop_history and "Adobe Photoshop" not in seen:
        found.append(
            suspicious(
                "software",
                _("Editing history"),
                "the XMP packet records an editing history",
                field="xmp_history",
            )
        )
    return found


def _time_findings(facts: ImageFacts) -> list[Finding]:
    criteria: dict[str, str | int | None] = {
        "creationDate": facts.captured.isoformat() if facts.captured else None,
        "modDate": facts.modified.isoformat() if facts.modified else None,
        "modCreationDiff": None,
    }
    if not facts.captured or not facts.modified:
        return []
    delta = facts.modified - facts.captured
    criteria["modCreationDiff"] = int(delta.total_seconds() * 1000)
    if delta > MODIFIED_AFTER_CAPTURE:
        hours = delta.total_seconds() / 3600
        when = f"{hours / 24:.2f} days" if hours >= 24 else f"{hours:.1f} hours"
        return [
            suspicious(
                "time",
                _("Capture/Modification Time"),
                f"saved {when} after the picture was taken",
                **criteria,
            )
        ]
    if delta < -MODIFIED_AFTER_CAPTURE:
        return [
            suspicious(
                "time",
                _("Capture/Modification Time"),
                "the modification time is before the capture time",
                **criteria,
            )
        ]
    return [
        info(
            "time",
            _("Capture/Modification Time"),
            "not modified after capture",
            positive=True,
            **criteria,
        )
    ]


# Bytes after a picture's end marker are ignored by viewers, which is how polyglot files hide
# HTML, scripts or a second file behind a valid picture. A few bytes of padding are common.
_END_MARKERS = {"PNG": b"IEND\xaeB`\x82", "JPEG": b"\xff\xd9"}
_TRAILING_TOLERANCE = 64
_ACTIVE_CONTENT = re.compile(rb"<\s*(?:script|html|svg|iframe|body)\b|javascript:", re.IGNORECASE)


def _trailing_data_findings(image_format: str, data: bytes) -> list[Finding]:
    marker = _END_MARKERS.get(image_format)
    if marker is None:
        return []
    end = data.rfind(marker)
    if end < 0:
        return []
    trailing = data[end + len(marker) :]
    if len(trailing.strip(b"\x00\r\n\t ")) <= _TRAILING_TOLERANCE:
        return []
    if _ACTIVE_CONTENT.search(trailing):
        return [
            fraudulent(
                "polyglot",
                _("Hidden content after the picture"),
                f"{len(trailing)} bytes after the end of the {image_format} picture contain "
                "HTML or script: a polyglot file",
                trailingBytes=len(trailing),
            )
        ]
    return [
        suspicious(
            "trailing_data",
            _("Data after the picture"),
            f"{len(trailing)} bytes follow the end of the {image_format} picture",
            trailingBytes=len(trailing),
        )
    ]


def analyse_image(data: bytes, *, kind: str = "other") -> ImageAnalysis:
    """Forensic findings on a picture, and the decoded picture itself (for the MRZ reader).
    Never raises on bad input: an unreadable or oversized picture is a finding."""
    try:
        image = open_image(data)
    except ImageRefused as refused:
        title = _("Image too large") if refused.code == "too_many_pixels" else _("Unreadable image")
        detail = (
            refused.message
            if refused.code == "too_many_pixels"
            else "the file is damaged or not an image we can decode"
        )
        facts = ImageFacts(error=refused.message, error_code=refused.code)
        return ImageAnalysis(
            facts, (suspicious(refused.code, title, detail, error=refused.message),), None
        )
    facts = image_facts(image, data)
    findings: list[Finding] = []
    findings.extend(_software_findings(facts, kind))
    findings.extend(_time_findings(facts))
    findings.extend(_trailing_data_findings(facts.format, data))
    if facts.text_chunks and not any(
        f.criteria.get("field", "").startswith("png_text") for f in findings
    ):
        findings.append(
            info(
                "png_text",
                _("PNG text chunks"),
                "; ".join(f"{k}: {v[:80]}" for k, v in facts.text_chunks.items()),
                chunks=facts.text_chunks,
            )
        )
    if not facts.exif:
        findings.append(
            info(
                "metadata",
                _("No camera metadata"),
                "no EXIF data (usual for pictures sent through messaging apps or upload forms)",
            )
        )
    elif not any(f.level for f in findings):
        described = ", ".join(
            f"{k}: {v}" for k, v in facts.exif.items() if k in ("Make", "Model", "Software")
        )
        findings.append(
            info(
                "metadata",
                _("Camera metadata"),
                described or "EXIF present",
                positive=True,
                **facts.exif,
            )
        )
    findings.insert(
        0,
        info(
            "image",
            _("Picture"),
            f"{facts.format} {facts.width} x {facts.height} pixels",
            format=facts.format,
            width=facts.width,
            height=facts.height,
        ),
    )
    return ImageAnalysis(facts, tuple(findings), upright(image))

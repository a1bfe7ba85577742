"""PDF forensics: what the file's structure and metadata say about its history.

Pure function on bytes (`analyse_pdf`). pypdf reads the objects; the revision count, the
linearization dictionary and signature byte ranges are read from the raw bytes, because that is
where the evidence is (pypdf merges revisions into one view).

Signals, each with the reason it matters:
- Info and XMP metadata: producer, creator, XMP CreatorTool against kyc.analysis.editors;
  creation vs modification date (Doc X-Ray's "time" check); Info vs XMP disagreement (editors
  often update one and not the other).
- Revisions: every save "in place" appends a revision (its own xref and %%EOF). A linearized
  ("fast web view") file legitimately has two xref sections and two %%EOF in a single save, so
  it is counted as one revision.
- Active or hidden content: JavaScript, embedded files, form fields.
- Digital signatures: present or not (not cryptographically verified here), and whether bytes
  were appended after the signed byte range.
- Text layer: a generated statement has one; a scan does not (and cannot be checked for edited
  text).
- SIREN / SIRET numbers found in the text, compared with the customer's.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from kyc.analysis import editors
from kyc.analysis.findings import (
    FRAUDULENT,
    SUSPICIOUS,
    Finding,
    Text,
    fraudulent,
    info,
    suspicious,
)
from kyc.analysis.findings import text as msg

logger = logging.getLogger(__name__)

MAX_TEXT_PAGES = 20  # text extraction is the slow part; statements are rarely longer
MAX_WALK = 20_000  # objects visited looking for JavaScript and attachments
SAME_TIME = dt.timedelta(minutes=10)
LATE_MODIFICATION = dt.timedelta(days=1)


def gettext_noop(text: str) -> str:
    """Marks a title for `makemessages` without importing Django here."""
    return text


_ = gettext_noop


@dataclass(frozen=True)
class Signature:
    byte_range: tuple[int, int, int, int]
    covers_until: int
    appended_bytes: int
    appended_revision: bool
    consistent: bool
    signing_time: str = ""
    field_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "byte_range": list(self.byte_range),
            "covers_until": self.covers_until,
            "appended_bytes": self.appended_bytes,
            "appended_revision": self.appended_revision,
            "consistent": self.consistent,
            "signing_time": self.signing_time,
            "field_name": self.field_name,
        }


@dataclass(frozen=True)
class Action:
    """An action the PDF asks its reader to perform, and what sets it off.

    `kind` is the action type as the file names it ("/Launch", "/URI", "/SubmitForm"...), or a
    multimedia annotation's subtype ("/RichMedia"). `trigger`: "open" (the catalog's
    /OpenAction), "document" (the catalog's /AA: close, save, print), "page" (a page's /AA: it
    opens or closes), "field" (an annotation's or form field's /AA: focus, keystroke, mouse
    over), "click" (a link's or button's /A), "media" (an annotation that plays itself), or
    "other" (reached another way, e.g. from a bookmark). `target`: what it runs, opens or sends
    to, as written in the file (invisible characters removed, bounded).
    """

    kind: str
    trigger: str
    target: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"type": self.kind, "trigger": self.trigger, "target": self.target}


@dataclass(frozen=True)
class PdfFacts:
    size: int
    readable: bool = False
    encrypted: bool = False
    pages: int = 0
    info: dict[str, str] = field(default_factory=dict)
    xmp: dict[str, str] = field(default_factory=dict)
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    xmp_created: dt.datetime | None = None
    xmp_modified: dt.datetime | None = None
    startxref_count: int = 0
    eof_count: int = 0
    linearized: bool = False
    linearized_length: int | None = None
    revisions: int = 0
    trailing_bytes: int = 0
    javascript: bool = False
    embedded_files: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    form_fields: tuple[str, ...] = ()
    signatures: tuple[Signature, ...] = ()
    text_chars: int = 0
    text_pages: int = 0
    image_pages: int = 0
    sirens: tuple[str, ...] = ()
    sirets: tuple[str, ...] = ()
    error: str = ""

    @property
    def incremental_updates(self) -> int:
        return max(0, self.revisions - 1)

    def as_dict(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "size": self.size,
            "readable": self.readable,
            "encrypted": self.encrypted,
            "pages": self.pages,
            "info": dict(self.info),
            "xmp": dict(self.xmp),
            "created": iso(self.created),
            "modified": iso(self.modified),
            "xmp_created": iso(self.xmp_created),
            "xmp_modified": iso(self.xmp_modified),
            "startxref_count": self.startxref_count,
            "eof_count": self.eof_count,
            "linearized": self.linearized,
            "linearized_length": self.linearized_length,
            "revisions": self.revisions,
            "incremental_updates": self.incremental_updates,
            "trailing_bytes": self.trailing_bytes,
            "javascript": self.javascript,
            "embedded_files": list(self.embedded_files),
            "actions": [action.as_dict() for action in self.actions],
            "form_fields": list(self.form_fields),
            "signatures": [s.as_dict() for s in self.signatures],
            "text_chars": self.text_chars,
            "text_pages": self.text_pages,
            "image_pages": self.image_pages,
            "sirens": list(self.sirens),
            "sirets": list(self.sirets),
            "error": self.error,
        }


@dataclass(frozen=True)
class PdfAnalysis:
    facts: PdfFacts
    findings: tuple[Finding, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"facts": self.facts.as_dict(), "findings": [f.as_dict() for f in self.findings]}


# ------------------------------------------------------------------------------ raw structure

_PDF_DATE = re.compile(
    r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(Z|[+-]\d{2}'?\d{0,2}'?)?"
)
_ISO_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def _tz(text: str | None) -> dt.tzinfo | None:
    if not text:
        return None
    if text == "Z":
        return dt.UTC
    digits = re.sub(r"[^0-9]", "", text[1:])
    hours, minutes = int(digits[:2] or 0), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if text[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def parse_pdf_date(value: Any) -> dt.datetime | None:
    """A PDF date string ("D:20210901005216+02'00'") as a datetime (aware when it says its
    offset), or None if it is not one."""
    if not value:
        return None
    match = _PDF_DATE.match(str(value).strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        return dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=_tz(zone),
        )
    except ValueError:
        return None


def parse_iso_date(value: str) -> dt.datetime | None:
    match = _ISO_DATE.match(value.strip()) if value else None
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=_tz(zone),
        )
    except ValueError:
        return None


def difference(later: dt.datetime, earlier: dt.datetime) -> tuple[dt.timedelta, bool]:
    """`later - earlier`, and whether it is exact. When only one of the two says its UTC offset,
    they are compared as wall-clock times and the result is inexact (up to 14 hours off)."""
    if (later.tzinfo is None) == (earlier.tzinfo is None):
        return later - earlier, True
    return later.replace(tzinfo=None) - earlier.replace(tzinfo=None), False


# Whitespace and the NUL bytes scanners and mail gateways pad files with: no reader gives them a
# meaning, so they are not "data" after the end of a file or after a signed range.
PADDING = b"\x00\t\n\x0b\x0c\r "


def _without_padding(data: bytes) -> bytes:
    return data.strip(PADDING)


def _raw_structure(data: bytes) -> dict[str, Any]:
    startxrefs = len(re.findall(rb"(?<![A-Za-z])startxref\b", data))
    eofs = [m.end() for m in re.finditer(rb"%%EOF", data)]
    head = data[:2048]
    linearized = re.search(rb"/Linearized\s+[\d.]+", head) is not None
    length_match = re.search(rb"/Linearized[^>]*?/L\s+(\d+)", head, re.DOTALL)
    trailing = len(_without_padding(data[eofs[-1] :])) if eofs else 0
    # One xref section per save; a linearized file has one more (the first-page one).
    sections = max(startxrefs, len(eofs))
    revisions = max(1, sections - (1 if linearized and sections >= 2 else 0))
    return {
        "startxref_count": startxrefs,
        "eof_count": len(eofs),
        "linearized": linearized,
        "linearized_length": int(length_match.group(1)) if length_match else None,
        "revisions": revisions,
        "trailing_bytes": trailing,
    }


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _signatures(data: bytes) -> tuple[Signature, ...]:
    found = []
    for match in _BYTE_RANGE.finditer(data):
        a, b, c, d = (int(x) for x in match.groups())
        covers_until = c + d
        # The signed ranges must start at 0 and leave out exactly the /Contents hex string.
        consistent = (
            a == 0
            and 0 < b < c <= len(data)
            and data[b : b + 1] == b"<"
            and data[c - 1 : c] == b">"
            and covers_until <= len(data)
        )
        tail = data[covers_until:] if covers_until <= len(data) else b""
        appended = len(_without_padding(tail))
        window = data[max(0, match.start() - 2000) : match.end() + 4000]
        when = re.search(rb"/M\s*\((D:[^)]*)\)", window)
        found.append(
            Signature(
                byte_range=(a, b, c, d),
                covers_until=covers_until,
                appended_bytes=appended,
                appended_revision=b"startxref" in tail,
                consistent=consistent,
                signing_time=when.group(1).decode("latin-1") if when else "",
            )
        )
    return tuple(found)


# ------------------------------------------------------------------------------------ XMP


def _xmp_values(xml: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key in ("xmp:CreatorTool", "xmp:CreateDate", "xmp:ModifyDate", "pdf:Producer"):
        element = re.search(rf"<{key}>\s*(?:<rdf:Alt>\s*<rdf:li[^>]*>)?([^<]*)<", xml)
        attribute = re.search(rf'{key}="([^"]*)"', xml)
        found = element or attribute
        if found and found.group(1).strip():
            values[key] = found.group(1).strip()
    return values


def _xmp_from_reader(reader: Any, data: bytes) -> dict[str, str]:
    xml = ""
    try:
        metadata = reader.trailer["/Root"].get("/Metadata")
        if metadata is not None:
            xml = metadata.get_object().get_data().decode("utf-8", "replace")
    except Exception:  # a broken metadata stream is just "no XMP"
        logger.debug("unreadable XMP stream", exc_info=True)
    if not xml:
        start = data.find(b"<x:xmpmeta")
        if start >= 0:
            end = data.find(b"</x:xmpmeta>", start)
            xml = data[start : end if end > 0 else start + 20_000].decode("utf-8", "replace")
    return _xmp_values(xml) if xml else {}


# ------------------------------------------------------------------------------ pypdf walking


# PDF 2.0 (ISO 32000-2) table 201: every action type.
ACTION_TYPES = frozenset(
    {
        "/GoTo", "/GoToR", "/GoToE", "/GoToDp", "/Launch", "/Thread", "/URI", "/Sound",
        "/Movie", "/Hide", "/Named", "/SubmitForm", "/ResetForm", "/ImportData",
        "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView", "/JavaScript",
        "/RichMediaExecute",
    }
)  # fmt: skip
# Moving around inside the document, showing or hiding parts of it: what readers do anyway.
NAVIGATION_ACTIONS = frozenset(
    {"/GoTo", "/GoToDp", "/Thread", "/Hide", "/Named", "/ResetForm", "/SetOCGState", "/Trans",
     "/GoTo3DView"}
)  # fmt: skip
MEDIA_ACTIONS = frozenset({"/Rendition", "/Sound", "/Movie", "/RichMediaExecute"})
MEDIA_ANNOTATIONS = frozenset({"/RichMedia", "/Movie", "/Sound"})
# Triggers that need no click: the file, a page or a field does it by itself (or on hover).
AUTOMATIC_TRIGGERS = frozenset({"open", "document", "page", "field"})
# File types that run code when opened (Windows, macOS, Linux, Android, Java, scripts).
EXECUTABLE_EXTENSIONS = frozenset(
    {
        "exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "msc", "cpl", "dll", "hta",
        "jar", "js", "jse", "vbs", "vbe", "wsf", "wsh", "ps1", "psm1", "lnk", "reg", "scf",
        "inf", "app", "command", "dmg", "pkg", "sh", "run", "apk", "appimage", "deb", "rpm",
        "iso", "application", "appref-ms", "gadget", "xll", "xlam", "docm", "xlsm", "pptm",
    }
)  # fmt: skip
MAX_TARGET = 200
MAX_ACTIONS = 50


def _walk(root: Any) -> Iterator[tuple[Any, str]]:
    """Every dictionary reachable from `root`, each object once, with what sets it off when it
    is an action (see `Action.trigger`)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Any, str]] = [(root, "other")]
    visited = 0
    while stack and visited < MAX_WALK:
        item, trigger = stack.pop()
        if isinstance(item, IndirectObject):
            ref = (item.idnum, item.generation)
            if ref in seen:
                continue
            seen.add(ref)
            try:
                item = item.get_object()
            except Exception:  # noqa: S112 - a dangling reference in a damaged file
                continue
        visited += 1
        if isinstance(item, DictionaryObject):
            yield item, trigger
            for key, value in item.items():
                if key in ("/Parent", "/P"):
                    continue
                if key == "/AA":
                    # Additional actions: a dictionary of events, each value an action.
                    events = _resolved_or_none(value)
                    if isinstance(events, DictionaryObject):
                        event_trigger = _event_trigger(item)
                        stack.extend((action, event_trigger) for action in events.values())
                    continue
                stack.append((value, _child_trigger(str(key), trigger)))
        elif isinstance(item, ArrayObject):
            stack.extend((value, trigger) for value in item)


def _child_trigger(key: str, trigger: str) -> str:
    if key == "/OpenAction":
        return "open"
    if key == "/A":
        return "click"
    if key == "/Next":  # actions chained after this one run when it runs
        return trigger
    return "other"


def _event_trigger(owner: Any) -> str:
    kind = str(owner.get("/Type", ""))
    if kind == "/Catalog" or "/Pages" in owner:
        return "document"
    if kind == "/Page":
        return "page"
    return "field"


def _resolved_or_none(value: Any) -> Any:
    try:
        return value.get_object() if hasattr(value, "get_object") else value
    except Exception:  # a dangling reference
        return None


def _string(value: Any) -> str:
    """A PDF string (text or bytes) as text, cleaned for showing, bounded."""
    from kyc.names import visible

    value = _resolved_or_none(value)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    elif not isinstance(value, str):
        return ""
    return visible(value).strip()[:MAX_TARGET]


def _file_spec(value: Any) -> str:
    """The file a file specification names: a string, or a dictionary's /UF, /F or the
    platform-specific entries."""
    value = _resolved_or_none(value)
    if hasattr(value, "keys"):
        for key in ("/UF", "/F", "/Unix", "/DOS", "/Mac"):
            if key in value:
                return _string(value[key])
        return ""
    return _string(value)


def _target(action: Any, kind: str) -> str:
    if kind == "/Launch":
        for platform in ("/Win", "/Unix", "/Mac"):
            spec = _resolved_or_none(action.get(platform))
            if hasattr(spec, "keys"):
                command = _file_spec(spec.get("/F"))
                parameters = _string(spec.get("/P"))
                return f"{command} {parameters}".strip()[:MAX_TARGET]
        return _file_spec(action.get("/F"))
    if kind == "/URI":
        return _string(action.get("/URI"))
    if kind == "/Rendition":
        rendition = _resolved_or_none(action.get("/R"))
        clip = _resolved_or_none(rendition.get("/C")) if hasattr(rendition, "keys") else None
        return _file_spec(clip.get("/D")) if clip is not None and hasattr(clip, "keys") else ""
    return _file_spec(action.get("/F"))


def _active_content(reader: Any, data: bytes) -> tuple[bool, tuple[str, ...], tuple[Action, ...]]:
    """Whether the file holds JavaScript, the names of the files embedded in it, and the
    actions it asks its reader to perform (navigation inside the document left out)."""
    # Only the long names in the raw bytes: "/JS" is three bytes that compressed streams
    # contain by chance; the object walk below finds /JS keys wherever they are. The raw search
    # also covers what the walk cannot reach (a damaged or very large object graph).
    javascript = re.search(rb"/JavaScript\b", data) is not None
    names: list[str] = []
    actions: list[Action] = []
    for item, trigger in _walk(reader.trailer["/Root"]):
        if "/JS" in item or "/JavaScript" in item:
            javascript = True
        if "/EF" in item:
            names.append("")
        kind = str(item.get("/S", ""))
        if kind in ACTION_TYPES or (str(item.get("/Type", "")) == "/Action" and kind):
            if kind == "/JavaScript":
                javascript = True
            elif kind not in NAVIGATION_ACTIONS:
                action = Action(kind, trigger, _target(item, kind))
                if kind == "/URI" and action.target.lower().startswith("javascript:"):
                    javascript = True
                if len(actions) < MAX_ACTIONS:
                    actions.append(action)
        elif str(item.get("/Subtype", "")) in MEDIA_ANNOTATIONS and len(actions) < MAX_ACTIONS:
            actions.append(Action(str(item["/Subtype"]), "media"))
    if not any(a.kind == "/Launch" for a in actions) and re.search(rb"/S\s*/Launch\b", data):
        actions.append(Action("/Launch", "other"))
    try:
        attachments = list(reader.attachments)
    except Exception:  # damaged name tree: no attachment list
        attachments = []
    # Names chosen by whoever made the file, shown in the reasons: cleaned like file names.
    files = (
        tuple(_string(name) or "(unnamed)" for name in attachments)
        if attachments
        else tuple("(unnamed)" for _ in names)
    )
    return javascript, files, tuple(actions)


def _form_fields(reader: Any) -> tuple[tuple[str, ...], dict[str, str]]:
    """Names of the non-signature form fields, and signature field names by byte range start."""
    try:
        fields = reader.get_fields() or {}
    except Exception:  # damaged AcroForm: no field list
        return (), {}
    plain, signed = [], {}
    for name, value in fields.items():
        if value.get("/FT") == "/Sig":
            signed[name] = name
        else:
            plain.append(_string(name) or "?")
    return tuple(plain), signed


def _text(reader: Any) -> tuple[str, int, int]:
    chunks, text_pages, image_pages = [], 0, 0
    for index, page in enumerate(reader.pages):
        if index >= MAX_TEXT_PAGES:
            break
        try:
            text = page.extract_text() or ""
        except Exception:  # one bad content stream must not hide the rest
            text = ""
        if sum(c.isalnum() for c in text) >= 20:
            text_pages += 1
        chunks.append(text)
        try:
            # A page without resources or images is no scan.
            resources = page.get("/Resources")
            xobjects = resources.get_object().get("/XObject") if resources is not None else None
            if xobjects is not None and any(
                x.get_object().get("/Subtype") == "/Image" for x in xobjects.get_object().values()
            ):
                image_pages += 1
        except Exception:  # resources are only used to tell scans apart
            logger.debug("unreadable page resources", exc_info=True)
    return "\n".join(chunks), text_pages, image_pages


_ID_CONTEXT = re.compile(r"(SIRE[NT]|R\.?\s?C\.?\s?S|TVA|VAT|immatricul)", re.IGNORECASE)
_DIGITS = re.compile(
    r"(?<![\d])(\d{3}[ \u00a0.]?\d{3}[ \u00a0.]?\d{3}(?:[ \u00a0.]?\d{5})?)(?![\d])"
)
_VAT = re.compile(r"FR\s?[0-9A-Z]{2}\s?(\d{3}\s?\d{3}\s?\d{3})(?!\d)")


def find_company_ids(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Valid SIREN and SIRET numbers in `text` that follow a label saying what they are (a bare
    nine-digit number passes the Luhn check one time in ten: amounts and account numbers would)."""
    sirens: list[str] = []
    sirets: list[str] = []
    for match in _DIGITS.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if not _ID_CONTEXT.search(before):
            continue
        digits = re.sub(r"\D", "", match.group(1))
        if len(digits) == 14 and stdnum_siret.is_valid(digits):
            sirets.append(digits)
            sirens.append(digits[:9])
        elif len(digits) == 9 and stdnum_siren.is_valid(digits):
            sirens.append(digits)
    for match in _VAT.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if stdnum_siren.is_valid(digits):
            sirens.append(digits)
    return tuple(dict.fromkeys(sirens)), tuple(dict.fromkeys(sirets))


# ------------------------------------------------------------------------------------ facts


def _info(reader: Any) -> dict[str, str]:
    try:
        metadata = reader.metadata or {}
    except Exception:  # a damaged Info dictionary counts as none
        return {}
    values = {}
    for key in ("/Producer", "/Creator", "/CreationDate", "/ModDate", "/Author", "/Title"):
        try:
            value = metadata.get(key)
        except Exception:  # one undecodable value must not hide the others
            value = None
        if value:
            values[key.lstrip("/")] = str(value)
    return values


def pdf_facts(data: bytes) -> PdfFacts:
    """Everything we read from a PDF, without judging it."""
    from pypdf import PdfReader

    raw = _raw_structure(data)
    signatures = _signatures(data)
    base = {"size": len(data), "signatures": signatures, **raw}
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except Exception as exc:  # any parser failure is a finding, not a crash
        return PdfFacts(readable=False, error=f"{type(exc).__name__}: {exc}"[:300], **base)
    encrypted = bool(reader.is_encrypted)
    if encrypted:
        try:
            # Owner-password-only files open with an empty user password.
            if not reader.decrypt(""):
                return PdfFacts(readable=False, encrypted=True, error="password required", **base)
        except Exception as exc:  # a broken encryption dictionary: same as a password
            return PdfFacts(
                readable=False, encrypted=True, error=f"{type(exc).__name__}: {exc}"[:300], **base
            )
    try:
        pages = len(reader.pages)
        info_values = _info(reader)
        xmp = _xmp_from_reader(reader, data)
        javascript, files, actions = _active_content(reader, data)
        plain_fields, _sig_fields = _form_fields(reader)
        text, text_pages, image_pages = _text(reader)
    except Exception as exc:  # pypdf raises many types on damaged files
        return PdfFacts(
            readable=False, encrypted=encrypted, error=f"{type(exc).__name__}: {exc}"[:300], **base
        )
    sirens, sirets = find_company_ids(text)
    return PdfFacts(
        readable=True,
        encrypted=encrypted,
        pages=pages,
        info=info_values,
        xmp=xmp,
        created=parse_pdf_date(info_values.get("CreationDate")),
        modified=parse_pdf_date(info_values.get("ModDate")),
        xmp_created=parse_iso_date(xmp.get("xmp:CreateDate", "")),
        xmp_modified=parse_iso_date(xmp.get("xmp:ModifyDate", "")),
        javascript=javascript,
        embedded_files=files,
        actions=actions,
        form_fields=plain_fields,
        text_chars=sum(c.isalnum() for c in text),
        text_pages=text_pages,
        image_pages=image_pages,
        sirens=sirens,
        sirets=sirets,
        **base,
    )


# --------------------------------------------------------------------------------- findings


def _fmt_delta(delta: dt.timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.2f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time_findings(facts: PdfFacts, today: dt.date) -> list[Finding]:
    created = facts.created or facts.xmp_created
    modified = facts.modified or facts.xmp_modified
    last_signing = next((s.signing_time for s in facts.signatures if s.signing_time), "")
    criteria: dict[str, Any] = {
        "creationDate": _iso(created),
        "modDate": _iso(modified),
        "lastSigningTime": _iso(parse_pdf_date(last_signing)) if last_signing else None,
        "modCreationDiff": None,
    }
    found: list[Finding] = []
    title = _("Creation/Modification Time")
    if created and created.date() > today + dt.timedelta(days=1):
        found.append(
            suspicious(
                "time_future",
                _("Creation date in the future"),
                f"created {created:%Y-%m-%d}",
                **criteria,
            )
        )
    if not created or not modified:
        missing = "creation" if not created else "modification"
        found.append(info("time", title, f"no {missing} date in the metadata", **criteria))
        return found
    delta, exact = difference(modified, created)
    criteria["modCreationDiff"] = int(delta.total_seconds() * 1000)
    # Without both UTC offsets, up to 14 hours of difference may be time zones alone.
    slack = dt.timedelta(minutes=1) if exact else dt.timedelta(hours=14)
    if delta < -slack:
        found.append(
            fraudulent(
                "time",
                title,
                f"modified {_fmt_delta(delta)} before it was created",
                **criteria,
            )
        )
    elif delta > max(LATE_MODIFICATION, slack):
        found.append(
            suspicious("time", title, f"modified {_fmt_delta(delta)} after creation", **criteria)
        )
    elif abs(delta) <= max(SAME_TIME, slack if not exact else SAME_TIME):
        found.append(
            info(
                "time",
                title,
                "created and last modified at the same time",
                positive=True,
                **criteria,
            )
        )
    else:
        found.append(
            info("time", title, f"modified {_fmt_delta(delta)} after creation", **criteria)
        )
    return found


def _software_findings(facts: PdfFacts, kind: str) -> list[Finding]:
    sources = {
        "producer": facts.info.get("Producer", ""),
        "creator": facts.info.get("Creator", ""),
        "xmp_creator_tool": facts.xmp.get("xmp:CreatorTool", ""),
        "xmp_producer": facts.xmp.get("pdf:Producer", ""),
    }
    found: list[Finding] = []
    seen: set[str] = set()
    for where, value in sources.items():
        editor = editors.match(value)
        if editor is None or editor.name in seen:
            continue
        seen.add(editor.name)
        level = editors.level_for(editor, kind, container="pdf")
        category = editor.category.replace("_", " ")
        detail = f"{where.replace('_', ' ')} is {value!r} ({editor.name}, {category})"
        criteria: dict[str, Any] = {
            "field": where,
            "value": value,
            "software": editor.name,
            "category": editor.category,
        }
        if level == "fraudulent":
            found.append(fraudulent("software", _("Editing software"), detail, **criteria))
        elif level == "suspicious":
            found.append(suspicious("software", _("Editing software"), detail, **criteria))
        else:
            found.append(info("software", _("Editing software"), detail, **criteria))
    if not found:
        named = {k: v for k, v in sources.items() if v}
        detail = (
            ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in named.items())
            or "no producer or creator recorded"
        )
        found.append(
            info("software", _("Producing software"), detail, positive=bool(named), **named)
        )
    return found


def _same(a: dt.datetime, b: dt.datetime) -> bool:
    delta, exact = difference(a, b)
    if exact:
        return abs(delta) <= dt.timedelta(minutes=2)
    # One side without an offset: equal up to a whole number of hours (a time zone).
    seconds = abs(delta.total_seconds())
    return seconds <= 14 * 3600 and min(seconds % 3600, 3600 - seconds % 3600) <= 120


def _consistency_findings(facts: PdfFacts) -> list[Finding]:
    if not facts.xmp:
        return [
            info("metadata_consistency", _("Info and XMP metadata"), "no XMP metadata to compare")
        ]
    disagreements: dict[str, list[str]] = {}
    pairs = (
        ("producer", facts.info.get("Producer"), facts.xmp.get("pdf:Producer")),
        ("creator", facts.info.get("Creator"), facts.xmp.get("xmp:CreatorTool")),
    )
    for name, left, right in pairs:
        if left and right and left.strip() != right.strip():
            disagreements[name] = [left, right]
    for name, left_date, right_date in (
        ("creation date", facts.created, facts.xmp_created),
        ("modification date", facts.modified, facts.xmp_modified),
    ):
        if left_date and right_date and not _same(left_date, right_date):
            disagreements[name] = [left_date.isoformat(), right_date.isoformat()]
    if disagreements:
        detail = "; ".join(f"{k}: Info {v[0]!r} vs XMP {v[1]!r}" for k, v in disagreements.items())
        return [
            suspicious(
                "metadata_consistency",
                _("Info and XMP metadata disagree"),
                detail,
                disagreements=disagreements,
            )
        ]
    return [
        info(
            "metadata_consistency",
            _("Info and XMP metadata"),
            "Info dictionary and XMP packet agree",
            positive=True,
        )
    ]


def _structure_findings(facts: PdfFacts, kind: str) -> list[Finding]:
    found: list[Finding] = []
    criteria = {
        "revisions": facts.revisions,
        "eofCount": facts.eof_count,
        "startxrefCount": facts.startxref_count,
        "linearized": facts.linearized,
    }
    if facts.incremental_updates:
        found.append(
            suspicious(
                "incremental_update",
                _("Incremental updates"),
                f"{facts.incremental_updates} revision(s) appended after the first save",
                **criteria,
            )
        )
    else:
        note = " (linearized: two cross-reference sections in one save)" if facts.linearized else ""
        found.append(
            info(
                "incremental_update",
                _("Incremental updates"),
                f"saved once{note}",
                positive=True,
                **criteria,
            )
        )
    if (
        facts.linearized
        and facts.linearized_length is not None
        and facts.linearized_length != facts.size
        and not facts.incremental_updates
    ):
        found.append(
            suspicious(
                "linearization",
                _("File length differs from its linearization"),
                f"the file says it is {facts.linearized_length} bytes long, it is {facts.size}",
                declared=facts.linearized_length,
                actual=facts.size,
            )
        )
    if facts.trailing_bytes:
        found.append(
            suspicious(
                "trailing_data",
                _("Data after the end of file"),
                f"{facts.trailing_bytes} bytes after the last %%EOF marker",
                bytes=facts.trailing_bytes,
            )
        )
    if facts.javascript:
        found.append(
            suspicious(
                "javascript", _("JavaScript"), msg(_("the document contains JavaScript actions"))
            )
        )
    if facts.embedded_files:
        found.append(
            suspicious(
                "embedded_files",
                _("Embedded files"),
                msg(
                    _("%(count)s attached file(s): %(files)s"),
                    count=len(facts.embedded_files),
                    files=", ".join(facts.embedded_files),
                ),
                files=list(facts.embedded_files),
            )
        )
    if facts.form_fields:
        level_kind = kind in editors.INSTITUTIONAL_KINDS
        make = suspicious if level_kind else info
        found.append(
            make(
                "form_fields",
                _("Fillable form fields"),
                f"{len(facts.form_fields)} form field(s): {', '.join(facts.form_fields[:10])}",
                fields=list(facts.form_fields),
            )
        )
    return found


# When an action runs, as a phrase the reason's message takes as its %(when)s.
WHEN = {
    "open": _("when it is opened"),
    "document": _("when it is closed, saved or printed"),
    "page": _("when one of its pages is opened or closed"),
    "field": _("when a form field or a link is used"),
    "click": _("when a link or a button is clicked"),
    "media": _("from one of its pages"),
    "other": _("from elsewhere in the document"),
}


def _executable(target: str) -> bool:
    """Whether a link or file name points to a program (by the extension of its path)."""
    from urllib.parse import unquote, urlsplit

    try:
        path = urlsplit(target).path if "://" in target or ":" in target[:10] else target
    except ValueError:
        path = target
    last = unquote(path).replace("\\", "/").rstrip("/ .").rsplit("/", 1)[-1]
    return "." in last and last.rsplit(".", 1)[-1].lower() in EXECUTABLE_EXTENSIONS


def _local_file(target: str) -> bool:
    """Whether a link opens a file on this computer or a network share (file: URLs and UNC
    paths: opening one sends the analyst's Windows credentials to the share's server)."""
    lowered = target.lower()
    return lowered.startswith(("file:", "smb:", "\\\\"))


def _classify(action: Action) -> str | None:
    """The finding an action belongs to, or None when it is harmless (a web link clicked)."""
    if action.kind == "/Launch":
        return "launch_action"
    if action.kind == "/URI":
        if _executable(action.target):
            return "executable_link"
        if _local_file(action.target):
            return "remote_file_action"
        return "automatic_action" if action.trigger in AUTOMATIC_TRIGGERS else None
    if action.kind in ("/SubmitForm", "/ImportData"):
        return "form_submission"
    if action.kind in ("/GoToR", "/GoToE"):
        # GoToE without a file goes to a file embedded in this one (reported as embedded).
        return "remote_file_action" if action.target or action.kind == "/GoToR" else None
    if action.kind in MEDIA_ACTIONS or action.kind in MEDIA_ANNOTATIONS:
        return "rich_media"
    # A type of its own (not in the standard): suspicious when it runs by itself.
    return "automatic_action" if action.trigger in AUTOMATIC_TRIGGERS else None


ACTION_FINDINGS = {
    # code: (level, title)
    "launch_action": (FRAUDULENT, _("Launch action")),
    "executable_link": (FRAUDULENT, _("Link to a program")),
    "automatic_action": (SUSPICIOUS, _("Action run without a click")),
    "form_submission": (SUSPICIOUS, _("Form data sent or loaded")),
    "remote_file_action": (SUSPICIOUS, _("Opens another file")),
    "rich_media": (SUSPICIOUS, _("Multimedia content")),
}


def _action_text(code: str, action: Action) -> Text:
    when = msg(WHEN.get(action.trigger, WHEN["other"]))
    target = action.target
    if code == "launch_action":
        if not target:
            return msg(_("the document asks the PDF reader to run a program %(when)s"), when=when)
        return msg(
            _("the document asks the PDF reader to run %(target)s %(when)s"),
            target=target,
            when=when,
        )
    if code == "executable_link":
        return msg(
            _("the document opens %(target)s, a program, %(when)s"), target=target, when=when
        )
    if code == "form_submission" and action.kind == "/SubmitForm":
        return msg(
            _("the document sends its form data to %(target)s %(when)s"),
            target=target or "?",
            when=when,
        )
    if code == "form_submission":
        return msg(
            _("the document loads form data from %(target)s %(when)s"),
            target=target or "?",
            when=when,
        )
    if code == "remote_file_action":
        return msg(
            _("the document opens another file, %(target)s, %(when)s"),
            target=target or "?",
            when=when,
        )
    if code == "rich_media":
        return msg(
            _("the document plays multimedia content (%(type)s) %(when)s"),
            type=action.kind.lstrip("/"),
            when=when,
        )
    if action.kind == "/URI":
        return msg(_("the document opens %(target)s %(when)s"), target=target, when=when)
    return msg(
        _("the document runs an action of type %(type)s %(when)s"),
        type=action.kind.lstrip("/"),
        when=when,
    )


def _action_findings(facts: PdfFacts) -> list[Finding]:
    """One finding per kind of dangerous action, worst kinds first, describing the first of its
    actions (the criteria list them all): programs launched or linked to, actions that run
    without a click, form data sent or loaded, other files opened, multimedia played."""
    grouped: dict[str, list[Action]] = {}
    for action in facts.actions:
        code = _classify(action)
        if code is not None:
            grouped.setdefault(code, []).append(action)
    found: list[Finding] = []
    for code, (level, title) in ACTION_FINDINGS.items():
        actions = grouped.get(code)
        if not actions:
            continue
        # The first one that runs by itself says most.
        first = min(actions, key=lambda a: a.trigger not in AUTOMATIC_TRIGGERS)
        detail = _action_text(code, first)
        if len(actions) > 1:
            detail = msg(
                _("%(first)s; and %(more)s more of this kind"),
                first=detail,
                more=len(actions) - 1,
            )
        make = fraudulent if level == FRAUDULENT else suspicious
        found.append(
            make(code, title, detail, count=len(actions), actions=[a.as_dict() for a in actions])
        )
    return found


def _signature_findings(facts: PdfFacts, kind: str) -> list[Finding]:
    if not facts.signatures:
        return [info("signature", _("Digital signature"), "not signed")]
    found: list[Finding] = []
    last = max(facts.signatures, key=lambda s: s.covers_until)
    for signature in facts.signatures:
        criteria = signature.as_dict()
        if not signature.consistent:
            found.append(
                fraudulent(
                    "signature",
                    _("Signature byte range is inconsistent"),
                    "the signed byte range does not exclude exactly the signature value",
                    **criteria,
                )
            )
            continue
        # Only what follows the last signature matters: earlier ones are covered by later ones.
        if signature is last and signature.appended_bytes:
            make = fraudulent if kind in editors.INSTITUTIONAL_KINDS else suspicious
            what = "a new revision" if signature.appended_revision else "data"
            found.append(
                make(
                    "signature",
                    _("Modified after signing"),
                    f"{signature.appended_bytes} bytes ({what}) appended after the signed range",
                    **criteria,
                )
            )
    if not found:
        found.append(
            info(
                "signature",
                _("Digital signature"),
                f"{len(facts.signatures)} signature(s); no change after signing "
                "(the certificate is not verified by the built-in engine)",
                positive=True,
                count=len(facts.signatures),
            )
        )
    return found


def _text_findings(facts: PdfFacts, kind: str, customer_siren: str) -> list[Finding]:
    found: list[Finding] = []
    if facts.pages and facts.text_pages == 0:
        make = suspicious if kind in editors.INSTITUTIONAL_KINDS - {"proof_of_address"} else info
        found.append(
            make(
                "text_layer",
                _("No text layer"),
                "no page has text: a scan or a picture; its content cannot be checked for edits",
                pages=facts.pages,
                imagePages=facts.image_pages,
            )
        )
    else:
        found.append(
            info(
                "text_layer",
                _("Text layer"),
                f"{facts.text_pages} of {facts.pages} page(s) carry text",
                pages=facts.pages,
                textPages=facts.text_pages,
            )
        )
    if facts.sirens:
        criteria: dict[str, Any] = {
            "found": list(facts.sirens),
            "sirets": list(facts.sirets),
            "customer": customer_siren,
        }
        if customer_siren and customer_siren not in facts.sirens:
            found.append(
                suspicious(
                    "siren",
                    _("Company number differs from the customer's"),
                    f"SIREN in the document: {', '.join(facts.sirens)}; customer: {customer_siren}",
                    **criteria,
                )
            )
        elif customer_siren:
            found.append(
                info(
                    "siren",
                    _("Company number matches the customer"),
                    f"SIREN {customer_siren} found in the document",
                    positive=True,
                    **criteria,
                )
            )
        else:
            found.append(
                info(
                    "siren",
                    _("Company numbers"),
                    f"SIREN in the document: {', '.join(facts.sirens)}",
                    **criteria,
                )
            )
    return found


def analyse_pdf(
    data: bytes, *, kind: str = "other", customer_siren: str = "", today: dt.date | None = None
) -> PdfAnalysis:
    """Forensic findings on a PDF. Never raises on bad input: a broken or encrypted file is a
    finding."""
    today = today or dt.date.today()
    facts = pdf_facts(data)
    findings: list[Finding] = []
    if not facts.readable:
        if facts.encrypted:
            findings.append(
                suspicious(
                    "encrypted",
                    _("Encrypted PDF"),
                    "the file is protected by a password; its content could not be analysed",
                    error=facts.error,
                )
            )
        else:
            findings.append(
                suspicious(
                    "unreadable",
                    _("Unreadable PDF"),
                    "the file is damaged or not a PDF; it could not be analysed",
                    error=facts.error,
                )
            )
        if facts.signatures:
            findings.extend(_signature_findings(facts, kind))
        return PdfAnalysis(facts, tuple(findings))
    if facts.encrypted:
        findings.append(
            info("encrypted", _("Encrypted PDF"), "encrypted without a user password (opened)")
        )
    findings.extend(_time_findings(facts, today))
    findings.extend(_software_findings(facts, kind))
    findings.extend(_consistency_findings(facts))
    findings.extend(_structure_findings(facts, kind))
    findings.extend(_action_findings(facts))
    findings.extend(_signature_findings(facts, kind))
    findings.extend(_text_findings(facts, kind, customer_siren))
    return PdfAnalysis(facts, tuple(findings))

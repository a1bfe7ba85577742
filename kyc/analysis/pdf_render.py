"""PDF pages as PNG images, for the document viewer, safe to call from any number of threads.

PDFium is not thread-safe: no two of its calls may run at the same time in one process, not even
on different documents (pypdfium2's documentation says so, and two viewers opening a multi-page
PDF at once made it segfault, taking the whole web server with it). Every PDFium call of the
project goes through this module, under one process-wide lock, and every PDFium object is closed
explicitly inside it, so no finalizer runs one later in another thread. Only the PNG encoding,
pure Pillow, runs outside the lock.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pypdfium2 as pdfium

# One lock for the whole process: PDFium's global state is shared by every document.
_PDFIUM = threading.Lock()


class PdfRenderError(Exception):
    """The file cannot be opened or rendered by PDFium (damaged, encrypted, not a PDF)."""


@contextmanager
def _document(data: bytes) -> Iterator[pdfium.PdfDocument]:
    """The opened document, with the lock held for as long as it is open."""
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise PdfRenderError(str(exc)) from exc
        try:
            yield pdf
        finally:
            pdf.close()


def page_count(data: bytes) -> int:
    """How many pages PDFium sees, 0 when it cannot open the file."""
    try:
        with _document(data) as pdf:
            return len(pdf)
    except PdfRenderError:
        return 0


def render_page_png(data: bytes, number: int, *, scale: float, max_pages: int) -> bytes | None:
    """Page `number` (from 1) as PNG bytes; None when there is no such page among the first
    `max_pages`. Raises PdfRenderError when PDFium cannot open or draw the file."""
    with _document(data) as pdf:
        if not 1 <= number <= min(len(pdf), max_pages):
            return None
        page = pdf[number - 1]
        try:
            bitmap = page.render(scale=scale)
            try:
                # A copy that owns its pixels: the bitmap's buffer is PDFium's.
                image = bitmap.to_pil().copy()
            finally:
                bitmap.close()
        except pdfium.PdfiumError as exc:
            raise PdfRenderError(str(exc)) from exc
        finally:
            page.close()
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()

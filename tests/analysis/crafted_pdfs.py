"""Real PDFs written with pypdf, as producers write them (compressed content streams, a font, an
Info dictionary, several pages), and the same files with actions added the way an attacker adds
them: an /OpenAction, /AA additional actions, link annotations.

Built with pypdf's own object model, not by hand, so that what the engine reads is what a PDF
library writes (names, strings, indirect objects, an object numbering of its own).
"""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)


def name(value: str) -> NameObject:
    return NameObject(value)


def pdf_dict(**entries: Any) -> DictionaryObject:
    """A PDF dictionary from keyword arguments: `S="/URI"` gives `/S /URI`; strings that start
    with a slash become names, other strings text strings."""
    result = DictionaryObject()
    for key, value in entries.items():
        if isinstance(value, str):
            value = NameObject(value) if value.startswith("/") else TextStringObject(value)
        result[NameObject("/" + key)] = value
    return result


def statement_writer(pages: int = 3) -> PdfWriter:
    """A bank statement of `pages` pages with a text layer on each, as a writer to add to."""
    writer = PdfWriter()
    font = writer._add_object(
        pdf_dict(Type="/Font", Subtype="/Type1", BaseFont="/Helvetica", Encoding="/WinAnsiEncoding")
    )
    for number in range(1, pages + 1):
        page = writer.add_blank_page(width=595, height=842)
        page[name("/Resources")] = DictionaryObject({name("/Font"): pdf_dict(F1=font)})
        lines = [
            "BANQUE SPECIMEN - Releve de compte",
            f"Page {number} / {pages}",
            "Solde au 31/03/2026 : 1 234,56 EUR",
        ]
        content = DecodedStreamObject()
        content.set_data(
            "\n".join(
                f"BT /F1 12 Tf 72 {780 - 20 * i} Td ({line}) Tj ET" for i, line in enumerate(lines)
            ).encode("latin-1")
        )
        page[name("/Contents")] = writer._add_object(content)
        page.compress_content_streams()
    writer.add_metadata(
        {
            "/Producer": "Specimen Bank Statement Engine 4.2",
            "/Creator": "Specimen Core Banking",
            "/CreationDate": "D:20260301090000Z",
            "/ModDate": "D:20260301090000Z",
        }
    )
    return writer


def written(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def statement_pdf(pages: int = 3) -> bytes:
    return written(statement_writer(pages))


def open_action(action: DictionaryObject) -> bytes:
    """A statement that runs `action` when it is opened (the catalog's /OpenAction)."""
    writer = statement_writer()
    writer._root_object[name("/OpenAction")] = writer._add_object(action)
    return written(writer)


def document_event(event: str, action: DictionaryObject) -> bytes:
    """A statement that runs `action` on a document event (/AA /WC, /WS, /DS, /WP, /DP)."""
    writer = statement_writer()
    writer._root_object[name("/AA")] = DictionaryObject({name(event): writer._add_object(action)})
    return written(writer)


def page_event(event: str, action: DictionaryObject, page: int = 1) -> bytes:
    """A statement that runs `action` when a page opens or closes (page /AA /O or /C)."""
    writer = statement_writer()
    writer.pages[page][name("/AA")] = DictionaryObject({name(event): writer._add_object(action)})
    return written(writer)


def _rect() -> ArrayObject:
    return ArrayObject([FloatObject(72), FloatObject(700), FloatObject(272), FloatObject(720)])


def link(action: DictionaryObject, *, hover: DictionaryObject | None = None) -> bytes:
    """A statement whose first page has a link annotation running `action` when clicked, and
    `hover` (if given) when the mouse enters it (the annotation's /AA /E)."""
    writer = statement_writer()
    annotation = pdf_dict(Type="/Annot", Subtype="/Link", Rect=_rect(), A=action)
    annotation[name("/Border")] = ArrayObject([NumberObject(0)] * 3)
    if hover is not None:
        annotation[name("/AA")] = DictionaryObject({name("/E"): hover})
    writer.pages[0][name("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return written(writer)


def field_event(event: str, action: DictionaryObject) -> bytes:
    """A statement with one text field that runs `action` on a field event (/AA /K, /F, /V...)."""
    writer = statement_writer()
    widget = pdf_dict(Type="/Annot", Subtype="/Widget", FT="/Tx", T="amount", V="1234.56")
    widget[name("/Rect")] = _rect()
    widget[name("/AA")] = DictionaryObject({name(event): action})
    reference = writer._add_object(widget)
    widget[name("/P")] = writer.pages[0].indirect_reference
    writer.pages[0][name("/Annots")] = ArrayObject([reference])
    writer._root_object[name("/AcroForm")] = pdf_dict(Fields=ArrayObject([reference]))
    return written(writer)


def annotation(subtype: str, **entries: Any) -> bytes:
    """A statement whose first page carries one annotation of `subtype` (/RichMedia, /Screen...)."""
    writer = statement_writer()
    annot = pdf_dict(Type="/Annot", Subtype=subtype, **entries)
    annot[name("/Rect")] = _rect()
    writer.pages[0][name("/Annots")] = ArrayObject([writer._add_object(annot)])
    return written(writer)


def launch(target: str = "cmd.exe", parameters: str = "/c calc.exe") -> DictionaryObject:
    """A /Launch action the way the 2010 "escape from PDF" attack wrote it (Windows launch
    parameters in /Win)."""
    return pdf_dict(S="/Launch", Win=pdf_dict(F=target, P=parameters, O="open"))


def uri(target: str) -> DictionaryObject:
    return pdf_dict(S="/URI", URI=target)


def opens_at_first_page() -> bytes:
    """What many producers write as /OpenAction: show page 1, whole. Harmless navigation."""
    writer = statement_writer()
    destination = ArrayObject([writer.pages[0].indirect_reference, name("/Fit")])
    writer._root_object[name("/OpenAction")] = pdf_dict(S="/GoTo", D=destination)
    return written(writer)

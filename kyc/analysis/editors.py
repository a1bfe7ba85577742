"""Software that leaves its name in a file's metadata, and what its presence means.

Matched case-insensitively against PDF /Producer, /Creator, XMP CreatorTool and pdf:Producer, EXIF
Software and PNG text chunks. Keep the list sorted by category; add a pattern when analysts meet a
new tool. Each entry says why it matters, because the level depends on the document kind:
a word processor is normal for an invoice or a letter but not for a bank statement, which banks
produce from their own systems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IMAGE_EDITOR = "image_editor"
ONLINE_PDF_EDITOR = "online_pdf_editor"
PDF_EDITOR = "pdf_editor"
OFFICE = "office"


@dataclass(frozen=True)
class Editor:
    name: str
    category: str
    pattern: re.Pattern[str]


def _e(name: str, category: str, pattern: str) -> Editor:
    return Editor(name, category, re.compile(pattern, re.IGNORECASE))


EDITORS: tuple[Editor, ...] = (
    # Image editors: a document that went through one was redrawn, not just saved.
    _e("Adobe Photoshop", IMAGE_EDITOR, r"photoshop"),
    _e("GIMP", IMAGE_EDITOR, r"\bgimp\b|gnu image manipulation"),
    _e("Canva", IMAGE_EDITOR, r"\bcanva\b"),
    _e("Photopea", IMAGE_EDITOR, r"photopea"),
    _e("Paint.NET", IMAGE_EDITOR, r"paint\.net"),
    _e("Affinity", IMAGE_EDITOR, r"affinity (photo|designer|publisher)"),
    _e("Pixelmator", IMAGE_EDITOR, r"pixelmator"),
    _e("Corel", IMAGE_EDITOR, r"corel(draw|\s*paint|\s*photo)"),
    _e("Adobe Illustrator", IMAGE_EDITOR, r"illustrator"),
    _e("Adobe InDesign", IMAGE_EDITOR, r"indesign"),
    _e("Inkscape", IMAGE_EDITOR, r"inkscape"),
    _e("Picsart", IMAGE_EDITOR, r"picsart"),
    _e("Snapseed", IMAGE_EDITOR, r"snapseed"),
    _e("Fotor", IMAGE_EDITOR, r"\bfotor\b"),
    # Online PDF editors: legitimate for merging or compressing, and the usual way to edit text.
    _e("iLovePDF", ONLINE_PDF_EDITOR, r"ilovepdf"),
    _e("Smallpdf", ONLINE_PDF_EDITOR, r"smallpdf"),
    _e("Sejda", ONLINE_PDF_EDITOR, r"sejda"),
    _e("PDFescape", ONLINE_PDF_EDITOR, r"pdfescape"),
    _e("PDF Candy", ONLINE_PDF_EDITOR, r"pdf\s*candy"),
    _e("PDFfiller", ONLINE_PDF_EDITOR, r"pdffiller"),
    _e("DocFly", ONLINE_PDF_EDITOR, r"docfly"),
    _e("Soda PDF", ONLINE_PDF_EDITOR, r"soda\s*pdf"),
    _e("PDF2Go", ONLINE_PDF_EDITOR, r"pdf2go"),
    _e("Xodo", ONLINE_PDF_EDITOR, r"\bxodo\b"),
    _e("DocHub", ONLINE_PDF_EDITOR, r"dochub"),
    _e("pdfFiller / airSlate", ONLINE_PDF_EDITOR, r"airslate"),
    # Desktop PDF editors.
    _e("Foxit PhantomPDF / PDF Editor", PDF_EDITOR, r"foxit\s*(phantom|pdf\s*editor)"),
    _e("Nitro PDF", PDF_EDITOR, r"\bnitro\b"),
    _e("PDF-XChange Editor", PDF_EDITOR, r"pdf-xchange"),
    _e("Wondershare PDFelement", PDF_EDITOR, r"pdfelement|wondershare"),
    _e("Master PDF Editor", PDF_EDITOR, r"master pdf"),
    _e("Infix PDF Editor", PDF_EDITOR, r"\binfix\b"),
    _e("PDF Studio", PDF_EDITOR, r"pdf studio"),
    _e("Able2Extract", PDF_EDITOR, r"able2extract"),
    _e("Acrobat (editing)", PDF_EDITOR, r"acrobat (pro|standard|dc)\b(?!.*distiller)"),
    # Word processors and their PDF converters.
    _e("Microsoft Word", OFFICE, r"microsoft.{0,5}word|word for microsoft 365|pdfmaker"),
    _e("Microsoft Excel", OFFICE, r"microsoft.{0,5}excel"),
    _e("LibreOffice", OFFICE, r"libreoffice"),
    _e("OpenOffice", OFFICE, r"openoffice"),
    _e("Google Docs", OFFICE, r"google docs"),
    _e("Apple Pages", OFFICE, r"\bpages\b"),
    _e("WPS Office", OFFICE, r"wps (office|writer)"),
)

# Kinds produced by an institution's own systems: an office tool or an editor there means the
# file was re-made by someone else.
INSTITUTIONAL_KINDS = frozenset(
    {"bank_statement", "financial_statement", "company_registration", "proof_of_address"}
)
IDENTITY_KINDS = frozenset({"id_card", "passport", "residence_permit"})


def match(value: str) -> Editor | None:
    """The first editor whose pattern occurs in `value`."""
    if not value:
        return None
    for editor in EDITORS:
        if editor.pattern.search(value):
            return editor
    return None


def level_for(editor: Editor, kind: str, *, container: str) -> str | None:
    """How bad it is that `editor` touched a document of `kind`.

    `container` is "pdf" or "image": a photo of an ID card cropped in an image editor is common,
    a bank statement PDF written by Photoshop is not.
    """
    if editor.category == IMAGE_EDITOR:
        if container == "pdf" and kind in INSTITUTIONAL_KINDS:
            return "fraudulent"
        return "suspicious"
    if editor.category in (ONLINE_PDF_EDITOR, PDF_EDITOR):
        return "suspicious"
    if editor.category == OFFICE:
        return "suspicious" if kind in INSTITUTIONAL_KINDS | IDENTITY_KINDS else None
    return None

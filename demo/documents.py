"""Small but real sample documents for the demo, so the document viewer has something to show.

Identity documents are drawn with Pillow (a passport data page as JPEG, an identity card as PNG,
each with a correct ICAO 9303 machine-readable zone). Company documents are "true" PDFs written
with pypdf: real text in a Helvetica content stream, and real metadata (Producer, CreationDate,
ModDate) that matches what the demo reports say about them. A forged PDF carries an incremental
update that overlays a figure, as an edited statement would.

Every function is pure (values in, bytes out) and deterministic apart from the PDF trailer id.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter
from pypdf.generic import ContentStream, DecodedStreamObject, DictionaryObject, NameObject

# ------------------------------------------------------------------------------------- shared


@dataclass(frozen=True)
class FileOrigin:
    """What a file says about its own history (PDF Info dictionary, EXIF or PNG text)."""

    created: dt.datetime
    modified: dt.datetime
    software: str


def french_amount(value: float) -> str:
    """12345.6 -> '12 345,60' (French grouping, as printed on statements)."""
    whole, cents = f"{abs(value):,.2f}".split(".")
    text = f"{whole.replace(',', ' ')},{cents}"
    return f"-{text}" if value < 0 else text


def french_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


# ---------------------------------------------------------------------------- identity images


@dataclass(frozen=True)
class IdentityDocument:
    """The data printed on an identity document and encoded in its MRZ."""

    kind: str  # "passport" or "id_card"
    issuing_country: str
    nationality: str
    country_header: str
    nationality_label: str
    surname: str
    given_names: str
    sex: str
    birth_date: dt.date
    birth_place: str
    document_number: str
    issue_date: dt.date
    expiry_date: dt.date
    mrz_lines: tuple[str, ...]
    # What the visual zone prints; a forged document prints something else than its MRZ says.
    printed_birth_date: dt.date | None = None
    address: str = ""
    photo_tone: tuple[int, int, int] = (120, 110, 100)
    passport_word: str = "PASSEPORT"
    origin: FileOrigin | None = None


@lru_cache(maxsize=32)
def _font(size: int, *, mono: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu when the system has it (Debian's fonts-dejavu-core), else Pillow's embedded font."""
    try:
        return ImageFont.truetype("DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _printable(text: str) -> str:
    if "DejaVu" in str(getattr(_font(10), "path", "")):
        return text
    # Pillow's embedded font has no accented capitals: strip diacritics rather than draw boxes.
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _text(draw: ImageDraw.ImageDraw, xy, text: str, *, size: int, fill, mono: bool = False):
    draw.text(xy, _printable(text), font=_font(size, mono=mono), fill=fill)


def _background(size: tuple[int, int], base: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(image)
    width, height = size
    tint = tuple(max(0, channel - 14) for channel in base)
    # A light guilloche-like pattern, as printed security backgrounds have.
    for offset in range(-height, width, 14):
        draw.line([(offset, 0), (offset + height // 2, height)], fill=tint, width=1)
    for offset in range(0, width + height, 22):
        draw.arc([offset - 260, height - 300, offset + 40, height + 20], 200, 340, fill=tint)
    return image


def _photo(image: Image.Image, box: tuple[int, int, int, int], tone) -> None:
    """A neutral head-and-shoulders silhouette where the holder's photo goes."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    photo = Image.new("RGB", (width, height), (226, 228, 232))
    draw = ImageDraw.Draw(photo)
    draw.ellipse(
        (width * 0.1, height * 0.62, width * 0.9, height * 1.25),
        fill=tuple(max(0, channel - 35) for channel in tone),
    )
    draw.ellipse((width * 0.3, height * 0.16, width * 0.7, height * 0.6), fill=tone)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(150, 150, 160), width=2)
    image.paste(photo, (left, top))


def _field(draw, xy, label: str, value: str, *, size: int = 20) -> None:
    x, y = xy
    _text(draw, (x, y), label, size=size - 7, fill=(70, 80, 110))
    _text(draw, (x, y + size - 3), value, size=size, fill=(15, 15, 25))


def _mrz(draw, lines: tuple[str, ...], *, left: int, top: int, advance: int, size: int) -> None:
    # OCR-B is monospaced: put every character on a fixed grid whatever the font.
    for row, line in enumerate(lines):
        for column, char in enumerate(line):
            xy = (left + column * advance, top + row * int(size * 1.4))
            _text(draw, xy, char, size=size, fill=(10, 10, 10), mono=True)


def passport_jpeg(doc: IdentityDocument) -> bytes:
    """A passport data page (TD3) as a JPEG of under 100 KB."""
    image = _background((1000, 700), (232, 236, 247))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 1000, 70], fill=(40, 52, 110))
    _text(draw, (30, 20), doc.country_header, size=26, fill=(255, 255, 255))
    title = f"{doc.passport_word} / PASSPORT"
    _text(
        draw,
        (970 - int(draw.textlength(title, font=_font(22))), 24),
        title,
        size=22,
        fill=(255, 255, 255),
    )
    _photo(image, (40, 110, 290, 430), doc.photo_tone)
    born = doc.printed_birth_date or doc.birth_date
    x1, x2 = 330, 670
    _field(draw, (x1, 96), "Type / Type", "P")
    _field(draw, (x1 + 130, 96), "Code du pays / Country code", doc.issuing_country)
    _field(draw, (x2, 96), "Passeport n° / Passport No.", doc.document_number)
    _field(draw, (x1, 156), "Nom / Surname", doc.surname.upper())
    _field(draw, (x1, 216), "Prénoms / Given names", doc.given_names)
    _field(draw, (x1, 276), "Nationalité / Nationality", doc.nationality_label)
    _field(draw, (x2, 276), "Sexe / Sex", doc.sex)
    _field(draw, (x1, 336), "Date de naissance / Date of birth", french_date(born))
    _field(draw, (x2, 336), "Lieu de naissance / Place of birth", doc.birth_place)
    _field(draw, (x1, 396), "Date de délivrance / Date of issue", french_date(doc.issue_date))
    _field(draw, (x2, 396), "Date d'expiration / Date of expiry", french_date(doc.expiry_date))
    _text(
        draw, (40, 450), "Signature du titulaire / Holder's signature", size=13, fill=(70, 80, 110)
    )
    draw.line(
        [(60, 505), (120, 480), (170, 505), (230, 470), (280, 495)], fill=(30, 30, 90), width=3
    )
    draw.rectangle([0, 560, 1000, 700], fill=(245, 246, 250))
    _mrz(draw, doc.mrz_lines, left=26, top=588, advance=21, size=30)

    exif = Image.Exif()
    if doc.origin is not None:
        exif[0x0131] = doc.origin.software  # Software
        exif[0x0132] = doc.origin.modified.strftime("%Y:%m:%d %H:%M:%S")  # DateTime
        exif.get_ifd(0x8769)[0x9003] = doc.origin.created.strftime("%Y:%m:%d %H:%M:%S")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=78, optimize=True, exif=exif)
    return buffer.getvalue()


def id_card_png(doc: IdentityDocument) -> bytes:
    """An identity card (TD1, ID-1 format) as a palette PNG of a few tens of KB."""
    image = _background((856, 540), (236, 242, 238))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 856, 56], fill=(30, 90, 120))
    _text(draw, (20, 16), doc.country_header, size=22, fill=(255, 255, 255))
    _text(draw, (520, 20), "CARTE D'IDENTITÉ / IDENTITY CARD", size=16, fill=(255, 255, 255))
    _photo(image, (24, 76, 214, 326), doc.photo_tone)
    born = doc.printed_birth_date or doc.birth_date
    x1, x2 = 240, 560
    _field(draw, (x1, 70), "Nom / Surname", doc.surname.upper())
    _field(draw, (x1, 118), "Prénoms / Given names", doc.given_names)
    _field(draw, (x1, 166), "Sexe / Sex", doc.sex, size=18)
    _field(draw, (x1 + 120, 166), "Nationalité / Nationality", doc.nationality, size=18)
    _field(draw, (x1, 210), "Date de naiss. / Date of birth", french_date(born), size=18)
    _field(draw, (x2, 210), "Lieu de naissance / Place of birth", doc.birth_place, size=18)
    _field(draw, (x1, 254), "N° du document / Document No.", doc.document_number, size=18)
    _field(draw, (x2, 254), "Date d'expiration / Expiry", french_date(doc.expiry_date), size=18)
    if doc.address:
        _field(draw, (x1, 298), "Adresse / Address", doc.address, size=16)
    draw.rectangle([0, 380, 856, 540], fill=(246, 248, 247))
    _mrz(draw, doc.mrz_lines, left=28, top=398, advance=26, size=32)

    info = PngInfo()
    if doc.origin is not None:
        info.add_text("Software", doc.origin.software)
        info.add_text("Creation Time", doc.origin.created.strftime("%Y:%m:%d %H:%M:%S"))
        info.add_text("Modify Time", doc.origin.modified.strftime("%Y:%m:%d %H:%M:%S"))
    buffer = io.BytesIO()
    # 64 colours are plenty for flat print and text, and keep the file around 20 KB.
    palette = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
    palette.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------- PDF


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


@dataclass
class PdfPage:
    """A tiny PDF content-stream builder: text, rules and filled boxes on an A4 page."""

    ops: list[bytes] = field(default_factory=list)

    def text(self, x: float, y: float, text: str, *, size: float = 9, bold: bool = False) -> None:
        font = b"/F2" if bold else b"/F1"
        self.ops.append(
            b"BT %s %.1f Tf %.1f %.1f Td %s Tj ET" % (font, size, x, y, _pdf_string(text))
        )

    def right(self, x: float, y: float, text: str, *, size: float = 9, bold: bool = False) -> None:
        # Helvetica digits are 0.556 em wide: good enough to right-align amounts.
        self.text(x - len(text) * size * 0.53, y, text, size=size, bold=bold)

    def rule(self, x1: float, y1: float, x2: float, y2: float, *, gray: float = 0.6) -> None:
        self.ops.append(b"%.2f G 0.6 w %.1f %.1f m %.1f %.1f l S" % (gray, x1, y1, x2, y2))

    def box(self, x: float, y: float, w: float, h: float, *, gray: float = 0.92) -> None:
        self.ops.append(b"%.2f g %.1f %.1f %.1f %.1f re f 0 g" % (gray, x, y, w, h))

    def data(self) -> bytes:
        return b"\n".join(self.ops)


def _pdf_date(value: dt.datetime) -> str:
    offset = value.strftime("%z") or "+0000"
    return f"D:{value:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'"


def _font_resources() -> DictionaryObject:
    def font(base: str) -> DictionaryObject:
        return DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject(base),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )

    return DictionaryObject(
        {
            NameObject("/Font"): DictionaryObject(
                {NameObject("/F1"): font("/Helvetica"), NameObject("/F2"): font("/Helvetica-Bold")}
            )
        }
    )


def render_pdf(
    page: PdfPage, *, origin: FileOrigin, title: str, overlay: PdfPage | None = None
) -> bytes:
    """One A4 page as a PDF; with `overlay`, an incremental update that paints over the page."""
    writer = PdfWriter()
    pdf_page = writer.add_blank_page(width=595, height=842)
    pdf_page[NameObject("/Resources")] = _font_resources()
    stream = DecodedStreamObject()
    stream.set_data(page.data())
    pdf_page.replace_contents(stream)
    writer.add_metadata(
        {
            "/Title": title,
            "/Producer": origin.software,
            "/Creator": origin.software,
            "/CreationDate": _pdf_date(origin.created),
            "/ModDate": _pdf_date(origin.created if overlay else origin.modified),
        }
    )
    writer.compress_identical_objects()
    first = io.BytesIO()
    writer.write(first)
    if overlay is None:
        return first.getvalue()

    # An edited document: a second revision appended to the first, as editors save them.
    first.seek(0)
    editor = PdfWriter(first, incremental=True)
    edited = editor.pages[0]
    content = ContentStream(None, None)
    content.set_data(page.data() + b"\n" + overlay.data())
    edited.replace_contents(content)
    editor.add_metadata({"/ModDate": _pdf_date(origin.modified), "/Producer": origin.software})
    second = io.BytesIO()
    editor.write(second)
    return second.getvalue()


def _letterhead(page: PdfPage, name: str, lines: list[str]) -> None:
    page.box(0, 790, 595, 52, gray=0.18)
    page.ops.append(b"1 g")
    page.text(40, 812, name, size=16, bold=True)
    page.ops.append(b"0 g")
    for index, line in enumerate(lines):
        page.text(40, 770 - index * 11, line, size=8)


@dataclass(frozen=True)
class StatementLine:
    date: dt.date
    label: str
    amount: float  # negative = debit


@dataclass(frozen=True)
class BankStatement:
    bank_name: str
    bank_address: str
    bic: str
    iban: str
    holder: str
    holder_address: list[str]
    period_start: dt.date
    period_end: dt.date
    opening_balance: float
    lines: list[StatementLine]
    origin: FileOrigin
    # A forged statement: (index of the line whose amount was painted over, new amount).
    forged_line: tuple[int, float] | None = None


def bank_statement_pdf(statement: BankStatement) -> bytes:
    page = PdfPage()
    _letterhead(
        page,
        statement.bank_name,
        [statement.bank_address, f"BIC {statement.bic}  -  www.example-banque.fr"],
    )
    page.text(330, 745, statement.holder, size=10, bold=True)
    for index, line in enumerate(statement.holder_address):
        page.text(330, 732 - index * 12, line, size=9)
    page.text(40, 690, "RELEVÉ DE COMPTE COURANT PROFESSIONNEL", size=12, bold=True)
    page.text(
        40,
        674,
        f"Période du {french_date(statement.period_start)} au {french_date(statement.period_end)}",
        size=9,
    )
    page.text(40, 660, f"IBAN {statement.iban}", size=9)
    top = 630
    page.box(40, top - 4, 515, 16)
    for x, header in ((44, "Date"), (110, "Libellé"), (420, "Débit"), (505, "Crédit")):
        page.text(x, top, header, size=9, bold=True)
    y = top - 20
    page.text(110, y, "SOLDE CRÉDITEUR AU " + french_date(statement.period_start), size=9)
    page.right(550, y, french_amount(statement.opening_balance), size=9)
    balance = statement.opening_balance
    rows: list[float] = []
    for line in statement.lines:
        y -= 16
        rows.append(y)
        page.text(44, y, line.date.strftime("%d/%m"), size=9)
        page.text(110, y, line.label, size=9)
        column = 465 if line.amount < 0 else 550
        page.right(column, y, french_amount(abs(line.amount)), size=9)
        page.rule(40, y - 5, 555, y - 5, gray=0.85)
        balance += line.amount
    y -= 26
    page.text(
        110, y, "NOUVEAU SOLDE CRÉDITEUR AU " + french_date(statement.period_end), size=9, bold=True
    )
    page.right(550, y, french_amount(balance), size=9, bold=True)
    page.text(40, 60, "Document généré pour la démonstration - données fictives.", size=7)

    overlay = None
    if statement.forged_line is not None:
        index, amount = statement.forged_line
        line = statement.lines[index]
        column = 465 if line.amount < 0 else 550
        overlay = PdfPage()
        overlay.box(column - 70, rows[index] - 3, 72, 12, gray=1.0)
        overlay.right(column, rows[index], french_amount(abs(amount)), size=9)
        overlay.box(480, y - 3, 72, 12, gray=1.0)
        overlay.right(550, y, french_amount(balance - line.amount + amount), size=9, bold=True)
    return render_pdf(page, origin=statement.origin, title="Relevé de compte", overlay=overlay)


@dataclass(frozen=True)
class CompanyFacts:
    legal_name: str
    legal_form: str
    siren_formatted: str
    city: str
    address: str
    activity: str
    capital: int
    registered_on: dt.date
    officers: list[tuple[str, str]]  # (role, "NAME First names")


def kbis_pdf(company: CompanyFacts, *, issued_on: dt.date, origin: FileOrigin) -> bytes:
    """An "extrait Kbis" (trade register extract)."""
    page = PdfPage()
    _letterhead(
        page,
        f"Greffe du Tribunal de commerce de {company.city}",
        ["Extrait d'immatriculation principale au registre du commerce et des sociétés"],
    )
    page.text(40, 735, f"à jour au {french_date(issued_on)}", size=9)
    rows = [
        ("IDENTIFICATION DE LA PERSONNE MORALE", None),
        ("Immatriculation au RCS, numéro", f"{company.siren_formatted} R.C.S. {company.city}"),
        ("Date d'immatriculation", french_date(company.registered_on)),
        ("Dénomination ou raison sociale", company.legal_name),
        ("Forme juridique", company.legal_form),
        ("Capital social", f"{french_amount(company.capital)} Euros"),
        ("Adresse du siège", company.address),
        ("Activités principales", company.activity),
        ("GESTION, DIRECTION, ADMINISTRATION, CONTRÔLE", None),
    ]
    rows += [(role, name) for role, name in company.officers]
    y = 700
    for label, value in rows:
        if value is None:
            y -= 8
            page.box(40, y - 4, 515, 15)
            page.text(44, y, label, size=9, bold=True)
        else:
            page.text(44, y, label, size=9)
            page.text(250, y, value, size=9)
        y -= 20
    page.text(40, 80, "Le Greffier", size=9)
    page.text(40, 60, "Document généré pour la démonstration - données fictives.", size=7)
    return render_pdf(page, origin=origin, title="Extrait Kbis")


def financial_statement_pdf(
    company: CompanyFacts, *, year: int, figures: dict[str, float], origin: FileOrigin
) -> bytes:
    page = PdfPage()
    _letterhead(page, company.legal_name, [company.address, f"SIREN {company.siren_formatted}"])
    page.text(40, 720, f"COMPTES ANNUELS - EXERCICE CLOS LE 31/12/{year}", size=12, bold=True)
    page.text(40, 704, "Bilan et compte de résultat simplifiés (en euros)", size=9)
    y = 670
    for label, value in figures.items():
        page.text(60, y, label, size=10)
        page.right(520, y, french_amount(value), size=10)
        page.rule(40, y - 5, 555, y - 5, gray=0.85)
        y -= 22
    page.text(40, 120, "Certifié conforme par l'expert-comptable", size=9)
    page.text(40, 60, "Document généré pour la démonstration - données fictives.", size=7)
    return render_pdf(page, origin=origin, title=f"Comptes annuels {year}")


def utility_bill_pdf(
    *,
    supplier: str,
    holder: str,
    address: list[str],
    issued_on: dt.date,
    reference: str,
    amount: float,
    origin: FileOrigin,
) -> bytes:
    """A proof of address: an energy, water or broadband bill."""
    page = PdfPage()
    _letterhead(page, supplier, ["Service clients : 09 70 00 00 00 (appel non surtaxé)"])
    page.text(330, 745, holder, size=10, bold=True)
    for index, line in enumerate(address):
        page.text(330, 732 - index * 12, line, size=9)
    page.text(40, 690, "FACTURE", size=14, bold=True)
    page.text(40, 672, f"N° {reference} du {french_date(issued_on)}", size=9)
    page.text(40, 658, "Adresse de consommation : " + ", ".join(address), size=9)
    page.box(40, 600, 515, 30)
    page.text(50, 612, "Montant total TTC à payer", size=11, bold=True)
    page.right(545, 612, french_amount(amount) + " EUR", size=11, bold=True)
    page.text(40, 580, f"Prélevé le {french_date(issued_on + dt.timedelta(days=14))}", size=9)
    page.text(40, 60, "Document généré pour la démonstration - données fictives.", size=7)
    return render_pdf(page, origin=origin, title="Facture")

"""Synthetic specimen documents with known contents, for the built-in engine's tests and bench.

Identity documents are drawn with Pillow and the OCR-B typeface (public domain, shipped in
tests/assets/fonts/ so that no system font is needed), with MRZs built from our own check-digit
code, then degraded the way phone photos and scans are. PDFs are written by hand, object by
object, so each forensic signal is exactly the one a test asks for.

Everything is deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, PngImagePlugin

from kyc.analysis.mrz import check_digit, mrz_name

# Shipped with the tests (public domain, see its README): no system package needed.
OCRB_FONT = Path(__file__).resolve().parent.parent / "assets" / "fonts" / "OCRB.otf"
TODAY = dt.date(2026, 6, 1)

SURNAMES = [
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "THOMAS",
    "ROBERT",
    "PETIT",
    "DURAND",
    "LEROY",
    "MOREAU",
    "SIMON",
    "LAURENT",
    "LEFEBVRE",
    "MICHEL",
    "GARCIA",
    "DAVID",
    "BERTRAND",
    "ROUX",
    "VINCENT",
    "FOURNIER",
    "MOREL",
    "GIRARD",
    "ANDRE",
    "MERCIER",
    "BONNET",
    "SCHMIDT",
    "MULLER",
    "ROSSI",
    "ESPOSITO",
    "FERNANDEZ",
    "KOWALSKI",
    "NOWAK",
    "DE SOUSA",
    "VAN DER BERG",
    "O BRIEN",
    "ZIELINSKI",
    "BIZOT",
    "SZABO",
    "OZTURK",
]
GIVEN_NAMES = [
    "JEAN",
    "MARIE",
    "PIERRE",
    "ANNE",
    "LOUIS",
    "CLAIRE",
    "ZOE",
    "BRUNO",
    "SOPHIE",
    "OSCAR",
    "ISABELLE",
    "BASILE",
    "SIMONE",
    "GABRIEL",
    "IZIA",
    "ELODIE",
    "OLIVIER",
    "ZINEDINE",
    "SEBASTIEN",
    "BEATRICE",
]
COUNTRIES = ["FRA", "D", "ITA", "ESP", "BEL", "NLD", "PRT", "POL", "GBR", "CHE", "IRL", "AUT"]
# Document numbers: digits and the letters issuers use. Like German and French issuers, we leave
# out O, I and Q, which OCR-B draws almost like 0 and 1 (a real number that has them is read, and
# when a check then fails the report names the O/0 or I/1 "possible misread"). S, Z, B and G,
# which look like 5, 2, 8 and 6, are over-represented on purpose.
NUMBER_ALPHABET = "0123456789" * 2 + "ABCDEFGHJKLMNPRTUVWXYZ" + "SZBG" * 2


# ------------------------------------------------------------------------------------ identity


@dataclass(frozen=True)
class Identity:
    fmt: str  # TD1 | TD2 | TD3
    document_code: str
    issuing_country: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: dt.date
    sex: str
    expiry_date: dt.date
    optional_data: str = ""

    @property
    def lines(self) -> tuple[str, ...]:
        return compose(self)


def _field(value: str, width: int) -> str:
    return value[:width].ljust(width, "<")


def _country(code: str) -> str:
    return _field(code, 3)


def _name_field(identity: Identity, width: int) -> str:
    name = mrz_name(identity.surname) + "<<" + mrz_name(identity.given_names)
    return _field(name, width)


def _yymmdd(day: dt.date) -> str:
    return day.strftime("%y%m%d")


def compose(identity: Identity) -> tuple[str, ...]:
    """The MRZ of `identity`, with every check digit computed (ICAO 9303 parts 4 to 6)."""
    number = _field(identity.document_number, 9)
    birth, expiry = _yymmdd(identity.birth_date), _yymmdd(identity.expiry_date)
    sex = identity.sex or "<"
    if identity.fmt == "TD3":
        optional = _field(identity.optional_data, 14)
        optional_check = check_digit(optional) if identity.optional_data else "<"
        line1 = _field(identity.document_code, 2) + _country(identity.issuing_country)
        line1 += _name_field(identity, 39)
        line2 = number + check_digit(number) + _country(identity.nationality)
        line2 += birth + check_digit(birth) + sex + expiry + check_digit(expiry)
        line2 += optional + optional_check
        composite = line2[0:10] + line2[13:20] + line2[21:43]
        return line1, line2 + check_digit(composite)
    if identity.fmt == "TD2":
        line1 = _field(identity.document_code, 2) + _country(identity.issuing_country)
        line1 += _name_field(identity, 31)
        line2 = number + check_digit(number) + _country(identity.nationality)
        line2 += birth + check_digit(birth) + sex + expiry + check_digit(expiry)
        line2 += _field(identity.optional_data, 7)
        composite = line2[0:10] + line2[13:20] + line2[21:35]
        return line1, line2 + check_digit(composite)
    line1 = _field(identity.document_code, 2) + _country(identity.issuing_country)
    line1 += number + check_digit(number) + _field(identity.optional_data, 15)
    line2 = birth + check_digit(birth) + sex + expiry + check_digit(expiry)
    line2 += _country(identity.nationality) + _field("", 11)
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line3 = _name_field(identity, 30)
    return line1, line2 + check_digit(composite), line3


def random_identity(rng: random.Random, fmt: str) -> Identity:
    country = rng.choice(COUNTRIES)
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    expiry = TODAY + dt.timedelta(days=rng.randrange(30, 365 * 9))
    given = " ".join(rng.sample(GIVEN_NAMES, rng.choice((1, 1, 2))))
    number = "".join(rng.choice(NUMBER_ALPHABET) for _ in range(9))
    code = {"TD3": "P<", "TD2": "I<", "TD1": rng.choice(("ID", "I<"))}[fmt]
    optional = ""
    if fmt == "TD3" and rng.random() < 0.5:
        optional = "".join(rng.choice("0123456789") for _ in range(rng.choice((8, 10, 14))))
    elif fmt == "TD1" and rng.random() < 0.5:
        optional = "".join(rng.choice("0123456789") for _ in range(8))
    return Identity(
        fmt=fmt,
        document_code=code,
        issuing_country=country,
        surname=rng.choice(SURNAMES),
        given_names=given,
        document_number=number,
        nationality=country,
        birth_date=birth,
        sex=rng.choice("MF"),
        expiry_date=expiry,
        optional_data=optional,
    )


def tamper(lines: tuple[str, ...], rng: random.Random) -> tuple[tuple[str, ...], str]:
    """Change one character protected by a check digit (document number, birth or expiry date)
    without recomputing anything, as a forger editing the picture would. Returns the new lines
    and the name of the field changed."""
    fmt = {3: "TD1", 2: "TD3" if len(lines[0]) == 44 else "TD2"}[len(lines)]
    spans = {
        "TD3": {"document_number": (1, 0, 9), "birth_date": (1, 13, 19), "expiry": (1, 21, 27)},
        "TD2": {"document_number": (1, 0, 9), "birth_date": (1, 13, 19), "expiry": (1, 21, 27)},
        "TD1": {"document_number": (0, 5, 14), "birth_date": (1, 0, 6), "expiry": (1, 8, 14)},
    }[fmt]
    name = rng.choice(sorted(spans))
    line_no, start, end = spans[name]
    line = lines[line_no]
    position = rng.randrange(start, end)
    old = line[position]
    if old.isdigit():
        # A plausible forgery: a different digit that keeps the date a date where possible.
        choices = [d for d in "0123456789" if d != old]
        if name != "document_number":
            choices = [d for d in choices if _date_ok(line, start, position, d)] or choices
        new = rng.choice(choices)
    else:
        # A 7-3-1 check digit cannot see a change of a multiple of 10 in character value (A=10
        # to K=20, say): ICAO's limit, not ours. Forgers who do not know that are what we test.
        new = rng.choice(
            [c for c in "ABCDEFGHJKLMNPRTUVWXY" if c != old and (ord(c) - ord(old)) % 10]
        )
    new_line = line[:position] + new + line[position + 1 :]
    return (*lines[:line_no], new_line, *lines[line_no + 1 :]), name


def _date_ok(line: str, start: int, position: int, digit: str) -> bool:
    candidate = line[:position] + digit + line[position + 1 :]
    value = candidate[start : start + 6]
    try:
        dt.datetime.strptime(value, "%y%m%d")
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------- drawing


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(OCRB_FONT), size)


# Physical sizes from ICAO 9303 (mm), drawn at 300 dpi (11.81 px/mm).
_SIZES_MM = {"TD1": (85.6, 54.0), "TD2": (105.0, 74.0), "TD3": (125.0, 88.0)}
_PX_PER_MM = 11.81


def render(identity: Identity, *, lines: tuple[str, ...] | None = None) -> Image.Image:
    """A specimen data page or card: tinted background, guilloche-like lines, a photo area, the
    printed (visual inspection zone) fields and the MRZ in OCR-B at ICAO's 10 characters per inch.
    """
    lines = lines or identity.lines
    width_mm, height_mm = _SIZES_MM[identity.fmt]
    width, height = round(width_mm * _PX_PER_MM), round(height_mm * _PX_PER_MM)
    seed = zlib.crc32("".join(lines).encode())
    rng = random.Random(seed)
    tint = (rng.randrange(215, 245), rng.randrange(220, 245), rng.randrange(225, 250))
    image = Image.new("RGB", (width, height), tint)
    draw = ImageDraw.Draw(image)
    for _ in range(40):  # background pattern the MRZ reader must ignore
        y0 = rng.randrange(0, height)
        colour = tuple(max(0, c - rng.randrange(15, 40)) for c in tint)
        draw.arc(
            (rng.randrange(-width, width), y0 - 400, rng.randrange(width, 2 * width), y0 + 400),
            0,
            180,
            fill=colour,
            width=2,
        )
    # photo placeholder
    draw.rectangle((40, 120, 40 + width // 4, 120 + height // 2), fill=(170, 160, 150))
    draw.ellipse((70, 160, 10 + width // 4, 60 + height // 3), fill=(120, 110, 100))
    small = identity.fmt == "TD1"  # a card: the same seven fields in less room
    label, value = (_font(17), _font(24)) if small else (_font(22), _font(30))
    x = 80 + width // 4
    draw.text((40, 30), _title(identity), font=_font(34), fill=(30, 40, 90))
    fields = [
        ("Surname / Nom", identity.surname),
        ("Given names / Prenoms", identity.given_names),
        ("Nationality", identity.nationality),
        ("Date of birth", identity.birth_date.strftime("%d %m %Y")),
        ("Sex", identity.sex),
        ("Document no", identity.document_number),
        ("Date of expiry", identity.expiry_date.strftime("%d %m %Y")),
    ]
    y = 110
    step = 52 if identity.fmt != "TD1" else 40
    for caption, text in fields:
        draw.text((x, y), caption, font=label, fill=(90, 90, 110))
        draw.text((x, y + (16 if small else 20)), text, font=value, fill=(10, 10, 10))
        y += step
    # MRZ: 2.54 mm character pitch; the OCR-B glyph box is about 0.7 em wide.
    pitch = 2.54 * _PX_PER_MM
    size = round(pitch / 0.7)
    mrz_font = _font(size)
    line_gap = round(size * 1.25)
    top = height - 30 - line_gap * len(lines)
    draw.rectangle((0, top - 20, width, height), fill=tuple(min(255, c + 10) for c in tint))
    left = (width - pitch * len(lines[0])) / 2
    for row, text in enumerate(lines):
        for col, char in enumerate(text):
            draw.text(
                (left + col * pitch, top + row * line_gap), char, font=mrz_font, fill=(0, 0, 0)
            )
    return image


def _title(identity: Identity) -> str:
    if identity.fmt == "TD3":
        return "PASSPORT / PASSEPORT"
    if identity.fmt == "TD2":
        return "IDENTITY CARD / CARTE D IDENTITE"
    return "IDENTITY CARD"


# ---------------------------------------------------------------------------------- degradation

VARIANTS = ("clean", "rotation", "blur", "jpeg", "noise", "lowres", "all")


def degrade(image: Image.Image, variant: str, rng: random.Random) -> Image.Image:
    """Apply one of VARIANTS. Strengths are those of an ordinary phone photo or office scan."""
    if variant == "clean":
        return image
    if variant == "rotation":
        return _rotate(image, rng.uniform(2.0, 4.0) * rng.choice((-1, 1)))
    if variant == "blur":
        return image.filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 2.2)))
    if variant == "jpeg":
        return _jpeg(image, rng.randrange(12, 22))
    if variant == "noise":
        return _noise(image, rng, sigma=rng.uniform(18, 26))
    if variant == "lowres":
        # A card scanned or photographed at about 150 dpi.
        scale = rng.uniform(0.45, 0.55)
        return image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.LANCZOS
        )
    if variant == "all":
        image = _rotate(image, rng.uniform(1.0, 2.5) * rng.choice((-1, 1)))
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.2)))
        image = _noise(image, rng, sigma=rng.uniform(8, 12))
        scale = rng.uniform(0.65, 0.75)
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.LANCZOS
        )
        return _jpeg(image, rng.randrange(35, 50))
    raise ValueError(variant)


def _rotate(image: Image.Image, degrees: float) -> Image.Image:
    # On a desk-coloured background, as a photo of a card on a table.
    return image.rotate(degrees, resample=Image.BICUBIC, expand=True, fillcolor=(90, 80, 70))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _noise(image: Image.Image, rng: random.Random, *, sigma: float) -> Image.Image:
    noise = Image.effect_noise(image.size, sigma).convert("RGB")
    # effect_noise is centred on 128: blend it in so the mean brightness stays.
    return Image.blend(image.convert("RGB"), noise, alpha=min(0.45, sigma / 60))


@dataclass(frozen=True)
class Specimen:
    identity: Identity
    lines: tuple[str, ...]  # what the MRZ on the picture says
    variant: str
    image: Image.Image
    tampered_field: str = ""

    def jpeg_bytes(self, quality: int = 92) -> bytes:
        buffer = io.BytesIO()
        self.image.convert("RGB").save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()

    def png_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, "PNG")
        return buffer.getvalue()


def specimens(
    count: int, *, variants: tuple[str, ...] = VARIANTS, seed: int = 9303
) -> Iterator[Specimen]:
    """`count` identities (cycling TD3, TD1, TD2), each drawn in every variant."""
    rng = random.Random(seed)
    formats = ("TD3", "TD1", "TD2")
    for index in range(count):
        identity = random_identity(rng, formats[index % 3])
        base = render(identity)
        for variant in variants:
            yield Specimen(identity, identity.lines, variant, degrade(base, variant, rng))


def tampered_specimens(
    count: int, *, seed: int = 666, variant: str = "clean"
) -> Iterator[Specimen]:
    rng = random.Random(seed)
    formats = ("TD3", "TD1", "TD2")
    for index in range(count):
        identity = random_identity(rng, formats[index % 3])
        lines, name = tamper(identity.lines, rng)
        image = degrade(render(identity, lines=lines), variant, rng)
        yield Specimen(identity, lines, variant, image, tampered_field=name)


# ------------------------------------------------------------------------------------- images


def photo_with_exif(
    *,
    software: str = "",
    original: dt.datetime | None = None,
    modified: dt.datetime | None = None,
    size: tuple[int, int] = (320, 240),
) -> bytes:
    """A JPEG with the given EXIF Software, DateTime (modified) and DateTimeOriginal tags."""
    image = Image.new("RGB", size, (120, 140, 160))
    exif = Image.Exif()
    exif[0x010F] = "Specimen Camera Co"  # Make
    exif[0x0110] = "SC-1"  # Model
    if software:
        exif[0x0131] = software
    if modified:
        exif[0x0132] = modified.strftime("%Y:%m:%d %H:%M:%S")
    if original:
        exif.get_ifd(0x8769)[0x9003] = original.strftime("%Y:%m:%d %H:%M:%S")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=85)
    return buffer.getvalue()


def plain_photo(size: tuple[int, int] = (320, 240)) -> bytes:
    """A JPEG with no EXIF at all, as messaging apps send them."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 190, 180)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def png_with_text(chunks: dict[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), (255, 255, 255)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def huge_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A PNG whose header claims `width` x `height` pixels: a decompression bomb. The pixel data
    is never written (readers refuse it from the header alone)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = compressor.compress(row * 64) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------- PDFs


def pdf_date(value: dt.datetime) -> str:
    """A PDF date string (ISO 32000-1 7.9.4), with its UTC offset when `value` has one."""
    text = "D:" + value.strftime("%Y%m%d%H%M%S")
    offset = value.utcoffset()
    if offset is None:
        return text
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}'{minutes % 60:02d}'"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def xmp_packet(
    *, creator_tool: str = "", producer: str = "", created: str = "", modified: str = ""
) -> bytes:
    parts = []
    if creator_tool:
        parts.append(f"<xmp:CreatorTool>{creator_tool}</xmp:CreatorTool>")
    if created:
        parts.append(f"<xmp:CreateDate>{created}</xmp:CreateDate>")
    if modified:
        parts.append(f"<xmp:ModifyDate>{modified}</xmp:ModifyDate>")
    if producer:
        parts.append(f"<pdf:Producer>{producer}</pdf:Producer>")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:pdf="http://ns.adobe.com/pdf/1.3/">' + "".join(parts) + "</rdf:Description>"
        "</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


@dataclass(frozen=True)
class PdfSpec:
    """What a hand-written specimen PDF contains."""

    text: tuple[str, ...] = ("BANQUE SPECIMEN", "Releve de compte", "Solde 1 234,56 EUR")
    producer: str = "Specimen Bank Statement Engine 4.2"
    creator: str = "Specimen Core Banking"
    created: dt.datetime | None = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
    modified: dt.datetime | None = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
    xmp: bytes = b""
    javascript: bool = False
    embedded_file: bool = False
    form: bool = False
    signed: bool = False
    linearized: bool = False
    with_text: bool = True  # False: a scan, one image and no text layer


def build_pdf(spec: PdfSpec = PdfSpec()) -> bytes:
    """A one-page PDF with exactly the structure `spec` asks for."""
    objects: dict[int, bytes] = {}
    catalog_extra = b""
    page_extra = b""
    # 1 catalog, 2 pages, 3 page, 4 font, 5 content, 6 info; optional ones from 7.
    if spec.with_text:
        lines = [
            f"BT /F1 14 Tf 72 {760 - 24 * i} Td ({_escape(t)}) Tj ET"
            for i, t in enumerate(spec.text)
        ]
        content = "\n".join(lines).encode()
        resources = b"/Resources << /Font << /F1 4 0 R >> >>"
    else:
        content = b"q 400 0 0 300 100 400 cm /Im1 Do Q"
        resources = b"/Resources << /XObject << /Im1 4 0 R >> >>"
    objects[5] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    if spec.with_text:
        objects[4] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    else:
        pixels = bytes(range(256)) * 30
        objects[4] = (
            b"<< /Type /XObject /Subtype /Image /Width 80 /Height 96 /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Length %d >>\nstream\n" % len(pixels) + pixels + b"\nendstream"
        )
    info = []
    if spec.producer:
        info.append(f"/Producer ({_escape(spec.producer)})")
    if spec.creator:
        info.append(f"/Creator ({_escape(spec.creator)})")
    if spec.created:
        info.append(f"/CreationDate ({pdf_date(spec.created)})")
    if spec.modified:
        info.append(f"/ModDate ({pdf_date(spec.modified)})")
    objects[6] = ("<< " + " ".join(info) + " >>").encode()
    next_id = 7
    if spec.xmp:
        objects[next_id] = (
            b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(spec.xmp)
            + spec.xmp
            + b"\nendstream"
        )
        catalog_extra += b" /Metadata %d 0 R" % next_id
        next_id += 1
    if spec.javascript:
        objects[next_id] = b"<< /S /JavaScript /JS (app.alert\\('hello'\\);) >>"
        catalog_extra += b" /OpenAction %d 0 R" % next_id
        next_id += 1
    if spec.embedded_file:
        payload = b"hidden,data\n1,2\n"
        objects[next_id] = (
            b"<< /Type /EmbeddedFile /Length %d >>\nstream\n" % len(payload)
            + payload
            + b"\nendstream"
        )
        objects[next_id + 1] = b"<< /Type /Filespec /F (data.csv) /EF << /F %d 0 R >> >>" % next_id
        catalog_extra += b" /Names << /EmbeddedFiles << /Names [(data.csv) %d 0 R] >> >>" % (
            next_id + 1
        )
        next_id += 2
    signature_id = None
    if spec.form or spec.signed:
        fields = []
        if spec.form:
            objects[next_id] = (
                b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /V (1234.56) "
                b"/Rect [72 600 272 620] /P 3 0 R >>"
            )
            fields.append(next_id)
            next_id += 1
        if spec.signed:
            signature_id = next_id
            objects[next_id] = (
                b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
                b"/ByteRange [0 ########## ########## ##########] "
                b"/Contents <" + b"0" * 512 + b"> /M (D:20260301090000Z) >>"
            )
            objects[next_id + 1] = (
                b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V %d 0 R "
                b"/Rect [0 0 0 0] /P 3 0 R >>" % next_id
            )
            fields.append(next_id + 1)
            next_id += 2
        catalog_extra += b" /AcroForm << /Fields [%s]%s >>" % (
            b" ".join(b"%d 0 R" % f for f in fields),
            b" /SigFlags 3" if spec.signed else b"",
        )
        page_extra += b" /Annots [%s]" % b" ".join(b"%d 0 R" % f for f in fields)
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R" + catalog_extra + b" >>"
    objects[2] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    objects[3] = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        + resources
        + page_extra
        + b" >>"
    )
    data = _linearized(objects) if spec.linearized else _serialise(objects)
    if signature_id is not None:
        data = _fill_byte_range(data)
    return data


def _serialise(
    objects: dict[int, bytes], *, header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
) -> bytes:
    out = bytearray(header)
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        if number in offsets:
            out += b"%010d 00000 n \n" % offsets[number]
        else:
            out += b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        xref,
    )
    return bytes(out)


def _linearized(objects: dict[int, bytes]) -> bytes:
    """A file laid out like a linearized ("fast web view") PDF: a linearization dictionary first,
    a first-page cross-reference section whose trailer points (/Prev) to the main one at the end,
    hence two `%%EOF` markers in a file that was saved once."""
    size = max(objects) + 2
    lin_id = size - 1
    header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"

    def layout(length: int, main_xref: int) -> bytes:
        out = bytearray(header)
        offsets: dict[int, int] = {}
        offsets[lin_id] = len(out)
        out += (
            b"%d 0 obj\n<< /Linearized 1 /L %010d /H [0 0] /O 3 /E 0 /N 1 /T %010d >>\nendobj\n"
            % (
                lin_id,
                length,
                main_xref,
            )
        )
        first_xref = len(out)
        first = [1, 2, 3]
        out += b"xref\n%d 1\n" % lin_id
        out += b"%010d 00000 n \n" % offsets[lin_id]
        out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R /Prev %010d >>\n" % (size, main_xref)
        out += b"startxref\n0\n%%EOF\n"
        for number in first + [n for n in sorted(objects) if n not in first]:
            offsets[number] = len(out)
            out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % lin_id
        for number in range(1, lin_id):
            out += (
                b"%010d 00000 n \n" % offsets[number]
                if number in offsets
                else b"0000000000 65535 f \n"
            )
        out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            size,
            first_xref,
        )
        return bytes(out), xref

    data, xref = layout(0, 0)
    data, xref2 = layout(len(data), xref)
    assert xref == xref2 and len(data) == int(re.search(rb"/L (\d+)", data).group(1))
    return data


def _fill_byte_range(data: bytes) -> bytes:
    """Write the signature's /ByteRange: everything but the /Contents hex string."""
    start = data.index(b"/Contents <") + len(b"/Contents ")
    end = data.index(b">", start) + 1
    values = (start, end, len(data) - end)
    placeholder = b"########## ########## ##########"
    filled = b" ".join(b"%010d" % v for v in values)
    return data.replace(placeholder, filled, 1)


def incremental_update(
    data: bytes, *, producer: str = "", modified: dt.datetime | None = None
) -> bytes:
    """Append a revision to `data` (the original bytes stay as they are), as an editor saving
    "in place" does. Written by hand so the original bytes are kept exactly."""
    xrefs = [int(m.group(1)) for m in re.finditer(rb"startxref\s+(\d+)", data)]
    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    info = b"<< /Producer (%s) /CreationDate (%s) /ModDate (%s) >>" % (
        _escape(producer or "Specimen Editor").encode(),
        pdf_date(PdfSpec.created).encode(),  # type: ignore[arg-type]
        pdf_date(modified or dt.datetime(2026, 3, 5, 15, 0, tzinfo=dt.UTC)).encode(),
    )
    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    offset = len(out)
    out += b"6 0 obj\n" + info + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n6 1\n%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        xrefs[-1],
        xref,
    )
    return bytes(out)


def encrypted_pdf() -> bytes:
    """A PDF encrypted with a user password we do not know (RC4: pypdf writes it without the
    `cryptography` package, which the project does not need otherwise)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(build_pdf())))
    writer.encrypt(user_password="secret-user", owner_password="secret-owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def with_identity(identity: Identity, **changes: object) -> Identity:
    return replace(identity, **changes)  # type: ignore[arg-type]


def pdf_with_picture(image: Image.Image) -> bytes:
    """A one-page PDF holding `image` as a JPEG, as a scanner or a phone "scan to PDF" writes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    width, height = image.size
    content = b"q 540 0 0 %d 36 300 cm /Im1 Do Q" % round(540 * height / width)
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /XObject << /Im1 4 0 R >> >> >>",
        4: b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n"
        % (width, height, len(jpeg))
        + jpeg
        + b"\nendstream",
        5: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        6: b"<< /Producer (Specimen Scanner 2.0) /CreationDate (D:20260301090000Z) "
        b"/ModDate (D:20260301090000Z) >>",
    }
    return _serialise(objects)


STANDARD_FONTS = (b"Helvetica", b"Times-Roman", b"Courier", b"Helvetica-Bold", b"Times-Italic")


def build_text_pdf(pages: int, *, seed: int = 0, lines_per_page: int = 60) -> bytes:
    """A multi-page statement-like PDF: every page full of text lines in five of the standard
    fonts, in random sizes. Drawing it exercises PDFium's font machinery (the shared state that
    made concurrent rendering crash)."""
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 "
    first_font, first_page = 7, 7 + len(STANDARD_FONTS)
    objects = {
        first_font + i: b"<< /Type /Font /Subtype /Type1 /BaseFont /" + name + b" >>"
        for i, name in enumerate(STANDARD_FONTS)
    }
    fonts = b" ".join(b"/F%d %d 0 R" % (i, first_font + i) for i in range(len(STANDARD_FONTS)))
    kids = []
    for page in range(pages):
        page_number = first_page + 2 * page
        kids.append(b"%d 0 R" % page_number)
        content = b"\n".join(
            b"BT /F%d %d Tf 36 %d Td (%s) Tj ET"
            % (
                rng.randrange(len(STANDARD_FONTS)),
                rng.randint(6, 14),
                800 - 13 * line,
                _escape("".join(rng.choices(alphabet, k=70))).encode(),
            )
            for line in range(lines_per_page)
        )
        objects[page_number] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
            b"/Resources << /Font << %s >> >> >>" % (page_number + 1, fonts)
        )
        objects[page_number + 1] = (
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
        )
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)
    objects[6] = b"<< /Producer (Specimen Core Banking) /CreationDate (D:20260301090000Z) >>"
    return _serialise(objects)

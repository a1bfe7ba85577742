"""The MRZ reader on generated specimens: accuracy floor, tampering, speed, one model load.

A modest sample keeps the suite fast; bench/mrz_accuracy.py measures the full set.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from kyc.analysis import analyse, ocr
from kyc.analysis.mrz import parse_mrz
from tests.analysis.specimens import (
    TODAY,
    degrade,
    pdf_with_picture,
    random_identity,
    render,
    tampered_specimens,
)

pytestmark = pytest.mark.slow

DEGRADED = ("rotation", "noise", "lowres", "all")  # blur and jpeg: see bench/mrz_accuracy.py
FIELDS = (
    "document_code",
    "issuing_country",
    "surname",
    "given_names",
    "document_number",
    "nationality",
    "birth_date",
    "sex",
    "expiry_date",
    "optional_data",
    "optional_data_2",
)


def fields(result):
    return {name: getattr(result, name) for name in FIELDS} if result else {}


@pytest.fixture(scope="module")
def sample():
    """Three identities (TD3, TD1, TD2), each clean and in DEGRADED variants: 15 pictures."""
    rng = random.Random(2026)
    pictures = []
    for fmt in ("TD3", "TD1", "TD2"):
        person = random_identity(rng, fmt)
        page = render(person)
        pictures.append((person, "clean", page))
        for variant in DEGRADED:
            pictures.append((person, variant, degrade(page, variant, rng)))
    return pictures


def jpeg(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_accuracy_floor_and_no_genuine_document_flagged_fraudulent(sample):
    exact: dict[str, list[bool]] = {"clean": [], "degraded": []}
    for person, variant, image in sample:
        kind = "passport" if person.fmt == "TD3" else "id_card"
        analysis = analyse(jpeg(image), "image/jpeg", kind=kind, today=TODAY)
        truth = fields(parse_mrz(person.lines, today=TODAY))
        group = "clean" if variant == "clean" else "degraded"
        exact[group].append(fields(analysis.mrz) == truth)
        if variant == "clean":
            assert analysis.mrz_flag[0] != "red", [f.as_dict() for f in analysis.mrz_findings]
            assert analysis.forensics_flag[0] != "red"
            assert analysis.mrz is not None and analysis.mrz.valid
    clean = sum(exact["clean"]) / len(exact["clean"])
    degraded = sum(exact["degraded"]) / len(exact["degraded"])
    assert clean >= 0.98, exact
    assert degraded >= 0.90, exact


def test_every_tampered_zone_is_flagged():
    for specimen in tampered_specimens(3, seed=31):
        kind = "passport" if specimen.identity.fmt == "TD3" else "id_card"
        analysis = analyse(specimen.png_bytes(), "image/png", kind=kind, today=TODAY)
        assert analysis.mrz is not None
        assert analysis.mrz.lines == specimen.lines  # read as altered, not "repaired"
        flagged = [f for f in analysis.mrz_findings if f.code == "mrz_check_digit" and f.level]
        assert flagged, (specimen.tampered_field, [f.as_dict() for f in analysis.mrz_findings])
        assert analysis.artemis["status"] == "UNCERTAIN"


def test_a_changed_name_shows_against_the_printed_fields():
    rng = random.Random(5)
    person = random_identity(rng, "TD3")
    printed = render(person)
    forged = render(person.__class__(**{**person.__dict__, "surname": "VANDERBILT"}))
    # The MRZ band of the forgery pasted under the genuine printed fields.
    mixed = printed.copy()
    top = int(printed.height * 0.8)
    mixed.paste(forged.crop((0, top, forged.width, forged.height)), (0, top))
    analysis = analyse(jpeg(mixed), "image/jpeg", kind="passport", today=TODAY)
    assert analysis.mrz.surname == "VANDERBILT"
    mismatch = [f for f in analysis.mrz_findings if f.code == "mrz_printed_mismatch"]
    assert [f.level for f in mismatch] == ["suspicious"]
    assert "surname" in mismatch[0].criteria["notFound"]


def test_no_mrz_in_a_picture_is_a_clear_reason():
    blank = Image.new("RGB", (800, 500), (230, 230, 230))
    analysis = analyse(jpeg(blank), "image/jpeg", kind="passport", today=TODAY)
    assert analysis.mrz is None
    assert [(f.code, f.level) for f in analysis.mrz_findings] == [("mrz_missing", "suspicious")]
    assert analysis.artemis["status"] == "FAILED"


def test_upside_down_photo_is_read_by_a_fallback_pass():
    person = random_identity(random.Random(11), "TD1")
    turned = render(person).rotate(180)
    reading = ocr.read_mrz(turned, printed_fields=False)
    assert reading.lines == person.lines
    assert reading.passes[-1] == "rotated_180"


def test_model_loads_once_per_process():
    person = random_identity(random.Random(3), "TD3")
    image = render(person)
    ocr.read_mrz(image, printed_fields=False)
    first = ocr.engine()
    ocr.read_mrz(image, printed_fields=False)
    assert ocr.engine() is first
    assert ocr.load_count() == 1


def test_models_come_from_the_wheel_and_nothing_is_downloaded(monkeypatch):
    import rapidocr
    from rapidocr.utils import download_file

    package = Path(rapidocr.__file__).resolve().parent
    for path in ocr.model_paths().values():
        assert path.is_file()
        assert package in path.parents

    def refuse(*args, **kwargs):
        raise AssertionError("RapidOCR tried to download a model")

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(refuse))
    fresh = ocr.build_engine()
    result = fresh(render(random_identity(random.Random(4), "TD2")).convert("L").convert("RGB"))
    assert result.txts  # the models loaded (lazily, on this first call) and read text


def test_scanned_id_card_in_a_pdf_is_read():
    person = random_identity(random.Random(8), "TD1")
    data = pdf_with_picture(render(person))
    analysis = analyse(data, "application/pdf", kind="id_card", today=TODAY)
    assert analysis.forensics_flag[0] == "green"
    assert analysis.mrz is not None
    assert analysis.mrz.lines == person.lines
    assert analysis.artemis["document_number"] == person.document_number


def test_huge_pictures_are_reduced_before_reading():
    from PIL import Image

    from kyc.analysis.ocr import MAX_SIDE, bounded

    small = Image.new("RGB", (1200, 800))
    assert bounded(small) is small
    huge = Image.new("L", (9000, 6600))
    reduced = bounded(huge)
    assert max(reduced.size) <= MAX_SIDE
    assert reduced.size == (3000, 2200)
    palette = Image.new("P", (7000, 100))
    assert max(bounded(palette).size) <= MAX_SIDE

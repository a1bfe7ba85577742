"""Reading text from identity document pictures: the MRZ first, the printed fields second.

RapidOCR 3.x on onnxruntime, with the detection and recognition models that ship inside the
`rapidocr` wheel (no download, ever: we hand it the model files' paths, so its downloader has
nothing to fetch). The engine is created lazily, once per process, and shared: loading costs
about a second and 0.5 GB, reading a band about 0.3 s.

Passes, cheapest first, stopping at the first that yields an MRZ of a known shape:
1. the bottom band of the picture (where ICAO puts the MRZ), scaled to about 1000 px wide;
2. the whole picture (a scan with the card anywhere on the page);
3. the whole picture turned 180, 90 and 270 degrees (photos taken upside down or sideways).
The orientation classifier stays off: MRZ lines are long and horizontal, and the classifier
costs time and sometimes flips them.

Nothing here decides whether a document is genuine: this module turns pixels into MRZ lines (and
records every character it had to normalise); kyc.analysis.mrz parses and checks them.
"""

from __future__ import annotations

import math
import re
import statistics
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

# ------------------------------------------------------------------------------ normalisation

# Look-alikes OCR models emit for Latin capitals, digits and the filler, written as escapes so
# the source stays readable. NFKC already folds the fullwidth forms (U+FF21 A, U+FF10 0, U+FF1C <).
_GREEK = (
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
    "ABEZHIKMNOPTYX",
)
_CYRILLIC = (
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423\u0425\u0406\u0408\u0405\u0417",
    "ABEKMHOPCTYXIJS3",
)
# What a filler "<" gets read as: guillemets, angle brackets, hiragana "ku", small less-than.
_FILLERS = "\u2039\u3008\u304f\ufe64\u27e8\u2329"
_DROPPED = "\u2018\u2019`' \u3000"
_LOOKALIKE_TABLE = {
    **str.maketrans(_GREEK[0] + _CYRILLIC[0], _GREEK[1] + _CYRILLIC[1]),
    **str.maketrans(_FILLERS, "<" * len(_FILLERS)),
    **str.maketrans("", "", _DROPPED),
    ord("\u00ab"): "<<",  # a run of two fillers read as one guillemet
}

# Position-based fixes: where ICAO allows only digits, a letter is the digit it looks like, and
# where only letters are allowed, a digit is the letter. Document numbers and optional data
# accept both, so nothing is changed there (a wrong guess would silently alter the number).
TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "Z": "2", "S": "5",
            "B": "8", "G": "6", "T": "7", "A": "4"}  # fmt: skip
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G", "7": "T", "4": "A"}

# Per format, per line: the kind of each position. a = letters (or filler), n = digit (or
# filler), s = sex, x = letters or digits.
_TD3_L2 = "x" * 9 + "n" + "aaa" + "n" * 7 + "s" + "n" * 7 + "x" * 14 + "nn"
_TD2_L2 = "x" * 9 + "n" + "aaa" + "n" * 7 + "s" + "n" * 7 + "x" * 7 + "n"
LAYOUTS: dict[str, tuple[str, ...]] = {
    "TD3": ("a" * 44, _TD3_L2),
    "TD2": ("a" * 36, _TD2_L2),
    "TD1": (
        "a" * 5 + "x" * 9 + "n" + "x" * 15,
        "n" * 7 + "s" + "n" * 7 + "aaa" + "x" * 11 + "n",
        "a" * 30,
    ),
    "FR_CNI": ("a" * 30 + "x" * 6, "x" * 12 + "n" + "a" * 14 + "n" * 7 + "s" + "n"),
}  # fmt: skip
# Where a line's free filler run may be miscounted by the OCR: (fixed head, fixed tail).
_ELASTIC = {
    "TD3": ((5, 0), (28, 2)),
    "TD2": ((5, 0), (28, 1)),
    "TD1": ((15, 0), (18, 1), (0, 0)),
    "FR_CNI": ((5, 6), (13, 9)),
}
LINE_LENGTHS = {"TD3": 44, "TD2": 36, "TD1": 30, "FR_CNI": 36}


def normalise_text(text: str) -> str:
    """Fold what an OCR model returns into the MRZ alphabet where a character is unambiguous."""
    text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKE_TABLE).upper()
    return text


def _mrzish(text: str) -> float:
    if not text:
        return 0.0
    return sum(c.isascii() and (c.isalnum() or c == "<") for c in text) / len(text)


@dataclass(frozen=True)
class Substitution:
    line: int
    position: int
    read: str
    written: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "position": self.position, "read": self.read, "to": self.written}


def fit_length(line: str, target: int, head: int, tail: int) -> str:
    """Make `line` `target` long by adding or dropping fillers in its free filler run (between
    `head` fixed characters and `tail` fixed characters). OCR engines often miscount long runs
    of "<"; data characters are never added or dropped."""
    if len(line) == target:
        return line
    if len(line) < target:
        missing = target - len(line)
        middle_end = len(line) - tail
        return line[:middle_end] + "<" * missing + line[middle_end:]
    extra = len(line) - target
    middle = line[head : len(line) - tail] if tail else line[head:]
    # Only fillers at the end of the free run may go.
    trailing = len(middle) - len(middle.rstrip("<"))
    if trailing < extra:
        return line
    trimmed = middle[: len(middle) - extra]
    return line[:head] + trimmed + (line[len(line) - tail :] if tail else "")


def fix_positions(
    lines: Sequence[str], fmt: str
) -> tuple[tuple[str, ...], tuple[Substitution, ...]]:
    """Apply the letter/digit fixes that a position's format makes unambiguous."""
    fixed: list[str] = []
    subs: list[Substitution] = []
    for row, (line, layout) in enumerate(zip(lines, LAYOUTS[fmt], strict=False)):
        chars = list(line)
        for pos, kind in enumerate(layout[: len(chars)]):
            char = chars[pos]
            new = char
            if kind == "n" and char not in "0123456789<":
                new = TO_DIGIT.get(char, char)
            elif kind == "a" and char not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ<":
                new = TO_LETTER.get(char, char)
            elif kind == "s" and char not in "MFX<":
                new = {"H": "M", "N": "M", "E": "F", "P": "F", "K": "<"}.get(char, char)
            if new != char:
                chars[pos] = new
                subs.append(Substitution(row, pos, char, new))
        fixed.append("".join(chars))
    return tuple(fixed), tuple(subs)


# --------------------------------------------------------------------------------- the engine

OCR_THREADS = 1
_ENGINE: Any = None
_ENGINE_LOCK = threading.Lock()
# RapidOCR keeps per-call options on the instance: one call at a time per process.
_CALL_LOCK = threading.Lock()
_LOADS = 0


def model_paths() -> dict[str, Path]:
    """The ONNX models inside the installed rapidocr package (never a cache or a download)."""
    import rapidocr

    root = Path(rapidocr.__file__).resolve().parent / "models"
    return {
        "det": root / "PP-OCRv6_det_small.onnx",
        "rec": root / "PP-OCRv6_rec_small.onnx",
    }


def build_engine() -> Any:
    """A new RapidOCR instance on the packaged models. Use `engine()`, which keeps one."""
    from rapidocr import RapidOCR

    paths = model_paths()
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise OcrUnavailable(f"OCR model files missing: {', '.join(missing)}")
    return RapidOCR(
        params={
            "Global.use_cls": False,
            "Global.log_level": "error",
            # Explicit paths: RapidOCR then never consults its download table.
            "Det.model_path": str(paths["det"]),
            "Rec.model_path": str(paths["rec"]),
            # Scale the longest side to ~1000 px: MRZ characters are then ~20 px wide, plenty
            # for recognition, and detection stays ~0.1 s.
            "Det.limit_type": "max",
            "Det.limit_side_len": 1024,
            # One thread per worker process: workers scale by processes (one per core), and
            # onnxruntime's spinning thread pool wastes CPU as soon as cores are shared (measured
            # here with other processes busy: 0.8 s instead of 1.2 s per band, a third less CPU).
            "EngineConfig.onnxruntime.intra_op_num_threads": OCR_THREADS,
        }
    )


def engine() -> Any:
    """The process-wide RapidOCR instance, created on first use."""
    global _ENGINE, _LOADS
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = build_engine()
                _LOADS += 1
    return _ENGINE


def load_count() -> int:
    """How many times this process built the OCR engine (should be at most 1)."""
    return _LOADS


class OcrUnavailable(RuntimeError):
    """The OCR engine cannot run here (its package or model files are missing)."""


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    box: tuple[tuple[float, float], ...]

    @property
    def top(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def bottom(self) -> float:
        return max(p[1] for p in self.box)

    @property
    def left(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def centre(self) -> tuple[float, float]:
        return (
            sum(p[0] for p in self.box) / len(self.box),
            sum(p[1] for p in self.box) / len(self.box),
        )

    @property
    def slope(self) -> float:
        """dy/dx of the text baseline (RapidOCR boxes run top-left, top-right, ...)."""
        if len(self.box) < 2 or self.box[1][0] == self.box[0][0]:
            return 0.0
        return (self.box[1][1] - self.box[0][1]) / (self.box[1][0] - self.box[0][0])

    @property
    def text_height(self) -> float:
        """Height across the text, not of the bounding rectangle (they differ when tilted)."""
        if len(self.box) < 4:
            return max(self.bottom - self.top, 1.0)
        (x0, y0), (x3, y3) = self.box[0], self.box[3]
        return max(((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5, 1.0)

    def same_row(self, other: TextLine) -> bool:
        (ax, ay), (bx, by) = self.centre, other.centre
        # Distance from other's centre to this line's baseline direction through its centre.
        offset = (by - ay) - self.slope * (bx - ax)
        return abs(offset) < 0.5 * self.text_height


def read_text(image: Image.Image) -> list[TextLine]:
    """Every text line RapidOCR finds in `image`, top to bottom."""
    import numpy as np

    array = np.asarray(image.convert("RGB"))[:, :, ::-1]  # RapidOCR expects BGR like OpenCV
    ocr_engine = engine()
    with _CALL_LOCK:
        result = ocr_engine(array)
    boxes = getattr(result, "boxes", None)
    texts = getattr(result, "txts", None) or ()
    scores = getattr(result, "scores", None) or ()
    lines = []
    for index, text in enumerate(texts):
        box = tuple((float(x), float(y)) for x, y in boxes[index]) if boxes is not None else ()
        lines.append(TextLine(str(text), float(scores[index]), box or ((0, index), (0, index))))
    lines.sort(key=lambda line: (line.middle, line.left))
    return lines


# ------------------------------------------------------------------------------- MRZ reading


@dataclass(frozen=True)
class MrzReading:
    """What the reader saw: the MRZ lines (normalised, fitted to length, position-fixed), their
    OCR scores, how they were found, and every character it changed on the way."""

    found: bool
    fmt: str = ""
    lines: tuple[str, ...] = ()
    raw_lines: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()
    substitutions: tuple[Substitution, ...] = ()
    passes: tuple[str, ...] = ()
    seconds: float = 0.0
    printed_text: tuple[str, ...] = ()
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "format": self.fmt,
            "lines": list(self.lines),
            "raw_lines": list(self.raw_lines),
            "scores": [round(s, 4) for s in self.scores],
            "substitutions": [s.as_dict() for s in self.substitutions],
            "passes": list(self.passes),
            "seconds": round(self.seconds, 3),
            "printed_text": list(self.printed_text),
            "message": self.message,
        }


def _merge_rows(lines: list[TextLine]) -> list[TextLine]:
    """Join boxes that sit on the same row (OCR may split an MRZ line at a long filler run)."""
    rows: list[list[TextLine]] = []
    for line in lines:
        for row in rows:
            if row[0].same_row(line):
                row.append(line)
                break
        else:
            rows.append([line])
    merged = []
    for row in rows:
        row.sort(key=lambda line: line.left)
        text = "".join(line.text for line in row)
        score = min(line.score for line in row)
        # The merged box runs from the first box's left edge to the last one's right edge.
        first, last = row[0].box, row[-1].box
        box = (first[0], last[1], last[2], first[3]) if len(first) == len(last) == 4 else first
        merged.append(TextLine(text, score, box))
    merged.sort(key=lambda line: line.centre[1])
    return merged


def _candidates(lines: list[TextLine]) -> list[TextLine]:
    found = []
    for line in _merge_rows(lines):
        text = normalise_text(line.text)
        if len(text) >= 26 and _mrzish(text) >= 0.9 and ("<" in text or len(text) >= 30):
            found.append(TextLine(text, line.score, line.box))
    return found


def _choose(candidates: list[TextLine]) -> tuple[str, list[TextLine]] | None:
    """The best group of consecutive candidate lines forming a TD1, TD2 or TD3 zone."""
    best: tuple[float, str, list[TextLine]] | None = None
    for fmt, count in (("TD1", 3), ("TD3", 2), ("TD2", 2)):
        length = LINE_LENGTHS[fmt]
        for start in range(len(candidates) - count + 1):
            group = candidates[start : start + count]
            lengths = [len(line.text) for line in group]
            spread = max(abs(n - length) for n in lengths)
            if spread > 4:
                continue
            score = statistics.mean(line.score for line in group) - 0.05 * spread
            french = fmt == "TD2" and group[0].text.startswith("IDFRA")
            fmt_name = "FR_CNI" if french else fmt
            if best is None or score > best[0]:
                best = (score, fmt_name, group)
    if best is None:
        return None
    return best[1], best[2]


def _extract(lines: list[TextLine]) -> MrzReading | None:
    chosen = _choose(_candidates(lines))
    if chosen is None:
        return None
    fmt, group = chosen
    raw = tuple(line.text for line in group)
    fitted = tuple(
        fit_length(text, LINE_LENGTHS[fmt], *_ELASTIC[fmt][index]) for index, text in enumerate(raw)
    )
    fixed, subs = fix_positions(fitted, fmt)
    top = min(line.top for line in group)
    printed = tuple(line.text for line in lines if line.bottom < top)
    return MrzReading(
        found=True,
        fmt=fmt,
        lines=fixed,
        raw_lines=raw,
        scores=tuple(line.score for line in group),
        substitutions=subs,
        printed_text=printed,
    )


def _scaled(image: Image.Image, width: int) -> Image.Image:
    if image.width <= width * 1.1 and image.width >= width * 0.6:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


# OCR reads at most 1,400 px wide; a larger picture only costs memory and time (a 59-megapixel
# photo took 11 s and 2 GB before this bound).
MAX_SIDE = 3000


def bounded(image: Image.Image) -> Image.Image:
    """The picture shrunk by a whole factor (a cheap box reduction) so its long side is at most
    MAX_SIDE; unchanged when it is already small enough."""
    factor = math.ceil(max(image.size) / MAX_SIDE)
    if factor <= 1:
        return image
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")
    return image.reduce(factor)


def read_mrz(image: Image.Image, *, printed_fields: bool = True) -> MrzReading:
    """Find and read the MRZ of an identity document picture.

    With `printed_fields`, the text above the MRZ is read too (one more OCR pass on the upper
    part) so the caller can compare the printed names and dates with the MRZ.
    """
    started = time.perf_counter()
    image = bounded(image).convert("RGB")
    passes: list[str] = []
    reading: MrzReading | None = None
    attempts: list[tuple[str, Image.Image]] = []
    band_top = int(image.height * 0.55)
    attempts.append(("bottom_band", image.crop((0, band_top, image.width, image.height))))
    attempts.append(("full", image))
    for angle in (180, 90, 270):
        attempts.append((f"rotated_{angle}", image.rotate(angle, expand=True)))
    used: Image.Image | None = None
    for name, picture in attempts:
        passes.append(name)
        target = 1000 if name == "bottom_band" else 1400
        reading = _extract(read_text(_scaled(picture, target)))
        if reading is not None:
            used = picture if name != "bottom_band" else image
            break
    if reading is None:
        return MrzReading(
            found=False,
            passes=tuple(passes),
            seconds=time.perf_counter() - started,
            message="no machine readable zone found",
        )
    printed = reading.printed_text
    if printed_fields and passes[-1] == "bottom_band" and used is not None:
        # The band pass saw little above the MRZ: read the upper part of the document.
        upper = used.crop((0, 0, used.width, band_top))
        printed = tuple(line.text for line in read_text(_scaled(upper, 800))) + printed
    return MrzReading(
        found=True,
        fmt=reading.fmt,
        lines=reading.lines,
        raw_lines=reading.raw_lines,
        scores=reading.scores,
        substitutions=reading.substitutions,
        passes=tuple(passes),
        seconds=time.perf_counter() - started,
        printed_text=printed,
    )


# --------------------------------------------------------------------- printed fields vs MRZ


def printed_tokens(printed: Sequence[str]) -> str:
    """The printed text as one string of MRZ-alphabet characters separated by single spaces."""
    text = " ".join(normalise_text(line) for line in printed)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^A-Z0-9]+", " ", text).strip()

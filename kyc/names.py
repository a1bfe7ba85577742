"""Names that leave the server: what a stored file is called when it is downloaded, put in an
archive or shown on a page, and text from a file (a PDF's link target) shown to an analyst.

Pure functions, no Django: the built-in engine (kyc.analysis) uses them too.

A file's name is chosen by whoever sent it, and lies as easily as its extension: `invoice.html`
that holds a JPEG, `photo\\u202egnp.exe` that shows as `photoexe.png` (U+202E, RIGHT-TO-LEFT
OVERRIDE, reverses what follows), a name with a line break that splits a header. So every name
that leaves the server goes through `safe_file_name`: no path, no control, format or bidi
character, no character a file system refuses, bounded, and the extension of the type sniffed
from the bytes (kyc.intake), not the one it came with.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# Unicode categories that are never seen, only obeyed: controls (Cc: NUL, CR, LF, ESC...),
# format characters (Cf: the bidi overrides and isolates U+202A-U+202E and U+2066-U+2069, the
# marks U+200E/U+200F, zero-width spaces and joiners, the BOM, the soft hyphen), line and
# paragraph separators, surrogates, private-use and unassigned code points.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})

# The extension each accepted type gets, and the other spellings of it that are kept as they
# are ("scan.JPEG" stays "scan.JPEG").
EXTENSIONS = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/png": ("png",),
    "image/tiff": ("tif", "tiff"),
    "image/webp": ("webp",),
    # Bytes of no type we know: no extension that a desktop would open them with.
    "application/octet-stream": ("bin",),
}
# Reserved by Windows (and refused or mangled in archives unpacked there), and the path
# separators.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
# A last suffix taken for an extension (and replaced): a few letters and digits, at least one
# letter. "statement 03.2026" keeps its ".2026".
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,8})$")
_WINDOWS_DEVICES = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.IGNORECASE)
MAX_NAME_LENGTH = 150
DEFAULT_STEM = "document"


def visible(text: str) -> str:
    """`text` without the characters nobody sees (see INVISIBLE_CATEGORIES), in NFC form."""
    text = unicodedata.normalize("NFC", str(text))
    return "".join(ch for ch in text if unicodedata.category(ch) not in INVISIBLE_CATEGORIES)


def safe_file_name(
    name: str, content_type: str | None = None, *, default: str = DEFAULT_STEM
) -> str:
    """The name a stored file gets wherever it leaves the server (download, archive, page).

    Only the last path component; invisible characters dropped, characters Windows refuses
    replaced by "_", spaces and dots trimmed at both ends (Windows drops trailing ones, which
    would uncover an extension hidden behind them); at most MAX_NAME_LENGTH characters. With a
    `content_type` we know the extension of (kyc.intake's sniffed types), the name ends with it:
    a contradicting extension is replaced, a missing one added. Without one, the extension is
    kept as it came.
    """
    name = visible(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _FORBIDDEN.sub("_", name).strip(" .")
    extensions = EXTENSIONS.get(content_type or "")
    if extensions:
        match = _EXTENSION.search(name)
        suffix = match.group(1) if match and re.search("[A-Za-z]", match.group(1)) else ""
        if suffix.lower() in extensions:
            extension = suffix
            stem = name[: -len(suffix) - 1]
        else:
            extension = extensions[0]
            stem = (name[: -len(suffix) - 1] if suffix else name).rstrip(" .")
            # "report.pdf.exe" holding a PDF: its true extension is there already.
            inner = _EXTENSION.search(stem)
            if inner and inner.group(1).lower() in extensions:
                extension = inner.group(1)
                stem = stem[: -len(extension) - 1]
        stem = stem.rstrip(" .")
    else:
        stem, extension = name, ""
    if not stem or _WINDOWS_DEVICES.match(stem):
        stem = f"{default}-{stem}" if stem else default
    if extension:
        stem = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip(" .") or default
        return f"{stem}.{extension}"
    return stem[:MAX_NAME_LENGTH].rstrip(" .") or default


def recorded_file_name(name: str, *, default: str = DEFAULT_STEM) -> str:
    """The uploader's file name as the database keeps it (Document.original_name): the last
    path component, invisible characters removed, at most 255 characters; otherwise as given,
    its extension included, even when it contradicts the content (that is what the uploader
    called it). Invisible characters are not kept even for the record: nobody can read them,
    they only ever disguise a name, PostgreSQL cannot store NUL, and a stored name without them
    cannot reorder a page or a header that forgets `safe_file_name`."""
    name = visible(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name.strip()[:255] or default


def ascii_file_name(
    name: str, content_type: str | None = None, *, default: str = DEFAULT_STEM
) -> str:
    """`safe_file_name`, then letters folded to ASCII and everything but ASCII letters, digits,
    dot, dash and underscore replaced: for archive members, which every unzip tool must unpack
    alike whatever its encoding. Never starts with a dot."""
    name = safe_file_name(name, content_type, default=default)
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", folded).strip("._")
    if not cleaned or (content_type in EXTENSIONS and "." not in cleaned):
        return safe_file_name(default, content_type, default=default)
    return cleaned


def json_visible(value: Any, **options: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, **options)` with every invisible character
    written as a \\u escape: the same JSON value, but one that a text editor, a spreadsheet or
    a web page cannot be reordered by (a U+202E inside a file name), for exports and for the
    audit trail's before/after values shown in pages. Those are the record and stay exact."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return "".join(_escaped(ch) if _invisible(ch) else ch for ch in text)


def _invisible(ch: str) -> bool:
    return ch >= "\x7f" and unicodedata.category(ch) in INVISIBLE_CATEGORIES


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

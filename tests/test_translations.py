"""The French translation stays complete.

"User-facing text in English and French": the catalogue kyc/locale/fr/LC_MESSAGES/django.po has
no untranslated or fuzzy entry, the committed django.mo is compiled from it, every string that
`make messages` extracts from today's code is in it (this is what fails when someone adds an
English string without translating it), and the key pages render in French.

The catalogue checks need GNU gettext (`msgfmt`, `xgettext`, `msgmerge`: Debian `gettext`,
installed by scripts/system-deps.sh); without it they skip, except under CI where they fail.
"""

from __future__ import annotations

import ast
import gettext
import html
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from kyc.models import Document, Report
from tests import builders
from tests.factories import make_customer, make_document

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "kyc" / "locale" / "fr" / "LC_MESSAGES"
PO = CATALOGUE / "django.po"
MO = CATALOGUE / "django.mo"
# Top-level folders `make messages` leaves out (keep in step with the Makefile).
NOT_SCANNED = (".venv", "tests", "bench", "var", "artifacts")
# French typography of the catalogue: the typographic apostrophe, a no-break space before : ; ? !
APOSTROPHE = "\N{RIGHT SINGLE QUOTATION MARK}"
NOT_COPIED = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"}
FIX = (
    "run `make messages`, translate the new entries in kyc/locale/fr/LC_MESSAGES/django.po, "
    "run `make messages` again and commit both the .po and the .mo"
)


# ---------------------------------------------------------------------------------- .po files


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())

    def where(self) -> str:
        return f"{self.msgid!r} ({' '.join(self.references)[:80] or 'no reference'})"


_LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$')


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file as gettext writes it (one block per entry, blank lines between);
    the header and obsolete `#~` entries are left out."""
    entries = []
    for block in re.split(r"\n\s*\n", text):
        entry, key = Entry(msgid=""), None
        for line in block.strip().splitlines():
            line = line.strip()
            if line.startswith("#~"):
                continue
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#:"):
                entry.references.extend(line[2:].split())
            elif line.startswith("#"):
                continue
            elif match := _LINE.match(line):
                keyword, index, literal = match.groups()
                key = (keyword, int(index or 0))
                value = ast.literal_eval(literal)
                if keyword == "msgstr":
                    entry.msgstr[key[1]] = value
                else:
                    setattr(entry, keyword, value)
            elif line.startswith('"') and key is not None:
                value = ast.literal_eval(line)
                if key[0] == "msgstr":
                    entry.msgstr[key[1]] += value
                else:
                    setattr(entry, key[0], getattr(entry, key[0]) + value)
            else:
                raise ValueError(f"cannot parse {line!r} in:\n{block}")
        if entry.msgid:
            entries.append(entry)
    return entries


def incomplete(entries: list[Entry]) -> list[str]:
    return [entry.where() for entry in entries if not entry.translated or "fuzzy" in entry.flags]


def require_gettext() -> None:
    missing = [tool for tool in ("msgfmt", "xgettext", "msgmerge") if not shutil.which(tool)]
    if missing:
        message = f"GNU gettext is missing ({', '.join(missing)}): bash scripts/system-deps.sh"
        if os.environ.get("CI"):
            pytest.fail(f"{message}. CI must check the translations.", pytrace=False)
        pytest.skip(message)


def test_parser_reads_plurals_contexts_and_continuations():
    entries = parse_po(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        "#: a.py:1\n#, fuzzy, python-format\n"
        'msgctxt "menu"\nmsgid ""\n"Open %(n)s "\n"file"\nmsgid_plural "Open files"\n'
        'msgstr[0] "Ouvrir"\nmsgstr[1] ""\n"Ouvrir les \\"fichiers\\""\n\n'
        '#~ msgid "gone"\n#~ msgstr "parti"\n'
        '#: b.py:2\nmsgid "Empty"\nmsgstr ""\n'
    )
    assert len(entries) == 2
    first, second = entries
    assert (first.msgctxt, first.msgid, first.msgid_plural) == (
        "menu",
        "Open %(n)s file",
        "Open files",
    )
    assert first.msgstr == {0: "Ouvrir", 1: 'Ouvrir les "fichiers"'}
    assert first.flags == {"fuzzy", "python-format"} and first.references == ["a.py:1"]
    assert (second.msgid, second.translated) == ("Empty", False)
    assert len(incomplete(entries)) == 2


# ----------------------------------------------------------------------------- the catalogue


def test_french_catalogue_is_complete():
    text = PO.read_text(encoding="utf-8")
    header = text.split("\n\n", 1)[0]
    assert '"Language: fr\\n"' in header
    assert '"Content-Type: text/plain; charset=UTF-8\\n"' in header
    assert '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"' in header
    assert "fuzzy" not in header
    entries = parse_po(text)
    assert len(entries) > 500
    missing = incomplete(entries)
    assert not missing, f"untranslated or fuzzy entries ({FIX}):\n" + "\n".join(missing)


def test_french_typography_is_consistent():
    """The typographic apostrophe (U+2019, never a straight one), and a no-break space before
    : ; ? ! and inside « »."""
    bad = []
    for entry in parse_po(PO.read_text(encoding="utf-8")):
        for text in entry.msgstr.values():
            if "'" in text:
                bad.append(f"straight apostrophe: {text!r}")
            # A colon right after a quote is JSON (the OCR corrections' help text).
            if re.search(r'[^\u00a0\u202f"][:;?!](\s|$)', text):
                bad.append(f"no no-break space before : ; ? !: {text!r}")
            if re.search(r"«(?!\u00a0)|(?<!\u00a0)»", text):
                bad.append(f"no no-break space inside « »: {text!r}")
    assert not bad, "\n".join(bad)


def _catalog(path: Path) -> dict:
    with path.open("rb") as handle:
        messages = dict(gettext.GNUTranslations(handle)._catalog)
    messages.pop("", None)  # the header (dates) is not a message
    return messages


def test_compiled_catalogue_matches_the_po(tmp_path):
    require_gettext()
    compiled = tmp_path / "django.mo"
    result = subprocess.run(
        ["msgfmt", "--check-format", "--check-header", "-o", str(compiled), str(PO)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    fresh, committed = _catalog(compiled), _catalog(MO)
    stale = sorted(str(key) for key in fresh.keys() ^ committed.keys()) + sorted(
        str(key) for key in fresh.keys() & committed.keys() if fresh[key] != committed[key]
    )
    assert not stale, f"django.mo is older than django.po ({FIX}):\n" + "\n".join(stale[:20])


def _copy_ignore(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == ROOT
    return {n for n in names if n in NOT_COPIED or (top and n in NOT_SCANNED)}


def test_every_string_in_the_code_is_in_the_catalogue(tmp_path):
    """`make messages` on a copy of the sources: anything new comes out untranslated or fuzzy."""
    require_gettext()
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=_copy_ignore)
    ignores = [arg for name in NOT_SCANNED for arg in ("--ignore", f"{name}/*")]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kyc.settings", "DEBUG": "True"}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete", *ignores],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    regenerated = parse_po((copy / PO.relative_to(ROOT)).read_text(encoding="utf-8"))
    committed = {(e.msgctxt, e.msgid) for e in parse_po(PO.read_text(encoding="utf-8"))}
    new = [e.where() for e in regenerated if (e.msgctxt, e.msgid) not in committed]
    assert not new, f"strings missing from the French catalogue ({FIX}):\n" + "\n".join(new)
    assert not incomplete(regenerated)


# ------------------------------------------------------------------------------- pages in French


def visible_text(body: str) -> str:
    """What a reader gets: text nodes plus the title, placeholder and aria-label attributes."""
    body = re.sub(r"(?s)<(script|style|template)\b.*?</\1>", " ", body)
    attributes = re.findall(r'\b(?:title|placeholder|aria-label|alt)="([^"]*)"', body)
    text = re.sub(r"(?s)<[^>]+>", "\n", body)
    return html.unescape("\n".join([text, *attributes]))


@pytest.fixture
def pages(analyst):
    customer = make_customer(actor=analyst)
    passport = make_document(customer=customer, kind=Document.Kind.PASSPORT, actor=analyst)
    builders.make_ocr_result(document=passport)
    report = builders.make_report(
        document=passport,
        source=Report.Source.LOCAL_FORENSICS,
        reasons=[
            {
                "code": "software",
                "title": "Editing software",
                "detail": "",
                "level": "suspicious",
                "criteria": {},
            }
        ],
    )
    builders.make_alert(customer=customer)
    return {
        "queue": reverse("kyc:home"),
        "customer file": reverse("kyc:customer-detail", args=[customer.pk]),
        "new customer": reverse("kyc:customer-create"),
        "report": reverse("kyc:report-detail", args=[report.pk]),
        "OCR page": reverse("kyc:ocr-document", args=[passport.pk]),
        "alerts inbox": reverse("kyc:alerts-inbox"),
    }


# page: (French text that must be there, the English text it replaces)
EXPECTED = {
    "queue": (
        ["Dossiers", "Dossier suivant non attribué", f"M{APOSTROPHE}attribuer", "Se déconnecter"],
        ["Cases", "Next unassigned case", "Assign to me", "Log out"],
    ),
    "customer file": (
        ["Déposer des documents", "Relevé bancaire", "Justificatif de domicile", "Extrait Kbis"],
        ["Upload documents", "Bank statement", "Proof of address", "Assign to me"],
    ),
    "new customer": (
        ["Nouveau client", "Personne physique", "Dénomination sociale", "Créer le dossier client"],
        ["New customer", "Individual", "Legal name", "Create the customer file"],
    ),
    "report": (
        ["Motifs", "Logiciel de retouche", "Indicateur global", "Données brutes"],
        ["Reasons", "Editing software", "Overall flag", "Raw payload"],
    ),
    "OCR page": (
        [
            "Résultats OCR",
            "Champs par source",
            "Enregistrer la correction",
            "Historique des corrections",
        ],
        ["OCR results", "Fields by source", "Save the correction", "Correction history"],
    ),
    "alerts inbox": (
        ["Boîte de réception des alertes", "Prendre en compte", "Écarter", "Dirigeant"],
        ["Alerts inbox", "Acknowledge", "Dismiss", "Manager"],
    ),
}


def _words_found(text: str, phrases: list[str]) -> list[str]:
    return [p for p in phrases if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text)]


@pytest.mark.parametrize("page", list(EXPECTED))
def test_key_pages_render_in_french(client, analyst, pages, page):
    french, english = EXPECTED[page]
    client.force_login(analyst)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.get(pages[page])
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="fr">' in body
    text = visible_text(body)
    assert _words_found(text, french) == french
    assert _words_found(text, english) == []

    # The same page in English says what the French one must not (so the check above bites).
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english_text = visible_text(client.get(pages[page]).content.decode())
    assert _words_found(english_text, english) == english


def test_no_catalogued_english_line_is_left_on_french_pages(client, analyst, pages):
    """A whole line of English that the catalogue translates means a string was not marked."""
    translated = {
        entry.msgid: entry.msgstr[0]
        for entry in parse_po(PO.read_text(encoding="utf-8"))
        if entry.msgid_plural is None and entry.msgstr.get(0) not in ("", entry.msgid)
    }
    client.force_login(analyst)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    leaks = []
    for page, url in pages.items():
        for line in visible_text(client.get(url).content.decode()).splitlines():
            line = " ".join(line.split())
            if line in translated:
                leaks.append(f"{page}: {line!r}")
    assert not leaks


def test_login_page_follows_the_browser_language(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    text = visible_text(response.content.decode())
    french = ["Se connecter", f"Nom d{APOSTROPHE}utilisateur", "Mot de passe"]
    assert _words_found(text, french) == french
    assert _words_found(text, ["Log in", "Username", "Password"]) == []
    english = visible_text(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert _words_found(english, ["Log in", "Username", "Password"]) == [
        "Log in",
        "Username",
        "Password",
    ]

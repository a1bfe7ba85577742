"""`manage.py analyse`: one JSON object per line, the worker's code path, errors per file."""

from __future__ import annotations

import io
import json
import random

import pytest
from django.core.management import CommandError, call_command

from tests.analysis.specimens import PdfSpec, build_pdf, random_identity, render


def run(*args: str) -> tuple[list[dict], str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    error = None
    try:
        call_command("analyse", *args, stdout=out, stderr=err)
    except CommandError as exc:
        error = exc
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return lines, out.getvalue(), error


def test_json_lines_for_pdfs_and_an_error_line_for_a_bad_file(tmp_path):
    clean = tmp_path / "statement.pdf"
    clean.write_bytes(build_pdf())
    edited = tmp_path / "edited.pdf"
    edited.write_bytes(build_pdf(PdfSpec(producer="iLovePDF")))
    text = tmp_path / "notes.txt"
    text.write_text("not a document")
    lines, _out, error = run(
        str(clean), str(edited), str(text), "--json", "--kind", "bank_statement"
    )
    assert error is not None  # one file failed: non-zero exit
    first, second, third = lines
    assert first["file"] == str(clean)
    assert first["content_type"] == "application/pdf"
    assert first["report"]["source"] == "local_forensics"
    assert first["report"]["flag"] == {"color": "green", "value": 0.0}
    assert first["report"]["reasons"]
    assert first["ocr"] is None
    assert second["report"]["flag"]["color"] == "orange"
    assert {r["code"] for r in second["report"]["reasons"] if r["level"]} == {"software"}
    assert third == {"file": str(text), "error": "not a PDF or a picture we read"}


def test_exit_status_is_zero_when_every_file_was_analysed(tmp_path):
    clean = tmp_path / "statement.pdf"
    clean.write_bytes(build_pdf())
    lines, _out, error = run(str(clean), "--json")
    assert error is None
    assert len(lines) == 1


def test_missing_file_is_an_error_line(tmp_path):
    lines, _out, error = run(str(tmp_path / "nope.pdf"), "--json")
    assert error is not None
    assert lines[0]["file"].endswith("nope.pdf")
    assert "cannot read" in lines[0]["error"]


def test_readable_summary_without_json(tmp_path):
    clean = tmp_path / "statement.pdf"
    clean.write_bytes(build_pdf())
    out, error = _plain(str(clean))
    assert error is None
    assert "local_forensics: GREEN" in out
    assert "[info] Incremental updates: saved once" in out


def _plain(*args: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("analyse", *args, stdout=out, no_color=True)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.mark.slow
def test_identity_picture_has_the_ocr_block(tmp_path):
    person = random_identity(random.Random(21), "TD1")
    picture = tmp_path / "card.png"
    render(person).save(picture, "PNG")
    [line], _out, error = run(str(picture), "--json", "--kind", "id_card")
    assert error is None
    assert line["content_type"] == "image/png"
    assert line["report"]["source"] == "local_mrz"
    assert [r["source"] for r in line["reports"]] == ["local_forensics", "local_mrz"]
    ocr = line["ocr"]
    assert ocr["mrz_lines"] == list(person.lines)
    assert ocr["fields"]["document_number"] == person.document_number
    assert ocr["fields"]["birth_date"] == person.birth_date.isoformat()
    assert set(ocr["check_digits"]) == {"document_number", "birth_date", "expiry_date", "composite"}
    assert all(check["valid"] for check in ocr["check_digits"].values())
    assert ocr["result"]["document number hash"] == "true"
    assert ocr["result"]["mrz_raw_string"] == "\n".join(person.lines)

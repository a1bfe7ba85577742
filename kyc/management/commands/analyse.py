"""`manage.py analyse FILE [FILE ...] [--json]`: the built-in engine on files, exactly as the
task worker runs it (LocalProvider.submit on a job snapshot), without touching the database.

With --json, one JSON object per file and per line:

    {"file": "...", "content_type": "image/jpeg",
     "report": {"source": "local_mrz", "flag": {"color": "green", "value": 0.0}, "reasons": [...]},
     "reports": [<every report, same shape>],
     "ocr": null | {"mrz_lines": [...], "fields": {...}, "check_digits": {...},
                    "result": {<Artemis OCR keys>}},
     "seconds": 0.41}

`report` is the document's main report: `local_mrz` for identity documents, `local_forensics`
otherwise; `reports` has them all. A file that cannot be analysed prints
{"file": "...", "error": "..."}; the exit status is non-zero if any file failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyc.intake import SNIFF_BYTES, sniff
from kyc.providers.base import (
    CustomerInput,
    DocumentInput,
    JobInput,
    ProviderError,
    ReportData,
    RequestInput,
)
from kyc.providers.local import OPERATION_IDENTITY, LocalProvider

KINDS = (
    "auto",
    "id_card",
    "passport",
    "residence_permit",
    "bank_statement",
    "financial_statement",
    "company_registration",
    "proof_of_address",
    "other",
)


def _report_json(report: ReportData) -> dict[str, Any]:
    return {
        "source": report.source,
        "flag": {"color": report.flag_color, "value": report.score},
        "reasons": [reason.as_dict() for reason in report.reasons],
    }


def _ocr_json(report: ReportData | None) -> dict[str, Any] | None:
    if report is None:
        return None
    mrz = dict(report.raw).get("mrz") or {}
    parsed = mrz.get("parsed") or {}
    reading = mrz.get("reading") or {}
    fields = {k: v for k, v in parsed.items() if k not in ("checks", "lines")}
    return {
        "mrz_lines": parsed.get("lines") or reading.get("lines") or [],
        "fields": fields,
        "check_digits": mrz.get("check_digits") or {},
        "result": mrz.get("artemis") or {},
    }


class Command(BaseCommand):
    help = (
        "Analyse files with the built-in engine (document forensics, MRZ reading) exactly as the "
        "task worker does, and print the reports. Nothing is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        parser.add_argument(
            "--kind",
            choices=KINDS,
            default="auto",
            help="document kind; auto: pictures are read as ID cards (MRZ), PDFs as 'other'",
        )
        parser.add_argument("--siren", default="", help="the customer's SIREN (company)")
        parser.add_argument("--first-name", default="", help="declared first name (individual)")
        parser.add_argument("--last-name", default="", help="declared last name (individual)")
        parser.add_argument(
            "--birth-date", default="", help="declared birth date, YYYY-MM-DD (individual)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customer = self._customer(options)
        failures = 0
        for index, name in enumerate(options["files"], start=1):
            line = self._analyse(Path(name), index, options["kind"], customer)
            if "error" in line:
                failures += 1
            if options["json"]:
                self.stdout.write(json.dumps(line, ensure_ascii=False, default=str))
            else:
                self._summary(line)
        if failures:
            raise CommandError(
                f"{failures} of {len(options['files'])} file(s) could not be analysed"
            )

    def _customer(self, options: dict[str, Any]) -> CustomerInput:
        birth = None
        if options["birth_date"]:
            try:
                birth = dt.date.fromisoformat(options["birth_date"])
            except ValueError as exc:
                raise CommandError("--birth-date must be YYYY-MM-DD") from exc
        if options["siren"]:
            return CustomerInput(id=0, kind="company", siren=options["siren"].replace(" ", ""))
        return CustomerInput(
            id=0,
            kind="individual",
            first_name=options["first_name"],
            last_name=options["last_name"],
            birth_date=birth,
        )

    def _analyse(
        self, path: Path, index: int, kind: str, customer: CustomerInput
    ) -> dict[str, Any]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return {"file": str(path), "error": f"cannot read the file: {exc.strerror or exc}"}
        content_type = sniff(data[:SNIFF_BYTES])
        if content_type is None:
            return {"file": str(path), "error": "not a PDF or a picture we read"}
        if kind == "auto":
            kind = "other" if content_type == "application/pdf" else "id_card"
        document = DocumentInput(
            id=index,
            kind=kind,
            content_type=content_type,
            original_name=path.name,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            open=lambda: io.BytesIO(data),
        )
        provider = LocalProvider()
        operation = provider.document_operation(document)
        if operation is None:
            return {
                "file": str(path),
                "content_type": content_type,
                "error": provider.skip_reason(document),
            }
        job = JobInput(
            id=index,
            operation=operation,
            external_id="",
            attempts=0,
            submitted_at=None,
            request=RequestInput(id=0, code_type="", code_id=""),
            customer=customer,
            document=document,
        )
        started = time.perf_counter()
        try:
            submission = provider.submit(job)
        except ProviderError as exc:
            return {"file": str(path), "content_type": content_type, "error": exc.message}
        seconds = time.perf_counter() - started
        reports = submission.outcome.reports if submission.outcome else ()
        by_source = {report.source: report for report in reports}
        main = by_source.get("local_mrz") if operation == OPERATION_IDENTITY else None
        main = main or by_source.get("local_forensics")
        return {
            "file": str(path),
            "content_type": content_type,
            "kind": kind,
            "report": _report_json(main) if main else None,
            "reports": [_report_json(report) for report in reports],
            "ocr": _ocr_json(by_source.get("local_mrz")),
            "seconds": round(seconds, 3),
        }

    def _summary(self, line: dict[str, Any]) -> None:
        write = self.stdout.write
        if "error" in line:
            write(self.style.ERROR(f"{line['file']}: {line['error']}"))
            return
        write(
            self.style.MIGRATE_HEADING(f"{line['file']} ({line['content_type']}, {line['kind']})")
        )
        for report in line["reports"]:
            color = report["flag"]["color"]
            style = {"red": self.style.ERROR, "orange": self.style.WARNING}.get(
                color, self.style.SUCCESS
            )
            write(f"  {report['source']}: " + style(color.upper()))
            for reason in report["reasons"]:
                level = reason["level"] or "info"
                write(f"    [{level}] {reason['title']}: {reason['detail']}")
        ocr = line.get("ocr")
        if ocr and ocr["mrz_lines"]:
            write("  MRZ:")
            for mrz_line in ocr["mrz_lines"]:
                write(f"    {mrz_line}")
        write(f"  {line['seconds']:.2f} s")

"""The built-in engine as a provider: document forensics and MRZ reading, no vendor contract.

Synchronous: `submit()` runs the analysis (kyc.analysis.analyse) on the document's bytes and
returns a completed outcome at once, so `poll()` is never called. It always works: it needs no
credentials, so `is_configured()` is always true.

Reports: `local_forensics` for every document (PDF or image metadata and structure), plus
`local_mrz` and an OCR result in the Artemis key set for identity documents. Reason texts are
English with a stable `code` the UI can translate by.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kyc.analysis import IDENTITY_KINDS, Analysis, analyse, supported
from kyc.analysis.findings import Finding
from kyc.i18n import Deferred
from kyc.providers.base import (
    DocumentInput,
    JobInput,
    OcrData,
    Outcome,
    Provider,
    ProviderError,
    Reason,
    ReportData,
    State,
    Submission,
)

logger = logging.getLogger(__name__)

OPERATION_IDENTITY = "identity"
OPERATION_FORENSICS = "forensics"


def _reason(finding: Finding) -> Reason:
    return Reason(
        code=finding.code,
        title=finding.title,
        # A detail written as a translatable message stays one: the report page renders it in
        # the reader's language.
        detail=Deferred.from_json(finding.message) if finding.message else finding.detail,
        level=finding.level,
        sentiment=finding.sentiment,
        criteria=dict(finding.criteria),
    )


def _report(
    source: str, findings: tuple[Finding, ...], color: str, value: float, **extra: Any
) -> ReportData:
    reasons = tuple(_reason(f) for f in findings)
    return ReportData(
        source=source,
        flag_color=color,
        flag_value=f"{value:.3f}",
        score=value,
        reasons=reasons,
        summary=extra.pop("summary", {}),
        raw=extra.pop("raw", {}),
    )


def reports_from(analysis: Analysis) -> tuple[tuple[ReportData, ...], tuple[OcrData, ...]]:
    """The reports and OCR results an analysis gives (also used by the `analyse` command)."""
    raw = analysis.as_dict()
    color, value = analysis.forensics_flag
    meta = [f.code for f in analysis.forensics if f.level]
    forensics = _report(
        "local_forensics",
        analysis.forensics,
        color,
        value,
        summary={"meta": meta, "content_type": analysis.content_type},
        raw={**raw, "flag": {"color": color, "meta": meta, "value": value}},
    )
    if not analysis.identity_document:
        return (forensics,), ()
    color, value = analysis.mrz_flag
    meta = [f.code for f in analysis.mrz_findings if f.level]
    summary: dict[str, Any] = {"meta": meta, "mrz_found": analysis.mrz is not None}
    if analysis.mrz is not None:
        summary.update(
            format=analysis.mrz.format,
            valid=analysis.mrz.valid,
            document_number=analysis.mrz.document_number,
        )
    mrz = _report(
        "local_mrz",
        analysis.mrz_findings,
        color,
        value,
        summary=summary,
        raw={**raw, "flag": {"color": color, "meta": meta, "value": value}},
    )
    ocr = OcrData(
        source="local_mrz", fields=dict(analysis.artemis), confidence=dict(analysis.confidence)
    )
    return (forensics, mrz), (ocr,)


class LocalProvider(Provider):
    name: ClassVar[str] = "local"
    label = _("Built-in engine")

    @classmethod
    def is_configured(cls) -> bool:
        """Always enabled: the engine needs no credentials."""
        return True

    def document_operation(self, document: DocumentInput) -> str | None:
        if not supported(document.content_type):
            return None
        return OPERATION_IDENTITY if document.kind in IDENTITY_KINDS else OPERATION_FORENSICS

    def skip_reason(self, document: DocumentInput) -> str:
        if supported(document.content_type):
            return ""
        return str(self._unsupported(document))

    def _unsupported(self, document: DocumentInput) -> Deferred:
        return Deferred(
            gettext_noop(
                "The built-in engine reads PDF files and JPEG, PNG, TIFF and WebP pictures, "
                "not %(type)s."
            ),
            type=document.content_type or "?",
        )

    def submit(self, job: JobInput) -> Submission:
        """Analyse the document now; the outcome is final."""
        document = job.document
        if document is None:
            raise ProviderError(
                Deferred(gettext_noop("the built-in engine analyses documents only")),
                retryable=False,
            )
        if not supported(document.content_type):
            raise ProviderError(self._unsupported(document), retryable=False)
        try:
            data = document.read()
        except OSError as exc:
            # Storage hiccups (a network file system, S3) can pass: let the engine retry.
            raise ProviderError(
                Deferred(gettext_noop("could not read the stored file: %(error)s"), error=exc),
                retryable=True,
            ) from exc
        if not data:
            raise ProviderError(Deferred(gettext_noop("the stored file is empty")), retryable=False)
        try:
            analysis = analyse(
                data, document.content_type, kind=document.kind, customer=job.customer
            )
        except Exception as exc:
            # A bug or a resource limit in the engine: a clear job error, not a dead worker.
            # Bad input never gets here (it ends as reasons in the report).
            logger.exception("built-in engine failed on document %s", document.id)
            raise ProviderError(
                Deferred(
                    gettext_noop("the built-in engine failed: %(error)s"),
                    error=f"{type(exc).__name__}: {exc}"[:470],
                ),
                retryable=False,
            ) from exc
        reports, ocr = reports_from(analysis)
        return Submission(
            external_id=f"local-{job.id}",
            outcome=Outcome(state=State.COMPLETED, reports=reports, ocr=ocr),
        )

    def poll(self, job: JobInput) -> Outcome:
        raise ProviderError(
            Deferred(
                gettext_noop("the built-in engine finishes on submission; there is nothing to poll")
            ),
            retryable=False,
        )

"""The unit of output of the built-in engine: one finding, shaped like a Doc X-Ray reason.

Texts are English. Each finding has a stable `code` (October calls it `typeCode`) that the UI can
translate by; titles are marked with gettext_noop so `makemessages` collects them without this
module needing Django settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FRAUDULENT = "fraudulent"
SUSPICIOUS = "suspicious"


@dataclass(frozen=True)
class Finding:
    code: str
    title: str
    detail: str = ""
    level: str | None = None  # None (informational) | "suspicious" | "fraudulent"
    sentiment: str = "neutral"  # "positive" | "neutral" | "negative"
    criteria: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "level": self.level,
            "sentiment": self.sentiment,
            "criteria": dict(self.criteria),
        }


def info(
    code: str, title: str, detail: str = "", *, positive: bool = False, **criteria: Any
) -> Finding:
    return Finding(code, title, detail, None, "positive" if positive else "neutral", criteria)


def suspicious(code: str, title: str, detail: str = "", **criteria: Any) -> Finding:
    return Finding(code, title, detail, SUSPICIOUS, "negative", criteria)


def fraudulent(code: str, title: str, detail: str = "", **criteria: Any) -> Finding:
    return Finding(code, title, detail, FRAUDULENT, "negative", criteria)


def flag(findings: Iterable[Finding]) -> tuple[str, float]:
    """Overall flag colour and value in [0, 1]: red if anything is fraudulent, orange if anything
    is suspicious, else green. The value grows with the number and weight of negative findings,
    like Doc X-Ray's "overall suspicious evaluation"."""
    findings = list(findings)
    frauds = sum(f.level == FRAUDULENT for f in findings)
    doubts = sum(f.level == SUSPICIOUS for f in findings)
    value = min(1.0, 0.5 * frauds + 0.15 * doubts)
    if frauds:
        return "red", max(value, 0.5)
    if doubts:
        return "orange", max(value, 0.15)
    return "green", 0.0

"""The unit of output of the built-in engine: one finding, shaped like a Doc X-Ray reason.

Texts are English. Each finding has a stable `code` (October calls it `typeCode`) that the UI can
translate by; titles are marked with gettext_noop so `makemessages` collects them without this
module needing Django settings. A detail may be a `Text` (an English msgid and its parameters):
its English rendering is the `detail`, and the msgid and parameters are kept beside it
(`message`, in kyc.i18n.Deferred's stored form) so that the page renders it in the reader's
language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FRAUDULENT = "fraudulent"
SUSPICIOUS = "suspicious"


@dataclass(frozen=True)
class Text:
    """An English message with named parameters, translated when it is read: `msgid` is marked
    with gettext_noop where it is written; a parameter may itself be a Text (a phrase)."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.msgid
        return self.msgid % {key: str(value) for key, value in self.params.items()}

    def to_json(self) -> dict[str, Any]:
        """kyc.i18n.Deferred's stored form, which renders it in the reader's language."""
        return {
            "msgid": self.msgid,
            "params": {
                key: value.to_json() if isinstance(value, Text) else value
                for key, value in self.params.items()
            },
        }


def text(msgid: str, **params: Any) -> Text:
    return Text(msgid, params)


@dataclass(frozen=True)
class Finding:
    code: str
    title: str
    detail: str = ""
    level: str | None = None  # None (informational) | "suspicious" | "fraudulent"
    sentiment: str = "neutral"  # "positive" | "neutral" | "negative"
    criteria: Mapping[str, Any] = field(default_factory=dict)
    # The detail as a translatable message (Text.to_json()), when it was written as one.
    message: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "level": self.level,
            "sentiment": self.sentiment,
            "criteria": dict(self.criteria),
        }
        if self.message is not None:
            data["detail_message"] = dict(self.message)
        return data


def _finding(
    code: str, title: str, detail: str | Text, level: str | None, sentiment: str, criteria
) -> Finding:
    if isinstance(detail, Text):
        return Finding(code, title, str(detail), level, sentiment, criteria, detail.to_json())
    return Finding(code, title, detail, level, sentiment, criteria)


def info(
    code: str, title: str, detail: str | Text = "", *, positive: bool = False, **criteria: Any
) -> Finding:
    return _finding(code, title, detail, None, "positive" if positive else "neutral", criteria)


def suspicious(code: str, title: str, detail: str | Text = "", **criteria: Any) -> Finding:
    return _finding(code, title, detail, SUSPICIOUS, "negative", criteria)


def fraudulent(code: str, title: str, detail: str | Text = "", **criteria: Any) -> Finding:
    return _finding(code, title, detail, FRAUDULENT, "negative", criteria)


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

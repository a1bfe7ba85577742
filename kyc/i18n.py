"""Messages translated when they are read, not when they are written.

A job's error is produced by a worker (in English) but read by analysts in their own language. So
the engine keeps it as a `Deferred`: the English msgid (marked with `gettext_noop`, so that
makemessages still collects it) and its named parameters, stored as JSON
(`ProviderJob.last_error_detail`) and rendered with `str()` in the reader's active language::

    raise ProviderError(
        Deferred(gettext_noop("%(vendor)s answered %(status)s"), vendor="Mindee", status=503),
        retryable=True,
    )

Parameters are plain values (strings, numbers, None) kept as given, vendor text included: only our
own msgid is translated, never what a vendor wrote. A parameter may itself be a `Deferred` (a
translated phrase inside a message, an error wrapped in another). Wherever a message is taken, a
plain `str` is accepted too (a vendor's message with no template of ours).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.utils import translation

logger = logging.getLogger(__name__)

# How deep Deferred parameters may nest in stored JSON (guards against a crafted detail).
_MAX_DEPTH = 4
_PLAIN = (str, int, float, bool, type(None))


class Deferred:
    """A msgid and its named parameters, rendered with `str()` in the active language."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        if not isinstance(msgid, str):
            raise TypeError(f"Deferred takes a msgid (str), not {type(msgid).__name__}")
        self.msgid = msgid
        self.params: dict[str, Param] = {key: _param(value) for key, value in params.items()}

    # Rendering -------------------------------------------------------------------------------
    def __str__(self) -> str:
        return self.render()

    def render(self, language: str | None = None) -> str:
        """The message in `language`, or in the active language. Never raises: a translation
        whose placeholders do not match falls back to the English msgid."""
        if language is not None:
            with translation.override(language):
                return self.render()
        params = {
            key: str(value) if isinstance(value, Deferred) else value
            for key, value in self.params.items()
        }
        if not params:
            return translation.gettext(self.msgid)
        for template in (translation.gettext(self.msgid), self.msgid):
            try:
                return template % params
            except (KeyError, TypeError, ValueError):
                logger.warning("message %r does not format with %r", template, sorted(params))
        return self.msgid

    def __repr__(self) -> str:
        return f"Deferred({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Deferred):
            return NotImplemented
        return (self.msgid, self.params) == (other.msgid, other.params)

    def __hash__(self) -> int:
        return hash(self.msgid)

    # Storage ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "msgid": self.msgid,
            "params": {
                key: value.to_json() if isinstance(value, Deferred) else value
                for key, value in self.params.items()
            },
        }

    @classmethod
    def from_json(cls, data: Any, *, _depth: int = 0) -> Deferred:
        """The inverse of `to_json`. ValueError on anything it did not produce."""
        if _depth > _MAX_DEPTH:
            raise ValueError("message parameters nest too deep")
        if not isinstance(data, Mapping) or not isinstance(data.get("msgid"), str):
            raise ValueError(f"not a stored message: {data!r}")
        raw = data.get("params") or {}
        if not isinstance(raw, Mapping):
            raise ValueError("message parameters are not an object")
        params: dict[str, Param] = {}
        for key, value in raw.items():
            if isinstance(value, Mapping):
                params[str(key)] = cls.from_json(value, _depth=_depth + 1)
            elif isinstance(value, _PLAIN):
                params[str(key)] = value
            else:
                raise ValueError(f"message parameter {key!r} is not a plain value")
        message = cls.__new__(cls)
        message.msgid = data["msgid"]
        message.params = params
        return message


# A message wherever one is taken: our Deferred, or a plain (already written) string.
Message = Deferred | str


# What a parameter is once stored: JSON keeps these as they are.
type Param = Deferred | str | int | float | bool | None


def _param(value: object) -> Param:
    """Parameters stay as given when JSON keeps them as they are; anything else (an exception, a
    lazy string) becomes its text now."""
    if isinstance(value, (Deferred, *_PLAIN)):
        return value
    return str(value)


def as_text(message: Message | None, language: str = "en") -> str:
    """The message as text in `language` (English by default: logs, audit rows, last_error)."""
    if message is None:
        return ""
    if isinstance(message, Deferred):
        return message.render(language)
    return str(message)


def as_detail(message: Message | None) -> dict[str, Any] | None:
    """What `ProviderJob.last_error_detail` keeps: the stored form of a Deferred, else None."""
    return message.to_json() if isinstance(message, Deferred) else None


def from_detail(detail: Any, fallback: str = "") -> str:
    """A stored detail rendered in the active language; `fallback` when there is none or it is
    not one we can read (never raises)."""
    if not detail:
        return fallback
    try:
        return Deferred.from_json(detail).render()
    except (ValueError, TypeError, RecursionError):
        logger.warning("unreadable message detail %r", detail)
        return fallback

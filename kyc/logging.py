"""Structured logs: who and what a log line is about, as one JSON object per line.

`ContextFilter` copies the request context (kyc.middleware: request id, user id) and the current
job id onto every record; `JsonFormatter` writes the record as one JSON line. Both are wired in
settings.LOGGING (LOG_FORMAT=json) and, for gunicorn's own logs, in gunicorn.conf.py.

The job id is a contextvar set by the job tasks (kyc/services/jobs.py) around the engine call,
so any line logged inside job code, by our modules or by a library, carries it.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
from collections.abc import Iterator

from kyc.middleware import current_context

_job_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("kyc_job_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is kept.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "user_id",
    "job_id",
    "taskName",
}


def current_job_id() -> int | None:
    return _job_id.get()


@contextlib.contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Log lines inside this block carry `job_id` (restored afterwards, so tasks may nest)."""
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)


class ContextFilter(logging.Filter):
    """Adds request_id, user_id and job_id to every record (None outside a request or a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_context()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id if context else None
        if not hasattr(record, "user_id"):
            record.user_id = context.user_id if context else None
        if not hasattr(record, "job_id"):
            record.job_id = current_job_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    user_id, job_id, then the exception and any `extra=` fields. A traceback stays inside the
    object (as "exception"), so one event is always one line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
            "job_id": getattr(record, "job_id", None),
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            # gunicorn logs a request after our middleware has returned: take the id from the
            # response header the middleware set, plus the fields people filter on.
            atoms = record.args
            payload["request_id"] = payload["request_id"] or atoms.get("{x-request-id}o") or None
            payload["http"] = {
                "method": atoms.get("m"),
                "path": atoms.get("U"),
                "status": atoms.get("s"),
                "bytes": atoms.get("B"),
                "duration_ms": round(int(atoms.get("D") or 0) / 1000, 1),
                "remote_addr": atoms.get("h"),
            }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in payload:
                payload[key] = value
        return json.dumps(payload, default=str, ensure_ascii=False)

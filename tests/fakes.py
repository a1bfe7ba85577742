"""A fake provider for the job engine's tests: pure code, scripted per test, deterministic across
processes (the real worker subprocess imports it through KYC_TEST_PROVIDERS)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping
from typing import ClassVar

from kyc.providers.base import (
    JobInput,
    Outcome,
    Provider,
    Reason,
    ReportData,
    State,
    Submission,
    Verdict,
    WebhookInfo,
)

FAKE_SECRET = b"fake-webhook-secret"


def sign(body: bytes) -> str:
    return hmac.new(FAKE_SECRET, body, hashlib.sha256).hexdigest()


def completed_outcome(job: JobInput) -> Outcome:
    return Outcome(
        state=State.COMPLETED,
        reports=(
            ReportData(
                source="local_forensics",
                flag_color="orange",
                flag_value="suspicious",
                score=0.5,
                reasons=(Reason(code="edited", title="Edited with an editor", level="suspicious"),),
                raw={"job": job.id, "external_id": job.external_id},
            ),
        ),
    )


class FakeProvider(Provider):
    """Scripted: each call pops the next item of `script` (a ProviderError is raised, a
    Submission/Outcome returned); with an empty script it submits, stays pending for
    `pending_polls` polls, then completes."""

    name: ClassVar[str] = "fake"
    label: ClassVar[str] = "Fake provider"
    deadline: ClassVar[dt.timedelta] = dt.timedelta(minutes=30)
    poll_interval = float(os.environ.get("FAKE_POLL_INTERVAL", "5"))
    max_poll_interval = 60.0
    expiry_message: ClassVar[str] = "Fake results are kept 30 minutes: resubmit."
    sends_webhooks: ClassVar[bool] = True

    script: ClassVar[list] = []
    calls: ClassVar[list[tuple[str, int]]] = []
    pending_polls: ClassVar[int] = 1

    @classmethod
    def reset(cls) -> None:
        cls.script = []
        cls.calls = []
        cls.pending_polls = 1

    @classmethod
    def is_configured(cls) -> bool:
        return True

    def document_operation(self, document):
        return None if document.kind == "other" else "check"

    def skip_reason(self, document):
        return "The fake provider does not take 'other' documents."

    def _next(self, default):
        if self.script:
            item = type(self).script.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        return default

    def submit(self, job: JobInput) -> Submission:
        type(self).calls.append(("submit", job.id))
        # Lets a test kill the worker while it is inside the provider call.
        marker = os.environ.get("FAKE_SUBMIT_MARKER")
        if marker:
            with open(marker, "a") as handle:
                handle.write(f"{job.id}\n")
        time.sleep(float(os.environ.get("FAKE_SUBMIT_SLEEP", "0")))
        return self._next(Submission(external_id=f"fake-{job.id}"))

    def poll(self, job: JobInput) -> Outcome:
        type(self).calls.append(("poll", job.id))
        polls_so_far = sum(1 for kind, job_id in self.calls if kind == "poll" and job_id == job.id)
        if self.script:
            return self._next(None)
        if polls_so_far <= self.pending_polls and not os.environ.get("FAKE_COMPLETE_AT_ONCE"):
            return Outcome(state=State.PENDING)
        return completed_outcome(job)

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> Verdict:
        given = headers.get("X-Fake-Signature")
        if not given:
            return Verdict.MISSING
        return Verdict.VALID if hmac.compare_digest(given, sign(body)) else Verdict.INVALID

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookInfo:
        data = json.loads(body)
        return WebhookInfo(
            event_type=str(data.get("event", "")),
            dedupe_key=f"{data.get('event')}:{data.get('delivery')}",
            external_ids=tuple(str(i) for i in data.get("ids", [])),
        )

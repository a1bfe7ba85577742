"""Stand-in providers for the demo data: the real providers' names, labels, deadlines and
messages, with answers read from a script instead of a vendor's API.

While the demo builds (`stand_ins(script)`), the provider registry holds these classes. The demo
then works as an analyst's upload does: `document_add` and `customer_create` create the jobs of
the providers that take the file, and the job engine submits and polls them (`job_submit`,
`job_poll`) and stores what they answer (reports, OCR results, officers, errors) through its own
outcome step. No job, report, OCR result or officer row is written anywhere else.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from django.test.utils import override_settings

from kyc.providers.base import (
    CustomerInput,
    DocumentInput,
    JobInput,
    Outcome,
    Provider,
    ProviderError,
    Submission,
)
from kyc.providers.finovox import FinovoxProvider
from kyc.providers.local import LocalProvider
from kyc.providers.mindee import MindeeProvider
from kyc.providers.october import OctoberProvider

Answer = Submission | Outcome | ProviderError


@dataclass
class Script:
    """What the stand-ins answer. `operations` (provider name -> operation) says which providers
    take the next document or request the demo adds; `answers` holds, per job id, the answers to
    the engine's next calls (a submission first, then poll outcomes), each a ProviderError to
    raise or a value to return."""

    operations: dict[str, str] = field(default_factory=dict)
    answers: dict[int, deque[Answer]] = field(default_factory=dict)

    def answer(self, job_id: int, *answers: Answer) -> None:
        self.answers.setdefault(job_id, deque()).extend(answers)

    def next(self, job_id: int) -> Answer:
        queue = self.answers.get(job_id)
        if not queue:
            raise RuntimeError(f"the demo script has no answer for job {job_id}")
        answer = queue.popleft()
        if isinstance(answer, ProviderError):
            raise answer
        return answer


_script: Script | None = None


def _current() -> Script:
    if _script is None:
        raise RuntimeError("the demo's stand-in providers answer only inside stand_ins()")
    return _script


class StandIn(Provider):
    """Mixed into a real provider class: configured while the demo builds, taking what the real
    provider takes when the script plans it, answering what the script says."""

    @classmethod
    def is_configured(cls) -> bool:
        return _script is not None

    def document_operation(self, document: DocumentInput) -> str | None:
        operation = super().document_operation(document)
        return operation if operation == _current().operations.get(self.name) else None

    def request_operations(self, customer: CustomerInput) -> tuple[str, ...]:
        planned = _current().operations.get(self.name)
        return tuple(op for op in super().request_operations(customer) if op == planned)

    def submit(self, job: JobInput) -> Submission:
        answer = _current().next(job.id)
        assert isinstance(answer, Submission), answer
        return answer

    def poll(self, job: JobInput) -> Outcome:
        answer = _current().next(job.id)
        assert isinstance(answer, Outcome), answer
        return answer


class DemoLocal(StandIn, LocalProvider):
    pass


class DemoOctober(StandIn, OctoberProvider):
    # The demo says which job opens the October request (its Manager X-Ray, first).
    creates_vendor_request: ClassVar[bool] = False


class DemoFinovox(StandIn, FinovoxProvider):
    pass


class DemoMindee(StandIn, MindeeProvider):
    pass


STAND_INS = (DemoLocal, DemoOctober, DemoFinovox, DemoMindee)


@contextmanager
def stand_ins(script: Script) -> Iterator[Script]:
    """The provider registry holds the stand-ins (and only them) until the block ends, and Artemis
    is off: whatever this server is configured with, demo data is never sent to a vendor."""
    global _script
    paths = [f"{cls.__module__}.{cls.__qualname__}" for cls in STAND_INS]
    _script = script
    try:
        with override_settings(KYC_PROVIDERS=paths, ARTEMIS_CLIENT_ID=""):
            yield script
    finally:
        _script = None

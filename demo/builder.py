"""Builds the demo data set behind `manage.py seed_demo`.

Customers and documents go through the real services (`customer_create`, `document_add`), and
so do their provider jobs: while the demo builds, the provider registry holds stand-ins of the
real providers (demo/providers.py) that take each file as the demo plans and answer with canned
vendor results (demo/payloads.py). The job engine submits and polls them and stores their
reports, OCR results, officers and errors through its own outcome step, with its audit rows.
What happened over weeks happens here in one instant, so timestamps and counters are moved back
afterwards (`_backdate`). Decisions, alert reviews and OCR corrections go through their services
too; what no service can write here (the `in_review` status, OCR corrections' delivery to
Artemis, which needs Artemis) is written with the ORM.

Everything is drawn from seeded `random.Random` streams (one per customer and per phase): the
same data every time, dates apart, which are relative to today so that "last 30 days" filters
always have something to show.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_noop
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.fr import siren as stdnum_siren

from demo import catalog, documents, mrz, payloads
from demo.payloads import CLEAN, FRAUDULENT, SUSPICIOUS
from demo.providers import Answer, Script, stand_ins
from kyc import providers, roles, services
from kyc.dates import add_years
from kyc.i18n import Deferred, Message
from kyc.models import (
    AnalysisRequest,
    Customer,
    Decision,
    Document,
    ManagerAlert,
    OcrCorrection,
    OcrResult,
    ProviderJob,
    Report,
)
from kyc.providers.base import (
    OcrData,
    OfficerData,
    Outcome,
    ProviderError,
    ReportData,
    State,
    Submission,
)
from kyc.providers.finovox import FinovoxProvider
from kyc.services import jobs
from kyc.services.alerts import ACKNOWLEDGE, DISMISS
from kyc.services.decisions import ReasonCode

DEMO_SEED = 20261009
DEFAULT_PASSWORD = "demo-password-2026"  # noqa: S105 - development-only default, printed on use
PARIS = ZoneInfo("Europe/Paris")

# (username, group, first name, last name)
DEMO_USERS = (
    ("analyst", roles.ANALYST, "Camille", "Laurent"),
    ("reviewer", roles.REVIEWER, "Julien", "Moreau"),
    ("admin", roles.ADMIN, "Alex", "Martin"),
)

# How many customers of each kind land in each onboarding status (25 companies, 25 people).
STATUS_MIX = {
    Customer.Status.NEW: 7,
    Customer.Status.IN_REVIEW: 11,
    Customer.Status.INFO_REQUESTED: 2,
    Customer.Status.APPROVED: 3,
    Customer.Status.REJECTED: 2,
}
FRESH_NEW = 3  # the first new customers of each kind were registered minutes ago

# Provider and operation of each report source, named as the providers in kyc/providers/ name
# them. The built-in engine runs one "identity" job on identity documents (forensics and MRZ).
PROVIDER_OF = {
    Report.Source.DOC_XRAY: ("october", "doc_xray"),
    Report.Source.MANAGER_XRAY: ("october", "manager_xray"),
    Report.Source.FINOVOX_RISK: ("finovox", "risk"),
    Report.Source.MINDEE_PASSPORT: ("mindee", "passport"),
    Report.Source.MINDEE_INTERNATIONAL_ID: ("mindee", "international_id"),
    Report.Source.LOCAL_FORENSICS: ("local", "forensics"),
    Report.Source.LOCAL_MRZ: ("local", "identity"),
}
# Seconds a provider takes (the engine's deadlines are the providers' own: `Provider.deadline`).
DURATION = {"local": (2, 9), "october": (90, 420), "finovox": (30, 160), "mindee": (2, 12)}


@dataclass(frozen=True)
class Failure:
    """How a job ends badly, told to the engine as the provider tells it: an error raised by the
    submission or by a poll, or (`outcome`) a poll's final failed or expired outcome."""

    status: str
    attempts: int
    message: Message
    step: str  # "submit" | "poll"
    outcome: bool = False
    status_code: int | None = None


def _http_error(vendor: str, status: int, where: str, detail: str) -> Deferred:
    # kyc.providers.http's wording for a 5xx answer, translatable like the real one.
    return Deferred(
        gettext_noop("%(vendor)s answered %(status)s on %(where)s: %(detail)s"),
        vendor=vendor,
        status=status,
        where=where,
        detail=detail,
    )


# The errors the job engine stores, as the providers raise them: translatable, so a French analyst
# reads them in French (ProviderJob.last_error_detail).
FAILURES = {
    "finovox_gave_up": Failure(
        "failed",
        5,
        _http_error("Finovox", 503, "POST /analyse", "Service Unavailable"),
        "submit",
        status_code=503,
    ),
    "finovox_retrying": Failure(
        "failed",
        3,
        _http_error("Finovox", 503, "POST /retrieve", "Service Unavailable"),
        "poll",
        status_code=503,
    ),
    "finovox_expired": Failure("expired", 4, FinovoxProvider.expiry_message, "poll", outcome=True),
    "october_401": Failure(
        "failed",
        1,
        Deferred(
            gettext_noop(
                "%(vendor)s refused our credentials (%(status)s on %(where)s): %(detail)s. "
                "Check the %(vendor)s settings of this server."
            ),
            vendor="October",
            status=401,
            where="POST /requests",
            detail="Invalid session token",
        ),
        "submit",
        status_code=401,
    ),
    "mindee_failed": Failure(
        "failed",
        1,
        Deferred(
            gettext_noop("Mindee could not process the document: %(error)s"),
            error="ServerError (An error occurred)",
        ),
        "poll",
        outcome=True,
    ),
    "local_failed": Failure(
        "failed",
        1,
        Deferred(
            gettext_noop("the built-in engine failed: %(error)s"),
            error="MemoryError: the page is too large to render",
        ),
        "submit",
    ),
}

PDF_SOFTWARE = {
    "bank_statement": "BDA e-Releves 4.2 (iText 7.2.5)",
    "company_registration": "Infogreffe Editique 3.1",
    "financial_statement": "Cegid Loop 2.1",
    "proof_of_address": "EDV Facturation 5.0",
}
SUSPICIOUS_PDF_SOFTWARE = ["Microsoft Word 2019", "iLovePDF"]
FORGED_PDF_SOFTWARE = ["Adobe Photoshop 25.0 (Windows)", "Adobe Acrobat Pro 24.1"]
SCANNER_SOFTWARE = ["Canon MF Scan Utility 1.5", "HP Smart 15.4", "iOS 17.5.1"]
SUSPICIOUS_IMAGE_SOFTWARE = ["GIMP 2.10.36"]
FORGED_IMAGE_SOFTWARE = ["Adobe Photoshop 25.0 (Windows)"]


@dataclass
class DemoUsers:
    analyst: User
    reviewer: User
    admin: User
    created: list[str]

    def by_name(self, name: str | None) -> User | None:
        return getattr(self, name) if name else None


def ensure_users(password: str) -> DemoUsers:
    """The three demo accounts, created once; an existing account keeps its password."""
    users: dict[str, User] = {}
    created: list[str] = []
    for username, role, first_name, last_name in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            is_admin = role == roles.ADMIN
            user = User.objects.create_user(
                username=username,
                password=password,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@example.com",
                is_staff=is_admin,
                is_superuser=is_admin,
            )
            created.append(username)
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    return DemoUsers(**users, created=created)


def demo_data_exists() -> bool:
    """Demo data is loaded once: any customer at all means there is data to keep."""
    return Customer.objects.exists()


@dataclass
class Analysis:
    """One provider run planned on a document: the job outcome, and its report if completed."""

    source: str
    outcome: str = ProviderJob.Status.COMPLETED
    failure: str = ""


@dataclass
class Misread:
    ocr_result: OcrResult
    customer: Customer
    field: str
    old: str
    new: str
    at: dt.datetime


@dataclass
class Built:
    """What one customer's build left behind, for decisions and corrections."""

    customer: Customer
    last_event: dt.datetime
    alerts: list[ManagerAlert] = field(default_factory=list)


class DemoBuilder:
    def __init__(self, users: DemoUsers, *, seed: int = DEMO_SEED, now: dt.datetime | None = None):
        self.users = users
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)
        self.stored_files: list[str] = []
        self.sirens: set[str] = set()
        self.misreads: list[Misread] = []
        self.transliterated: list[Misread] = []
        # (model, field names) -> instances whose timestamps are moved back in one bulk_update.
        self._backdated: dict[tuple[type[models.Model], tuple[str, ...]], list[Any]] = defaultdict(
            list
        )

    # ------------------------------------------------------------------------------ entry

    def build(self) -> None:
        with stand_ins(Script()) as self.script:
            self._build()

    def _build(self) -> None:
        self._stream("statuses")
        company_statuses = self._statuses()
        individual_statuses = self._statuses()
        built: list[tuple[Built, str, int]] = []
        seen: dict[tuple[str, str], int] = defaultdict(int)
        for index in range(len(catalog.COMPANIES)):
            status = company_statuses[index]
            rank = seen["company", status]
            seen["company", status] += 1
            built.append((self._company(index, status, rank), status, rank))
        for index in range(len(catalog.INDIVIDUALS)):
            status = individual_statuses[index]
            rank = seen["individual", status]
            seen["individual", status] += 1
            built.append((self._individual(index, status, rank), status, rank))
        self._stream("decisions")
        for result, status, rank in built:
            self._decide(result, status, rank)
        self._stream("corrections")
        self._corrections()
        self._flush_backdating()
        self._finish()

    def _stream(self, name: str) -> None:
        """A random stream of its own for each customer and phase: a change in one (or a draw
        that depends on today's date) never reshuffles the others."""
        self.rng = random.Random(f"{self.seed}:{name}")

    def _statuses(self) -> list[str]:
        statuses = [status for status, count in STATUS_MIX.items() for _ in range(count)]
        self.rng.shuffle(statuses)
        return statuses

    # ------------------------------------------------------------------------ timestamps

    def _backdate(self, obj: models.Model, **values: Any) -> None:
        for name, value in values.items():
            setattr(obj, name, value)
        self._backdated[type(obj), tuple(sorted(values))].append(obj)

    def _flush_backdating(self) -> None:
        for (model, names), objects in self._backdated.items():
            model.objects.bulk_update(objects, list(names), batch_size=200)
        self._backdated.clear()

    def _registered_at(self, status: str, rank: int) -> dt.datetime:
        """When the customer was registered: minutes ago for fresh files, weeks for decided."""
        rng = self.rng
        if status == Customer.Status.NEW and rank < FRESH_NEW:
            return self.now - dt.timedelta(minutes=rng.randint(3 + rank * 6, 8 + rank * 10))
        days = {
            Customer.Status.NEW: (1, 3),
            Customer.Status.IN_REVIEW: (2, 30),
            Customer.Status.INFO_REQUESTED: (6, 40),
            Customer.Status.APPROVED: (12, 120),
            Customer.Status.REJECTED: (12, 120),
        }[status]
        return self.now - dt.timedelta(days=rng.randint(*days), minutes=rng.randint(0, 600))

    def _pick_user(self, status: str) -> User | None:
        weights = (0.3, 0.2, 0.5) if status == Customer.Status.NEW else (0.6, 0.25, 0.15)
        name = self.rng.choices(["analyst", "reviewer", None], weights=weights)[0]
        return self.users.by_name(name)

    # -------------------------------------------------------------------------- identifiers

    def _siren(self) -> str:
        # Random bodies with a Luhn check digit (what stdnum.fr.siren validates).
        while True:
            body = str(self.rng.randint(30_000_000, 99_999_999))
            number = body + luhn.calc_check_digit(body)
            if number not in self.sirens and stdnum_siren.is_valid(number):
                self.sirens.add(number)
                return number

    def _siret(self, siren: str) -> str:
        body = f"{siren}{self.rng.randint(1, 9):04d}"
        return body + luhn.calc_check_digit(body)

    def _iban(self, bank_code: str) -> str:
        rng = self.rng
        branch, account = f"{rng.randint(0, 99_999):05d}", f"{rng.randint(0, 10**11 - 1):011d}"
        rib_key = 97 - (89 * int(bank_code) + 15 * int(branch) + 3 * int(account)) % 97
        bban = f"{bank_code}{branch}{account}{rib_key:02d}"
        return stdnum_iban.format(f"FR{stdnum_iban.calc_check_digits('FR00' + bban)}{bban}")

    # ------------------------------------------------------------------------- documents

    def _add_document(
        self,
        *,
        request: AnalysisRequest,
        kind: str,
        name: str,
        content: bytes,
        uploader: User,
        uploaded_at: dt.datetime,
        verdict: str,
        origin: documents.FileOrigin | None,
        analyses: list[Analysis],
        period: str = "",
        document_date: dt.date | None = None,
        identity: documents.IdentityDocument | None = None,
        misread: tuple[str, str, str] | None = None,
    ) -> tuple[Document, dt.datetime]:
        """Upload through the service, then run (or leave pending) each planned analysis."""
        # One job per provider and operation; the built-in engine's single job on an identity
        # document yields both its reports.
        groups: dict[tuple[str, str], list[Analysis]] = defaultdict(list)
        for analysis in analyses:
            groups[operation_of(analysis.source, kind)].append(analysis)
        # `document_add` creates the jobs of the providers that take the file: these ones.
        self.script.operations = {provider: operation for provider, operation in groups}
        try:
            document = services.document_add(
                request=request,
                uploaded_file=SimpleUploadedFile(name, content),
                kind=kind,
                actor=uploader,
                period=period,
                document_date=document_date,
            )
        finally:
            self.script.operations = {}
        self.stored_files.append(document.file.name)
        self._backdate(document, created_at=uploaded_at, updated_at=uploaded_at)
        # October's id for the file once Doc X-Ray uploads it.
        media_id = payloads.hex_id(self.rng) if request.october_request_id else ""
        created = {(job.provider, job.operation): job for job in document.jobs.all()}
        last = uploaded_at
        for (provider, operation), group in groups.items():
            finished = self._run(
                job=created[provider, operation],
                analyses=group,
                uploaded_at=uploaded_at,
                verdict=verdict,
                origin=origin,
                identity=identity,
                misread=misread,
                media_id=media_id,
            )
            last = max(last, finished or last)
        return document, last

    def _history(self, provider: str, analyses: list[Analysis], start: dt.datetime):
        """The planned end of a job (status and failure), and its clock and counters."""
        status = next((a.outcome for a in analyses), ProviderJob.Status.COMPLETED)
        failure = next((FAILURES[a.failure] for a in analyses if a.failure), None)
        status = failure.status if failure else status
        asynchronous = provider != "local" and operation_is_async(provider, analyses)
        values = job_history(
            self.rng,
            provider=provider,
            status=status,
            failure=failure,
            asynchronous=asynchronous,
            start=start,
            now=self.now,
        )
        return {"status": status, **values}, failure

    def _run(
        self,
        *,
        job: ProviderJob,
        analyses: list[Analysis],
        uploaded_at: dt.datetime,
        verdict: str,
        origin: documents.FileOrigin | None,
        identity: documents.IdentityDocument | None = None,
        misread: tuple[str, str, str] | None = None,
        manager: dict[str, Any] | None = None,
        media_id: str = "",
    ) -> dt.datetime | None:
        """Bring one job to its planned end through the engine: the stand-in provider answers the
        engine's submission and poll with this job's canned results, or fails as planned."""
        values, failure = self._history(job.provider, analyses, uploaded_at)
        reports: list[ReportData] = []
        ocr: list[OcrData] = []
        officers: tuple[OfficerData, ...] = ()
        if values["status"] == ProviderJob.Status.COMPLETED:
            for analysis in analyses:
                data, read, found = report_for(
                    self.rng,
                    analysis.source,
                    document=job.document,
                    verdict=verdict,
                    origin=origin,
                    today=self.today,
                    identity=identity,
                    misread=misread,
                    started=values["submitted_at"],
                    manager=manager,
                )
                reports.append(data)
                ocr += [read] if read else []
                officers += found
        external_id = self._external_id(job, media_id, reports[0] if reports else None)
        if values["status"] != ProviderJob.Status.QUEUED:
            # Files opened minutes ago keep their queued jobs for the worker of `make run`.
            submission = Submission(
                external_id=external_id,
                document_external_id=media_id if job.operation == "doc_xray" else "",
            )
            outcome = Outcome(
                State.COMPLETED, reports=tuple(reports), ocr=tuple(ocr), officers=officers
            )
            for step, answer in self._answers(submission, outcome, failure):
                if step == "submit" and job.status != ProviderJob.Status.QUEUED:
                    # Submitted already (the Manager X-Ray job opened the October request): the
                    # result comes with the next poll.
                    assert isinstance(answer, Submission) and answer.outcome is not None
                    step, answer = "poll", answer.outcome
                self.script.answer(job.pk, answer)
                if step == "submit":
                    jobs.job_submit(job.pk)
                else:
                    jobs.job_poll(job.pk, force=True)
                job.refresh_from_db()
        # The engine ended the job as planned; only its clock and counters are the demo's.
        assert job.status == values.pop("status"), (job.pk, job.status, job.last_error)
        self._backdate(
            job, **values, created_at=uploaded_at, updated_at=values["finished_at"] or self.now
        )
        finished = values["finished_at"]
        for report in job.reports.all():
            self._backdate(report, created_at=finished)
        for result in OcrResult.objects.filter(report__job=job).order_by("pk"):
            self._backdate(result, created_at=finished, updated_at=finished)
            self._remember_ocr(result, job.request.customer, identity, misread, finished)
        return finished

    @staticmethod
    def _answers(
        submission: Submission, outcome: Outcome, failure: Failure | None
    ) -> list[tuple[str, Answer]]:
        """What the provider answers the engine's submission and poll, in order. A result comes
        with the submission, as a synchronous provider's does: the engine stores it with the same
        outcome step and audit rows as after a poll, in half the calls (the polls a vendor would
        have needed are in the job's history)."""
        if failure is None:
            return [("submit", replace(submission, outcome=outcome))]
        error = ProviderError(
            failure.message,
            retryable=False,
            status_code=failure.status_code,
            configuration=failure.status_code == 401,
        )
        if failure.step == "submit":
            return [("submit", error)]
        if failure.outcome:
            ended = Outcome(State(failure.status), message=failure.message)
            return [("submit", submission), ("poll", ended)]
        return [("submit", submission), ("poll", error)]

    def _external_id(self, job: ProviderJob, media_id: str, data: ReportData | None) -> str:
        """The job's vendor id: October request or medium, Finovox retrieve token, Mindee job
        (asynchronous) or document (synchronous) id; none for the built-in engine."""
        operation = job.operation
        if operation == "manager_xray":
            return job.request.october_request_id or ""
        if operation == "doc_xray":
            return media_id
        if operation == "risk":
            return payloads.hex_id(self.rng, 40)
        if operation == "international_id":
            return data.summary["job_id"] if data else payloads.uuid4(self.rng)
        if operation == "passport" and data is not None:
            return data.external_id
        return ""

    def _remember_ocr(
        self,
        result: OcrResult,
        customer: Customer,
        identity: documents.IdentityDocument | None,
        misread: tuple[str, str, str] | None,
        at: dt.datetime,
    ) -> None:
        """Keep the OCR results that an analyst will want to correct."""
        source = result.source
        if source != Report.Source.LOCAL_MRZ and misread:
            _key, artemis_field, wrong = misread
            right = {
                "document_number": identity.document_number if identity else "",
                "first_name": identity.given_names if identity else "",
                "last_name": identity.surname if identity else "",
            }[artemis_field]
            self.misreads.append(Misread(result, customer, artemis_field, wrong, right, at))
        elif source == Report.Source.LOCAL_MRZ and identity is not None:
            read = result.fields.get("last_name", "")
            if read and read != identity.surname.upper():
                # The MRZ cannot carry accents or apostrophes: the analyst restores the name.
                self.transliterated.append(
                    Misread(result, customer, "last_name", read, identity.surname, at)
                )

    # -------------------------------------------------------------------- Manager X-Ray

    # ------------------------------------------------------------------------- companies

    def _company(self, index: int, status: str, rank: int) -> Built:
        self._stream(f"company:{index}")
        rng = self.rng
        legal_name, activity = catalog.COMPANIES[index]
        form = legal_name.rsplit(" ", 1)[-1]
        siren = self._siren()
        siret = self._siret(siren) if rng.random() < 0.6 else ""
        city = rng.choice(catalog.CITIES)
        address = f"{rng.randint(1, 120)} {city.street}, {city.postcode} {city.name}"
        registered = dt.date(rng.randint(1996, 2022), rng.randint(1, 12), rng.randint(1, 28))
        fresh = status == Customer.Status.NEW and rank < FRESH_NEW
        if fresh:
            october = "pending"
        elif status == Customer.Status.NEW:
            october = None
        elif status in (Customer.Status.INFO_REQUESTED, Customer.Status.REJECTED):
            october = "analysed"  # their story is told by Doc X-Ray and Manager X-Ray
        else:
            october = "analysed" if rng.random() < 0.8 else None

        verdicts = self._verdicts(status, ["bank_statement", "kbis", "financial", "id"])
        manager_risk = self._manager_risk(status, rank)
        registered_at = self._registered_at(status, rank)
        creator = self.users.reviewer if rng.random() < 0.2 else self.users.analyst
        # With October, `customer_create` opens the company's Manager X-Ray job.
        self.script.operations = {"october": "manager_xray"} if october else {}
        try:
            customer = services.customer_create(
                kind=Customer.Kind.COMPANY,
                actor=creator,
                legal_name=legal_name,
                siren=siren,
                siret=siret,
                assignee=self._pick_user(status),
            )
        finally:
            self.script.operations = {}
        request = customer.requests.get()
        manager_job = request.jobs.filter(operation="manager_xray").first()
        if october and manager_job is not None:
            # Its submission opens the October request (POST /requests), whose id the engine
            # keeps on the file; Manager X-Ray then runs on October's side.
            request_id = payloads.hex_id(rng)
            self.script.answer(
                manager_job.pk, Submission(external_id=request_id, request_external_id=request_id)
            )
            jobs.job_submit(manager_job.pk)
            # October's own progress on the file, which no service stores.
            pending = october == "pending"
            AnalysisRequest.objects.filter(pk=request.pk).update(
                status=AnalysisRequest.Status.PENDING_ANALYSIS
                if pending
                else AnalysisRequest.Status.ANALYSED,
                stage="1.1" if pending else "2.1",
            )
            request.refresh_from_db()
            manager_job.refresh_from_db()
        self._backdate(customer, created_at=registered_at)
        self._backdate(request, created_at=registered_at, updated_at=registered_at)

        persons = payloads.manager_persons(
            rng,
            company=legal_name,
            siren=siren,
            registered=registered,
            risk=manager_risk,
            today=self.today,
            new_siren=self._siren,
        )
        officer_titles = {
            "SA": ["Président du conseil d'administration", "Directeur général", "Administrateur"],
            "SAS": ["Président", "Directeur général", "Directeur général délégué"],
            "SASU": ["Président", "Directeur général", "Directeur général délégué"],
        }.get(form, ["Gérant", "Co-gérant", "Co-gérant"])
        facts = documents.CompanyFacts(
            legal_name=legal_name,
            legal_form=catalog.LEGAL_FORMS.get(form, form),
            siren_formatted=stdnum_siren.format(siren),
            city=city.name,
            address=address,
            activity=activity,
            capital=rng.choice([1_000, 5_000, 10_000, 37_000, 100_000, 250_000, 1_000_000]),
            registered_on=registered,
            officers=[
                (title, f"{p['lastname'].upper()} {p['firstname']}")
                for title, p in zip(officer_titles, persons, strict=False)
            ],
        )
        failures = self._company_failures(status, rank)
        clock = registered_at + dt.timedelta(minutes=rng.randint(1, 4))
        uploader = customer.assignee or creator
        last = clock

        # Bank statement (always), Kbis (most), annual accounts (some), manager's ID card (some).
        with_october = [Report.Source.DOC_XRAY] if october else []
        month_end = _month_end(registered_at.date(), months_back=rng.randint(1, 2))
        content, origin = self._bank_statement(facts, month_end, verdicts["bank_statement"], clock)
        _, finished = self._add_document(
            request=request,
            kind=Document.Kind.BANK_STATEMENT,
            name=f"releve_{month_end:%Y_%m}.pdf",
            content=content,
            uploader=uploader,
            uploaded_at=clock,
            verdict=verdicts["bank_statement"],
            origin=origin,
            period=Document.Period.MONTH,
            document_date=month_end,
            analyses=self._outcomes(
                status,
                rank,
                [Report.Source.LOCAL_FORENSICS, Report.Source.FINOVOX_RISK, *with_october],
                failures.get("bank_statement", {}),
            ),
        )
        last = max(last, finished)
        if rng.random() < 0.8 or october:
            clock += dt.timedelta(minutes=rng.randint(1, 3))
            issued = registered_at.date() - dt.timedelta(days=rng.randint(2, 60))
            created = dt.datetime.combine(issued, dt.time(8, rng.randint(0, 59)), tzinfo=PARIS)
            origin = file_origin(
                self.rng,
                created=created,
                verdict=verdicts["kbis"],
                upload=clock,
                software=PDF_SOFTWARE["company_registration"],
            )
            _, finished = self._add_document(
                request=request,
                kind=Document.Kind.COMPANY_REGISTRATION,
                name=f"kbis_{siren}.pdf",
                content=documents.kbis_pdf(facts, issued_on=issued, origin=origin),
                uploader=uploader,
                uploaded_at=clock,
                verdict=verdicts["kbis"],
                origin=origin,
                document_date=issued,
                analyses=self._outcomes(
                    status,
                    rank,
                    [Report.Source.LOCAL_FORENSICS, *with_october],
                    failures.get("kbis", {}),
                ),
            )
            last = max(last, finished)
        if rng.random() < 0.3:
            clock += dt.timedelta(minutes=rng.randint(1, 3))
            year = registered_at.year - 1
            created = dt.datetime(year + 1, 4, rng.randint(1, 28), 16, 30, tzinfo=PARIS)
            origin = file_origin(
                self.rng,
                created=created,
                verdict=verdicts["financial"],
                upload=clock,
                software=PDF_SOFTWARE["financial_statement"],
            )
            revenue = rng.randint(180, 9000) * 1000
            figures = {
                "Chiffre d'affaires net": revenue,
                "Résultat d'exploitation": revenue * rng.uniform(0.02, 0.12),
                "Résultat net": revenue * rng.uniform(0.01, 0.08),
                "Total du bilan": revenue * rng.uniform(0.5, 1.4),
                "Capitaux propres": revenue * rng.uniform(0.1, 0.5),
                "Dettes financières": revenue * rng.uniform(0.05, 0.4),
            }
            _, finished = self._add_document(
                request=request,
                kind=Document.Kind.FINANCIAL_STATEMENT,
                name=f"comptes_annuels_{year}.pdf",
                content=documents.financial_statement_pdf(
                    facts, year=year, figures=figures, origin=origin
                ),
                uploader=uploader,
                uploaded_at=clock,
                verdict=verdicts["financial"],
                origin=origin,
                period=Document.Period.YEAR,
                document_date=dt.date(year, 12, 31),
                analyses=self._outcomes(
                    status,
                    rank,
                    [Report.Source.LOCAL_FORENSICS, Report.Source.FINOVOX_RISK, *with_october],
                    {},
                ),
            )
            last = max(last, finished)
        if rng.random() < 0.4:
            clock += dt.timedelta(minutes=rng.randint(1, 3))
            head = persons[0]
            identity = identity_document(
                self.rng,
                today=self.today,
                kind="id_card",
                first_name=head["firstname"],
                last_name=head["lastname"],
                sex="F" if head["firstname"].endswith("e") else "M",
                nationality="FRA",
                birth_date=dt.date.fromisoformat(head["birthdate"]),
                birth_place=city.name,
                address=address,
                verdict=verdicts["id"],
                upload=clock,
            )
            _, finished = self._add_document(
                request=request,
                kind=Document.Kind.ID_CARD,
                name=f"cni_{_slug(head['lastname'])}_recto.png",
                content=documents.id_card_png(identity),
                uploader=uploader,
                uploaded_at=clock,
                verdict=verdicts["id"],
                origin=identity.origin,
                identity=identity,
                analyses=self._outcomes(
                    status,
                    rank,
                    [
                        Report.Source.LOCAL_FORENSICS,
                        Report.Source.LOCAL_MRZ,
                        Report.Source.MINDEE_INTERNATIONAL_ID,
                        *with_october,
                    ],
                    {},
                ),
            )
            last = max(last, finished)

        # Manager X-Ray runs on October's side as soon as the request exists.
        result = Built(customer=customer, last_event=last)
        if october and manager_job is not None:
            finished = self._run(
                job=manager_job,
                analyses=[Analysis(Report.Source.MANAGER_XRAY)],
                uploaded_at=registered_at,
                verdict=manager_risk,
                origin=None,
                manager={
                    "request_id": request.october_request_id,
                    "siren": siren,
                    "persons": persons,
                },
            )
            result.last_event = max(last, finished or last)
            result.alerts = list(ManagerAlert.objects.filter(customer=customer))
        return result

    def _bank_statement(
        self,
        facts: documents.CompanyFacts,
        month_end: dt.date,
        verdict: str,
        upload: dt.datetime,
    ) -> tuple[bytes, documents.FileOrigin]:
        rng = self.rng
        bank_name, bank_code, bic = rng.choice(catalog.BANKS)
        start = month_end.replace(day=1)
        credits = [
            "VIR SEPA RECU /DE {client} /MOTIF FACTURE F{n}",
            "REMISE CARTE {n} TRANSACTIONS",
            "VIR SEPA RECU /DE {client} /MOTIF ACOMPTE",
        ]
        debits = [
            "PRLV SEPA URSSAF COTISATIONS",
            "PRLV SEPA DGFIP TVA",
            "VIR SEPA EMIS /A {supplier} /FACT {n}",
            "LOYER LOCAUX {month}",
            "CB {merchant}",
            "PRLV SEPA EDF PRO",
            "FRAIS TENUE DE COMPTE",
        ]
        clients = ["SARL DURAND", "MAIRIE DE LYON", "SAS BLEU CIEL", "M. PETIT", "GROUPE ALPHA"]
        suppliers = ["METRO FRANCE", "ORANGE BUSINESS", "LEROY MERLIN PRO", "OVH SAS"]
        merchants = ["SNCF CONNECT", "TOTAL ENERGIES", "AMAZON EU", "HOTEL IBIS"]
        lines = []
        for _ in range(rng.randint(11, 16)):
            # One draw whatever the month's length, so the stream does not depend on the date.
            day = start + dt.timedelta(days=int(rng.random() * month_end.day))
            credit = rng.random() < 0.4
            template = rng.choice(credits if credit else debits)
            label = template.format(
                client=rng.choice(clients),
                supplier=rng.choice(suppliers),
                merchant=rng.choice(merchants),
                n=rng.randint(100, 9999),
                month=start.strftime("%m/%Y"),
            )
            amount = round(rng.uniform(900, 24_000) if credit else -rng.uniform(40, 9_000), 2)
            if label.startswith("FRAIS"):
                amount = -round(rng.uniform(8, 45), 2)
            lines.append(documents.StatementLine(day, label, amount))
        lines.sort(key=lambda line: line.date)
        forged = None
        if verdict == FRAUDULENT:
            index = next((i for i, line in enumerate(lines) if line.amount > 0), 0)
            forged = (index, round(abs(lines[index].amount) * rng.uniform(3, 8), 2))
        created = dt.datetime.combine(
            month_end + dt.timedelta(days=1), dt.time(3, rng.randint(0, 59)), tzinfo=PARIS
        )
        origin = file_origin(
            self.rng,
            created=created,
            verdict=verdict,
            upload=upload,
            software=PDF_SOFTWARE["bank_statement"],
        )
        statement = documents.BankStatement(
            bank_name=bank_name,
            bank_address="Service Entreprises, 10 place de la Bourse, 75002 Paris",
            bic=bic,
            iban=self._iban(bank_code),
            holder=facts.legal_name,
            holder_address=[part.strip() for part in facts.address.split(",")],
            period_start=start,
            period_end=month_end,
            opening_balance=round(rng.uniform(60_000, 180_000), 2),
            lines=lines,
            origin=origin,
            forged_line=forged,
        )
        return documents.bank_statement_pdf(statement), origin

    # ----------------------------------------------------------------------- individuals

    def _individual(self, index: int, status: str, rank: int) -> Built:
        self._stream(f"individual:{index}")
        rng = self.rng
        first_name, last_name, sex, nationality, birth_place = catalog.INDIVIDUALS[index]
        birth_date = dt.date(rng.randint(1952, 2004), rng.randint(1, 12), rng.randint(1, 28))
        city = rng.choice(catalog.CITIES)
        address = f"{rng.randint(1, 140)} {city.street}, {city.postcode} {city.name}"
        registered_at = self._registered_at(status, rank)
        creator = self.users.reviewer if rng.random() < 0.2 else self.users.analyst
        customer = services.customer_create(
            kind=Customer.Kind.INDIVIDUAL,
            actor=creator,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            nationality=nationality,
            assignee=self._pick_user(status),
        )
        request = customer.requests.get()
        self._backdate(customer, created_at=registered_at)
        self._backdate(request, created_at=registered_at, updated_at=registered_at)
        verdicts = self._verdicts(status, ["id", "proof"])
        failures = self._individual_failures(status, rank)
        uploader = customer.assignee or creator
        clock = registered_at + dt.timedelta(minutes=rng.randint(1, 3))
        last = clock

        passport_share = 0.5 if nationality == "FRA" else 0.7
        kind = "passport" if rng.random() < passport_share else "id_card"
        if failures.get("identity", {}).get(Report.Source.MINDEE_INTERNATIONAL_ID):
            kind = "id_card"
        expired = status == Customer.Status.INFO_REQUESTED and rank == 0
        identity = identity_document(
            self.rng,
            today=self.today,
            kind=kind,
            first_name=first_name,
            last_name=last_name,
            sex=sex,
            nationality=nationality,
            birth_date=birth_date,
            birth_place=birth_place,
            address=address if kind == "id_card" else "",
            verdict=verdicts["id"],
            upload=clock,
            expired=expired,
        )
        mindee = (
            Report.Source.MINDEE_PASSPORT
            if kind == "passport"
            else Report.Source.MINDEE_INTERNATIONAL_ID
        )
        sources = [Report.Source.LOCAL_FORENSICS, Report.Source.LOCAL_MRZ, mindee]
        if rng.random() < 0.4 or verdicts["id"] == FRAUDULENT:
            sources.append(Report.Source.FINOVOX_RISK)
        misread = self._misread(identity, mindee, status, rank)
        if kind == "passport":
            name = rng.choice(["passeport.jpg", f"passport_{_slug(last_name)}.jpg"])
            content = documents.passport_jpeg(identity)
        else:
            name = rng.choice(["cni_recto.png", f"carte_identite_{_slug(last_name)}.png"])
            content = documents.id_card_png(identity)
        _, finished = self._add_document(
            request=request,
            kind=kind,
            name=name,
            content=content,
            uploader=uploader,
            uploaded_at=clock,
            verdict=verdicts["id"],
            origin=identity.origin,
            identity=identity,
            misread=misread,
            analyses=self._outcomes(status, rank, sources, failures.get("identity", {})),
        )
        last = max(last, finished)

        # A proof of address, except where its absence is why information was requested.
        wants_proof = status != Customer.Status.INFO_REQUESTED and (
            status in (Customer.Status.APPROVED, Customer.Status.REJECTED) or rng.random() < 0.6
        )
        if wants_proof or failures.get("proof"):
            clock += dt.timedelta(minutes=rng.randint(1, 4))
            issued = registered_at.date() - dt.timedelta(days=rng.randint(8, 80))
            created = dt.datetime.combine(issued, dt.time(5, rng.randint(0, 59)), tzinfo=PARIS)
            origin = file_origin(
                self.rng,
                created=created,
                verdict=verdicts["proof"],
                upload=clock,
                software=PDF_SOFTWARE["proof_of_address"],
            )
            supplier = rng.choice(catalog.UTILITIES)
            content = documents.utility_bill_pdf(
                supplier=supplier,
                holder=f"{first_name} {last_name.upper()}",
                address=[part.strip() for part in address.split(",")],
                issued_on=issued,
                reference=f"{rng.randint(10**9, 10**10 - 1)}",
                amount=round(rng.uniform(35, 240), 2),
                origin=origin,
            )
            proof_sources = [Report.Source.LOCAL_FORENSICS]
            if rng.random() < 0.5 or failures.get("proof"):
                proof_sources.append(Report.Source.FINOVOX_RISK)
            _, finished = self._add_document(
                request=request,
                kind=Document.Kind.PROOF_OF_ADDRESS,
                name=f"facture_{_slug(supplier)}_{issued:%Y_%m}.pdf",
                content=content,
                uploader=uploader,
                uploaded_at=clock,
                verdict=verdicts["proof"],
                origin=origin,
                document_date=issued,
                analyses=self._outcomes(status, rank, proof_sources, failures.get("proof", {})),
            )
            last = max(last, finished)
        return Built(customer=customer, last_event=last)

    def _misread(
        self, identity: documents.IdentityDocument, source: str, status: str, rank: int
    ) -> tuple[str, str, str] | None:
        """Now and then Mindee misreads a field, which an analyst later corrects."""
        if status == Customer.Status.NEW or rank % 3 != 0 or len(self.misreads) > 4:
            return None
        if self.rng.random() < 0.25:
            return None
        passport = source == Report.Source.MINDEE_PASSPORT
        field_name = self.rng.choice(["document_number", "first_name", "last_name"])
        if field_name == "document_number":
            key = "id_number" if passport else "document_number"
            return key, field_name, _ocr_confusion(identity.document_number)
        if field_name == "first_name":
            return "given_names", field_name, _ocr_confusion(identity.given_names)
        key = "surname" if passport else "surnames"
        return key, field_name, _ocr_confusion(identity.surname)

    # ------------------------------------------------------------ verdicts and outcomes

    def _verdicts(self, status: str, slots: list[str]) -> dict[str, str]:
        """How each document of a customer will fare, consistent with where the file stands."""
        rng = self.rng
        verdicts = dict.fromkeys(slots, CLEAN)
        lead = slots[0]  # the document the story is about: statement or identity document
        if status == Customer.Status.REJECTED:
            verdicts[lead] = FRAUDULENT
        elif status == Customer.Status.INFO_REQUESTED:
            verdicts[lead] = SUSPICIOUS
        elif status in (Customer.Status.IN_REVIEW, Customer.Status.NEW):
            draw = rng.random()
            target = rng.choice(slots)
            if draw < 0.15 and status == Customer.Status.IN_REVIEW:
                verdicts[target] = FRAUDULENT
            elif draw < 0.45:
                verdicts[target] = SUSPICIOUS
        return verdicts

    def _manager_risk(self, status: str, rank: int) -> str:
        if status == Customer.Status.APPROVED:
            return CLEAN if rank % 2 == 0 else SUSPICIOUS
        if status == Customer.Status.REJECTED:
            return FRAUDULENT if rank % 2 == 0 else SUSPICIOUS
        draw = self.rng.random()
        return FRAUDULENT if draw < 0.15 else SUSPICIOUS if draw < 0.45 else CLEAN

    @staticmethod
    def _company_failures(status: str, rank: int) -> dict[str, dict[str, str]]:
        if status == Customer.Status.IN_REVIEW and rank == 0:
            return {"bank_statement": {Report.Source.FINOVOX_RISK: "finovox_gave_up"}}
        if status == Customer.Status.NEW and rank == 1:
            return {"bank_statement": {Report.Source.FINOVOX_RISK: "finovox_retrying"}}
        if status == Customer.Status.NEW and rank == 2:
            return {
                "bank_statement": {Report.Source.DOC_XRAY: "october_401"},
                "kbis": {Report.Source.DOC_XRAY: "october_401"},
            }
        return {}

    @staticmethod
    def _individual_failures(status: str, rank: int) -> dict[str, dict[str, str]]:
        if status == Customer.Status.IN_REVIEW and rank == 0:
            return {"proof": {Report.Source.FINOVOX_RISK: "finovox_expired"}}
        if status == Customer.Status.IN_REVIEW and rank == 1:
            return {"identity": {Report.Source.MINDEE_INTERNATIONAL_ID: "mindee_failed"}}
        return {}

    @staticmethod
    def _outcomes(
        status: str, rank: int, sources: list[str], failures: dict[str, str]
    ) -> list[Analysis]:
        """Job outcomes: all done for files under way; in flight for files opened minutes ago."""
        analyses = []
        for source in sources:
            provider = PROVIDER_OF[source][0]
            outcome = ProviderJob.Status.COMPLETED
            # Files opened minutes ago still have their built-in analyses queued: the real
            # worker of `make run` runs them, so the live status moves on a fresh laptop. Vendor
            # jobs are history only (no vendor is configured there), so they are all final.
            if status == Customer.Status.NEW and rank < FRESH_NEW and provider == "local":
                outcome = ProviderJob.Status.QUEUED
            analyses.append(Analysis(source, outcome=outcome, failure=failures.get(source, "")))
        return analyses

    # ------------------------------------------------------------------------ decisions

    def _decide(self, built: Built, status: str, rank: int) -> None:
        """Move the file to its status the way the four-eyes flow would, with its audit trail."""
        rng = self.rng
        customer = built.customer
        analyst = self.users.analyst
        start = min(built.last_event + dt.timedelta(hours=rng.randint(2, 30)), self.now)
        if status == Customer.Status.NEW:
            return
        self._set_status(customer, Customer.Status.IN_REVIEW, actor=customer.assignee or analyst)
        kind = "company" if customer.kind == Customer.Kind.COMPANY else "individual"
        if status == Customer.Status.IN_REVIEW:
            if (kind == "company" and rank in (1, 2)) or (kind == "individual" and rank == 2):
                self._propose(customer, DECISION_STORIES["proposed", kind], start)
            elif rank == 3 and kind == "company":
                decision = self._propose(customer, DECISION_STORIES["sent_back", kind], start)
                self._review(
                    decision,
                    confirm=False,
                    comment=(
                        "The manager alerts of the last 30 days are not discussed in the "
                        "reason: please check them and propose again."
                    ),
                )
            return
        decision = self._propose(customer, DECISION_STORIES[status, kind], start)
        for alert in built.alerts:
            if alert.level != ManagerAlert.Level.LOW or rng.random() < 0.5:
                self._review_alert(alert, decision.proposed_at)
        # Confirming moves the file to the decided status (decision_confirm).
        self._review(decision, confirm=True, comment="Checked: agreed.")

    def _set_status(self, customer: Customer, status: str, *, actor: User) -> None:
        """Opening the review: no service writes `in_review` yet; audited as decisions do."""
        before = customer.status
        Customer.objects.filter(pk=customer.pk).update(status=status)
        customer.status = status
        services.audit_record(
            actor=actor,
            action="customer.status",
            obj=customer,
            customer=customer,
            before={"status": before},
            after={"status": status},
        )

    def _propose(
        self, customer: Customer, story: tuple[str, str, str], at: dt.datetime
    ) -> Decision:
        outcome, reason_code, reason = story
        decision = services.decision_propose(
            customer=customer,
            outcome=outcome,
            reason_code=reason_code,
            reason=reason,
            actor=self.users.analyst,
        )
        proposed_at = min(at, self.now - dt.timedelta(minutes=self.rng.randint(30, 240)))
        self._backdate(decision, proposed_at=proposed_at)
        return decision

    def _review(self, decision: Decision, *, confirm: bool, comment: str) -> None:
        review = services.decision_confirm if confirm else services.decision_send_back
        reviewed = review(decision=decision, actor=self.users.reviewer, comment=comment)
        at = decision.proposed_at + dt.timedelta(hours=self.rng.randint(1, 20))
        self._backdate(reviewed, reviewed_at=min(at, self.now - dt.timedelta(minutes=5)))

    def _review_alert(self, alert: ManagerAlert, before: dt.datetime) -> None:
        acknowledged = alert.level != ManagerAlert.Level.LOW
        reviewed = services.alert_review(
            alert=alert,
            action=ACKNOWLEDGE if acknowledged else DISMISS,
            note="Checked against the BODACC notice; taken into account in the decision."
            if acknowledged
            else "Administrative event, no risk for this file.",
            actor=self.users.analyst,
        )
        at = before - dt.timedelta(minutes=self.rng.randint(10, 120))
        self._backdate(reviewed, reviewed_at=at)

    # ---------------------------------------------------------------------- corrections

    def _corrections(self) -> None:
        """Analyst corrections of OCR fields, in every Artemis delivery state."""
        rng = self.rng
        states = [
            (OcrCorrection.SyncStatus.SYNCED, 1, ""),
            (OcrCorrection.SyncStatus.PENDING, 0, ""),
            (
                OcrCorrection.SyncStatus.FAILED,
                3,
                "Artemis answered 502 Bad Gateway; will retry",
            ),
            (OcrCorrection.SyncStatus.SYNCED, 2, ""),
            (
                OcrCorrection.SyncStatus.FAILED,
                1,
                "Artemis refused the access token (401 Unauthorized)",
            ),
            (OcrCorrection.SyncStatus.SYNCED, 1, ""),
        ]
        reasons = {
            "document_number": "OCR confused letters and digits; checked against the document.",
            "first_name": "Given name misread by the OCR; spelt as printed on the document.",
            "last_name": "Surname as printed on the document (the MRZ drops accents).",
        }
        chosen = self.misreads[:4] + self.transliterated[:2]
        for index, misread in enumerate(chosen):
            sync_status, attempts, error = states[index % len(states)]
            # Minutes after the reading, before anyone proposes a decision on the file.
            at = misread.at + dt.timedelta(minutes=rng.randint(10, 90))
            at = min(at, self.now - dt.timedelta(minutes=5))
            correction = services.ocr_correct(
                ocr_result=misread.ocr_result,
                changes={misread.field: misread.new},
                reason=reasons[misread.field],
                actor=self.users.analyst,
            )
            # Its delivery to Artemis, which the push task would have made (no Artemis here).
            synced = OcrCorrection.SyncStatus.SYNCED
            self._backdate(
                correction,
                created_at=at,
                sync_status=sync_status,
                sync_attempts=attempts,
                sync_error=error,
                synced_at=at + dt.timedelta(seconds=rng.randint(2, 40))
                if sync_status == synced
                else None,
            )
            if sync_status != OcrCorrection.SyncStatus.PENDING:
                # Delivered (or attempted) to Artemis: the file and document exist there.
                Customer.objects.filter(pk=misread.customer.pk, artemis_customer_id="").update(
                    artemis_customer_id=str(rng.randint(100_000, 999_999))
                )
                Document.objects.filter(pk=misread.ocr_result.document_id).update(
                    artemis_document_id=str(rng.randint(1_000_000, 9_999_999))
                )

    # ---------------------------------------------------------------------------- finish

    def _finish(self) -> None:
        """Last activity, from the moved-back timestamps (the engine derived the rest: document
        status, customer risk level)."""
        # Last activity: the latest of what happened to the file, never later than now.
        customers = list(Customer.objects.all())
        latest: dict[int, dt.datetime] = {}
        for model, path, column in (
            (Document, "customer_id", "created_at"),
            (Report, "request__customer_id", "created_at"),
            (Decision, "customer_id", "proposed_at"),
            (Decision, "customer_id", "reviewed_at"),
            (ManagerAlert, "customer_id", "reviewed_at"),
            (OcrCorrection, "ocr_result__document__customer_id", "created_at"),
        ):
            rows = (
                model.objects.values(path).annotate(at=models.Max(column)).values_list(path, "at")
            )
            for customer_id, at in rows:
                if at is not None and (customer_id not in latest or at > latest[customer_id]):
                    latest[customer_id] = at
        for customer in customers:
            customer.last_activity_at = min(latest.get(customer.pk, customer.created_at), self.now)
        Customer.objects.bulk_update(customers, ["last_activity_at"], batch_size=200)


# The decision each file's story ends with (reason codes from the product's list).
DECISION_STORIES = {
    (Customer.Status.APPROVED, "company"): (
        Decision.Outcome.APPROVE,
        ReasonCode.DOCS_OK,
        "Kbis, bank statement and managers checked; no open adverse alert.",
    ),
    (Customer.Status.APPROVED, "individual"): (
        Decision.Outcome.APPROVE,
        ReasonCode.DOCS_OK,
        "Identity document genuine (MRZ and printed data agree), proof of address recent.",
    ),
    (Customer.Status.REJECTED, "company"): (
        Decision.Outcome.REJECT,
        ReasonCode.FRAUD_SUSPECTED,
        "Bank statement edited after issue: amounts painted over (Doc X-Ray, Finovox, local).",
    ),
    (Customer.Status.REJECTED, "individual"): (
        Decision.Outcome.REJECT,
        ReasonCode.ID_MISMATCH,
        "Printed birth date differs from the MRZ; the identity document is considered forged.",
    ),
    (Customer.Status.INFO_REQUESTED, "company"): (
        Decision.Outcome.REQUEST_INFO,
        ReasonCode.FRAUD_SUSPECTED,
        "Statement modified days after it was issued: original requested from the bank portal.",
    ),
    (Customer.Status.INFO_REQUESTED, "individual"): (
        Decision.Outcome.REQUEST_INFO,
        ReasonCode.INCOMPLETE_FILE,
        "No proof of address, and the identity document needs checking: documents requested.",
    ),
    ("proposed", "company"): (
        Decision.Outcome.APPROVE,
        ReasonCode.DOCS_OK,
        "Company documents consistent; manager alerts reviewed.",
    ),
    ("proposed", "individual"): (
        Decision.Outcome.APPROVE,
        ReasonCode.DOCS_OK,
        "Identity verified against the MRZ; address proven.",
    ),
    ("sent_back", "company"): (
        Decision.Outcome.APPROVE,
        ReasonCode.DOCS_OK,
        "Documents consistent.",
    ),
}


def file_origin(
    rng: random.Random,
    *,
    created: dt.datetime,
    verdict: str,
    upload: dt.datetime,
    software: str,
    image: bool = False,
) -> documents.FileOrigin:
    """A file's own dates and producer, consistent with what its reports will say."""
    created = min(created, upload - dt.timedelta(hours=2)).astimezone(PARIS)
    if verdict == CLEAN:
        return documents.FileOrigin(created, created, software)
    if image:
        editors = SUSPICIOUS_IMAGE_SOFTWARE if verdict == SUSPICIOUS else FORGED_IMAGE_SOFTWARE
    else:
        editors = SUSPICIOUS_PDF_SOFTWARE if verdict == SUSPICIOUS else FORGED_PDF_SOFTWARE
    modified = created + dt.timedelta(days=rng.uniform(1.2, 6.5))
    latest = upload.astimezone(PARIS) - dt.timedelta(minutes=rng.randint(20, 90))
    if modified > latest:
        modified = max(created + dt.timedelta(hours=1), latest)
    return documents.FileOrigin(created, modified, rng.choice(editors))


def _document_number(rng: random.Random, country: str, kind: str) -> str:
    letters, alnum = "ABCDEFGHJKLMNPRSTUVWXYZ", "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    if country == "FRA" and kind == "passport":
        return (
            f"{rng.randint(15, 24)}{rng.choice(letters)}{rng.choice(letters)}"
            f"{rng.randint(0, 99_999):05d}"
        )
    return rng.choice(letters) + "".join(rng.choice(alnum) for _ in range(8))


def identity_document(
    rng: random.Random,
    *,
    today: dt.date,
    kind: str,
    first_name: str,
    last_name: str,
    sex: str,
    nationality: str,
    birth_date: dt.date,
    birth_place: str,
    address: str,
    verdict: str,
    upload: dt.datetime,
    expired: bool = False,
) -> documents.IdentityDocument:
    """An identity document of this person: number, dates, MRZ, scan metadata and, when forged,
    a printed birth date that its MRZ contradicts."""
    number = _document_number(rng, nationality, kind)
    if expired:
        expiry = today - dt.timedelta(days=rng.randint(20, 90))
    else:
        expiry = today + dt.timedelta(days=rng.randint(200, 3300))
    issue = add_years(expiry, -10) - dt.timedelta(days=1)
    lines = mrz.for_document(
        passport=kind == "passport",
        country=nationality,
        document_number=number,
        surname=last_name,
        given_names=first_name,
        birth_date=birth_date,
        sex=sex,
        expiry_date=expiry,
    )
    scanned = dt.datetime.combine(
        upload.date(), dt.time(rng.randint(7, 11), rng.randint(0, 59)), tzinfo=PARIS
    ) - dt.timedelta(days=rng.randint(1, 20))
    origin = file_origin(
        rng,
        created=scanned,
        verdict=verdict,
        upload=upload,
        software=rng.choice(SCANNER_SOFTWARE),
        image=True,
    )
    header, label, passport_word = catalog.COUNTRY_HEADERS[nationality]
    printed = None
    if verdict == FRAUDULENT:
        # The forger changed the printed birth date but not the machine-readable zone.
        printed = add_years(birth_date, rng.choice([-4, -3, 3, 5]))
    tone = rng.choice([(196, 160, 130), (150, 110, 85), (110, 80, 60), (225, 190, 165)])
    return documents.IdentityDocument(
        kind=kind,
        issuing_country=nationality,
        nationality=nationality,
        country_header=header,
        nationality_label=label,
        passport_word=passport_word,
        surname=last_name,
        given_names=first_name,
        sex=sex,
        birth_date=birth_date,
        birth_place=birth_place,
        document_number=number,
        issue_date=issue,
        expiry_date=expiry,
        mrz_lines=lines,
        printed_birth_date=printed,
        address=address,
        photo_tone=tone,
        origin=origin,
    )


def job_history(
    rng: random.Random,
    *,
    provider: str,
    status: str,
    failure: Failure | None,
    asynchronous: bool,
    start: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:
    """Counters and timestamps of a job that ended (or stands) in `status`, as the engine would
    have left them had it run from `start` over the past minutes or days: the demo and the
    benchmark build in one instant what took that long."""
    attempts = failure.attempts if failure else 0
    submitted = start + dt.timedelta(seconds=rng.randint(1, 20))
    duration = dt.timedelta(seconds=rng.randint(*DURATION[provider]))
    polls = rng.randint(1, 4) if asynchronous else 0
    registered = providers.get_provider(provider)
    assert registered is not None, provider
    deadline = registered.deadline
    values: dict[str, Any] = {
        "submitted_at": submitted,
        "finished_at": submitted + duration,
        "deadline_at": start + deadline,
        "attempts": attempts or 1 + polls,
        "poll_count": polls,
        "error_count": attempts,
    }
    if status == ProviderJob.Status.QUEUED:
        values.update(submitted_at=None, finished_at=None, attempts=0, poll_count=0)
    elif status in ProviderJob.ACTIVE_STATUSES:
        values.update(
            finished_at=None,
            next_poll_at=now + dt.timedelta(seconds=rng.randint(10, 40)),
            poll_count=polls if status == ProviderJob.Status.PROCESSING else 0,
        )
    elif status == ProviderJob.Status.EXPIRED:
        values.update(finished_at=values["deadline_at"], error_count=0)
    return values


def report_for(
    rng: random.Random,
    source: str,
    *,
    document: Any,
    verdict: str,
    origin: documents.FileOrigin | None,
    today: dt.date,
    identity: documents.IdentityDocument | None = None,
    misread: tuple[str, str, str] | None = None,
    started: dt.datetime | None = None,
    manager: dict[str, Any] | None = None,
) -> tuple[ReportData, OcrData | None, tuple[OfficerData, ...]]:
    """One canned report of `source` on a document (a Document, or anything with its kind,
    content_type, size, sha256 and original_name), with the OCR reading and the officers that
    come with it: the demo's and the benchmark's one builder."""
    kind = document.kind if document else ""
    if source == Report.Source.DOC_XRAY:
        pdf = document is not None and document.content_type == "application/pdf"
        return payloads.doc_xray(rng, kind=kind, verdict=verdict, origin=origin, pdf=pdf), None, ()
    if source == Report.Source.LOCAL_FORENSICS:
        data = payloads.local_forensics(
            rng,
            kind=kind,
            verdict=verdict,
            origin=origin,
            content_type=document.content_type,
            size=document.size,
            sha256=document.sha256,
        )
        return data, None, ()
    if source == Report.Source.FINOVOX_RISK:
        name = document.original_name
        return payloads.finovox_risk(rng, name=name, verdict=verdict, origin=origin), None, ()
    if source == Report.Source.MANAGER_XRAY:
        assert manager is not None
        report, officers = payloads.manager_xray(rng, **manager, today=today)
        return report, None, officers
    assert identity is not None and document is not None
    if source == Report.Source.LOCAL_MRZ:
        return *payloads.local_mrz(rng, identity, today=today), ()
    build = (
        payloads.mindee_passport
        if source == Report.Source.MINDEE_PASSPORT
        else payloads.mindee_international_id
    )
    assert started is not None
    data, read = build(
        rng,
        identity,
        name=document.original_name,
        started=started,
        misread=(misread[0], misread[2]) if misread else None,
    )
    return data, read, ()


def operation_of(source: str, document_kind: str) -> tuple[str, str]:
    provider, operation = PROVIDER_OF[source]
    if provider == "local":
        operation = "identity" if document_kind in Document.IDENTITY_KINDS else "forensics"
    return provider, operation


def operation_is_async(provider: str, analyses: list[Analysis]) -> bool:
    """Polled providers (October, Finovox, Mindee International ID) record polls and attempts."""
    if provider in ("october", "finovox"):
        return True
    return any(a.source == Report.Source.MINDEE_INTERNATIONAL_ID for a in analyses)


def _month_end(day: dt.date, *, months_back: int) -> dt.date:
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _slug(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(char if char.isalnum() else "_" for char in ascii_text.lower()).strip("_")


def _ocr_confusion(value: str) -> str:
    """What an OCR engine typically gets wrong: look-alike characters, dropped accents."""
    for right, wrong in (("0", "O"), ("1", "I"), ("5", "S"), ("8", "B"), ("2", "Z")):
        if right in value:
            return value.replace(right, wrong, 1)
    stripped = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    if stripped != value:
        return stripped
    for right, wrong in (("rn", "m"), ("l", "I"), ("e", "c"), ("a", "o")):
        if right in value:
            return value.replace(right, wrong, 1)
    return value + "."

"""Bulk benchmark data behind `manage.py seed_bench --customers N` (see bench/ and the README).

What the dashboard's pages read, at volume: customers of both kinds in every onboarding status,
their analysis request, documents, provider jobs (mostly completed, some pending, failed or
expired), about ten reports per customer with vendor-shaped raw payloads, OCR results of identity
documents, Manager X-Ray officers with their companies and alerts, decisions, and the audit rows
the customer file's timeline shows (customer created, document added, decisions).

Speed over ceremony: the demo goes through the services and the job engine (demo/builder.py),
at some thirty queries a job; a hundred thousand customers have a million jobs, so here rows are
built in memory and written with plain multi-row INSERTs (COPY on PostgreSQL) in batches, with
explicit primary keys (related rows point to ids known in advance), one transaction per batch.
No service runs per row, no task is enqueued, no per-object audit row is written beyond the
timeline's.

What the rows hold is what the engine would store: the demo's own builders (demo/builder.py,
demo/payloads.py) give each job's history and each report as the provider interface's types
(`ReportData`, `OcrData`, `OfficerData`, officers read by the October provider's parser), and
`report_fields` and its siblings below map them onto columns as the engine's outcome step does
(tests/test_seed_bench.py holds the two to the same rows). Identity reports (local MRZ reader,
Mindee) and OCR results are built per document because they carry the customer's name and a
document number that the queue's search finds. Document forensics payloads (Doc X-Ray,
Finovox, built-in forensics) do not name the customer: they are drawn from a pool of pre-built
variants per (source, kind, verdict) because building a million of them would dominate the
seeding time without changing their size or shape.

Files: every Document row points to one of six real sample files (a passport JPEG, an identity
card PNG and four PDFs drawn by demo.documents), stored once under `bench/` in the default
storage, with their true sha256, size and detected type. Writing a file per document would mean
hundreds of thousands of files and gigabytes for pages that never read them, while the document
viewer and the file view still work on any bench document. The flip side: erasing or purging one
bench customer deletes a shared file for every bench document; a bench database is for benchmarks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.exceptions import FieldDoesNotExist
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from stdnum import luhn

from demo import builder, catalog, documents, mrz, payloads
from demo.payloads import CLEAN, FRAUDULENT, SUSPICIOUS
from kyc import intake, roles
from kyc.i18n import as_detail, as_text
from kyc.models import (
    RISK_ORDER,
    AnalysisRequest,
    AuditEvent,
    Customer,
    Decision,
    Document,
    ManagerAlert,
    OcrResult,
    Officer,
    OfficerRole,
    ProviderJob,
    Report,
)
from kyc.providers.base import CompanyRoleData, OcrData, OfficerData, ReportData

BENCH_SEED = 1100
USER_PREFIX = "bench-"
# Who registers the two customers the benchmarks look up by name (no other bench customer bears
# these names: bench companies are "<sector> <surname> <city> <form>", bench surnames come from
# the catalogue).
BENCH_OWNER = f"{USER_PREFIX}analyst-00"
# The company whose file the live-status benchmark watches (20 pending jobs).
LIVE_STATUS_NAME = "Suivi en Direct Bench SAS"
# The individual the upload benchmark adds documents to (and removes them from afterwards).
UPLOAD_TARGET_NAME = ("Camille", "Essai-Envoi")
LIVE_STATUS_DOCUMENTS = 10  # two pending jobs each (built-in engine and Finovox)
POOL_SIZE = 48  # forensics payload variants per (source, kind, verdict)
POOLED_SOURCES = (Report.Source.DOC_XRAY, Report.Source.LOCAL_FORENSICS, Report.Source.FINOVOX_RISK)
DEFAULT_BATCH = 1000  # customers per transaction
# The failure a failed job of each provider tells (demo/builder.py FAILURES).
FAILURE_OF = {
    "local": "local_failed",
    "october": "october_401",
    "finovox": "finovox_gave_up",
    "mindee": "mindee_failed",
}

# Models in insertion order (parents first); sequence reset and counts use it too.
MODELS: tuple[type[models.Model], ...] = (
    Customer,
    AnalysisRequest,
    Document,
    ProviderJob,
    Report,
    OcrResult,
    Officer,
    OfficerRole,
    ManagerAlert,
    Decision,
    AuditEvent,
)

STATUS_WEIGHTS = {
    Customer.Status.NEW: 0.18,
    Customer.Status.IN_REVIEW: 0.42,
    Customer.Status.INFO_REQUESTED: 0.08,
    Customer.Status.APPROVED: 0.24,
    Customer.Status.REJECTED: 0.08,
}
SECTORS = (
    "Transports",
    "Boulangerie",
    "Cabinet",
    "Garage",
    "Atelier",
    "Menuiserie",
    "Librairie",
    "Pharmacie",
    "Brasserie",
    "Groupe",
    "Immobilière",
    "Studio",
    "Fromagerie",
    "Métallerie",
    "Éditions",
    "Clinique",
)
FORMS = ("SAS", "SARL", "SA", "SASU", "EURL", "SCI")
FIRST_NAMES = tuple(sorted({p[0] for p in catalog.INDIVIDUALS} | {p[0] for p in catalog.OFFICERS}))
LAST_NAMES = tuple(sorted({p[1] for p in catalog.INDIVIDUALS} | {p[1] for p in catalog.OFFICERS}))
NATIONALITIES = ("FRA",) * 7 + ("DEU", "ITA", "ESP", "BEL", "PRT", "POL", "NLD")


@dataclass(frozen=True)
class SampleFile:
    name: str
    size: int
    sha256: str
    content_type: str
    original_name: str


@dataclass
class Users:
    analysts: list[User]
    reviewers: list[User]
    admin: User

    @property
    def workers(self) -> list[User]:
        return self.analysts + self.reviewers


@dataclass
class Rows:
    """One batch of rows, by model, written together."""

    by_model: dict[type[models.Model], list[Row]] = field(
        default_factory=lambda: {model: [] for model in MODELS}
    )

    def add(self, row: Row) -> None:
        self.by_model[row.model].append(row)


@dataclass
class SeedResult:
    created: Counter
    seconds: float
    users: list[str]


class Ids:
    """Primary keys handed out in advance, after the highest existing one of each table."""

    def __init__(self) -> None:
        self.next = {
            model: (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1 for model in MODELS
        }

    def take(self, model: type[models.Model]) -> int:
        value = self.next[model]
        self.next[model] = value + 1
        return value


def non_bench_customers() -> int:
    """Customers not written by this seeder (bench customers are created by a bench user)."""
    return Customer.objects.exclude(created_by__username__startswith=USER_PREFIX).count()


def bench_customer_count() -> int:
    return Customer.objects.filter(created_by__username__startswith=USER_PREFIX).count()


def live_status_customer() -> Customer:
    """The company whose file the live-status benchmark watches."""
    return Customer.objects.get(legal_name=LIVE_STATUS_NAME, created_by__username=BENCH_OWNER)


def upload_target() -> Customer:
    """The individual the upload benchmark adds documents to."""
    first_name, last_name = UPLOAD_TARGET_NAME
    return Customer.objects.get(
        first_name=first_name, last_name=last_name, created_by__username=BENCH_OWNER
    )


# ------------------------------------------------------------------ rows from the engine's types


def report_fields(data: ReportData, *, dumped: bool = False) -> dict[str, Any]:
    """Report columns for a provider's report, as the engine's outcome step stores them
    (`kyc.services.jobs._store_report`); `dumped`: JSON serialised once, for pooled reports."""
    json_value = Dumped if dumped else (lambda value: value)
    return {
        "source": data.source,
        "external_id": data.external_id,
        "flag_color": data.flag_color,
        "flag_value": data.flag_value,
        "score": data.score,
        "reasons": json_value([reason.as_dict() for reason in data.reasons]),
        "summary": json_value(dict(data.summary)),
        "raw": json_value(dict(data.raw)),
    }


def ocr_fields(data: OcrData) -> dict[str, Any]:
    """OcrResult columns, as `_store_ocr` stores them."""
    return {"source": data.source, "fields": dict(data.fields), "confidence": dict(data.confidence)}


def officer_fields(data: OfficerData) -> dict[str, Any]:
    """Officer columns, as `_store_officer` stores them."""
    return {
        "last_name": data.last_name,
        "first_name": data.first_name,
        "birth_date": data.birth_date,
        "confidence": data.confidence,
    }


def role_fields(data: CompanyRoleData) -> dict[str, Any]:
    """OfficerRole columns, as `_store_officer` stores them (its alerts are ManagerAlert rows)."""
    return {
        "company_name": data.company_name,
        "siren": data.siren,
        "start_date": data.start_date,
        "end_date": data.end_date,
    }


@dataclass(frozen=True)
class Pooled:
    """A pooled report and its columns, JSON serialised once (stored many times)."""

    data: ReportData
    fields: dict[str, Any]


def ensure_users(analysts: int = 12, reviewers: int = 4) -> Users:
    """Bench accounts, without a usable password: the benchmarks log them in directly."""

    def user(username: str, role: str, **extra: Any) -> User:
        account, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@bench.invalid", **extra}
        )
        if created:
            account.set_unusable_password()
            account.save(update_fields=["password"])
        account.groups.add(Group.objects.get(name=role))
        return account

    return Users(
        analysts=[user(f"{USER_PREFIX}analyst-{i:02d}", roles.ANALYST) for i in range(analysts)],
        reviewers=[
            user(f"{USER_PREFIX}reviewer-{i:02d}", roles.REVIEWER) for i in range(reviewers)
        ],
        admin=user(f"{USER_PREFIX}admin", roles.ADMIN, is_staff=True, is_superuser=True),
    )


# ---------------------------------------------------------------------------------- sample files


def sample_identity(
    kind: str,
    *,
    surname: str = "Marchand",
    given_names: str = "Élodie",
    document_number: str = "",
    birth_date: dt.date = dt.date(1986, 4, 12),
    birth_place: str = "Angers",
    issue_date: dt.date = dt.date(2021, 10, 1),
    expiry_date: dt.date = dt.date(2031, 9, 30),
) -> documents.IdentityDocument:
    """A French identity document with fixed dates (same bytes every time): the bench's sample
    files, and the passports the upload benchmark sends."""
    passport = kind == "passport"
    number = document_number or ("21AB04519" if passport else "X4RTBPFW4")
    lines = mrz.for_document(
        passport=passport,
        country="FRA",
        document_number=number,
        surname=surname,
        given_names=given_names,
        birth_date=birth_date,
        sex="F",
        expiry_date=expiry_date,
    )
    header, label, word = catalog.COUNTRY_HEADERS["FRA"]
    scanned = dt.datetime(2025, 3, 2, 9, 15)
    return documents.IdentityDocument(
        kind=kind,
        issuing_country="FRA",
        nationality="FRA",
        country_header=header,
        nationality_label=label,
        passport_word=word,
        surname=surname,
        given_names=given_names,
        sex="F",
        birth_date=birth_date,
        birth_place=birth_place,
        document_number=number,
        issue_date=issue_date,
        expiry_date=expiry_date,
        mrz_lines=lines,
        address="12 rue de Saint-Malo, 35000 Rennes",
        origin=documents.FileOrigin(scanned, scanned, "HP Smart 15.4"),
    )


def _sample_contents() -> dict[str, tuple[str, bytes]]:
    """(original name, bytes) of one real file per document kind family."""
    origin = documents.FileOrigin(
        dt.datetime(2025, 2, 1, 3, 12), dt.datetime(2025, 2, 1, 3, 12), "BDA e-Releves 4.2"
    )
    facts = documents.CompanyFacts(
        legal_name="Transports Girard et Fils SA",
        legal_form="Société anonyme",
        siren_formatted="732 829 320",
        city="Lyon",
        address="18 rue de la République, 69002 Lyon",
        activity="Transports routiers de fret",
        capital=250_000,
        registered_on=dt.date(2004, 6, 1),
        officers=[("Président du conseil d'administration", "GIRARD Olivier")],
    )
    lines = [
        documents.StatementLine(dt.date(2025, 1, day), label, amount)
        for day, label, amount in (
            (3, "VIR SEPA RECU /DE SARL DURAND /MOTIF FACTURE F4411", 12_480.0),
            (6, "PRLV SEPA URSSAF COTISATIONS", -3_912.55),
            (11, "CB TOTAL ENERGIES", -412.9),
            (17, "VIR SEPA EMIS /A METRO FRANCE /FACT 2231", -1_806.4),
            (24, "REMISE CARTE 31 TRANSACTIONS", 4_377.1),
            (31, "FRAIS TENUE DE COMPTE", -18.0),
        )
    ]
    statement = documents.BankStatement(
        bank_name="Banque Delta Atlantique",
        bank_address="Service Entreprises, 10 place de la Bourse, 75002 Paris",
        bic="BDATFRPP",
        iban="FR76 3078 8001 0012 3456 7890 185",
        holder=facts.legal_name,
        holder_address=["18 rue de la République", "69002 Lyon"],
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 1, 31),
        opening_balance=84_120.33,
        lines=lines,
        origin=origin,
    )
    figures = {"Chiffre d'affaires net": 2_480_000.0, "Résultat net": 96_300.0}
    return {
        "bank_statement": ("releve_2025_01.pdf", documents.bank_statement_pdf(statement)),
        "company_registration": (
            "kbis.pdf",
            documents.kbis_pdf(facts, issued_on=dt.date(2025, 1, 20), origin=origin),
        ),
        "financial_statement": (
            "comptes_annuels_2024.pdf",
            documents.financial_statement_pdf(facts, year=2024, figures=figures, origin=origin),
        ),
        "proof_of_address": (
            "facture_energie.pdf",
            documents.utility_bill_pdf(
                supplier="Électricité Verte de France",
                holder="Élodie MARCHAND",
                address=["12 rue de Saint-Malo", "35000 Rennes"],
                issued_on=dt.date(2025, 1, 14),
                reference="4410029381",
                amount=84.2,
                origin=origin,
            ),
        ),
        "passport": ("passeport.jpg", documents.passport_jpeg(sample_identity("passport"))),
        "id_card": ("cni_recto.png", documents.id_card_png(sample_identity("id_card"))),
    }


def ensure_sample_files() -> dict[str, SampleFile]:
    """The shared stored files, written once (same bytes every time, so same sha256)."""
    samples = {}
    for kind, (original_name, content) in _sample_contents().items():
        sha256 = hashlib.sha256(content).hexdigest()
        name = f"bench/{kind}-{sha256[:16]}"
        if not default_storage.exists(name):
            saved = default_storage.save(name, ContentFile(content))
            assert saved == name, saved
        inspected = intake.inspect_chunks([content], max_bytes=len(content) + 1)
        samples[kind] = SampleFile(
            name=name,
            size=len(content),
            sha256=sha256,
            content_type=inspected.content_type,
            original_name=original_name,
        )
    return samples


# -------------------------------------------------------------------------------- the seeder


class Row:
    """A row to insert: its model, its primary key and its values by field name (a related row
    or user stands for its key). Cheaper than a model instance, which this seeder never saves."""

    __slots__ = ("model", "pk", "values")

    def __init__(self, model: type[models.Model], pk: int, values: dict[str, Any]):
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "pk", pk)
        object.__setattr__(self, "values", values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            pass
        try:
            return self.model._meta.get_field(name).get_default()
        except FieldDoesNotExist:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.values[name] = value


class Dumped:
    """A JSON value serialised once (pooled payloads are stored many times)."""

    __slots__ = ("text",)

    def __init__(self, value: Any):
        self.text = json.dumps(value)


class Table:
    """A plain multi-row INSERT for one model: Django's bulk_create spends most of its time
    preparing each value through each field, which is what a million rows cannot afford."""

    def __init__(self, model: type[models.Model], now: dt.datetime):
        self.model = model
        quote = connection.ops.quote_name
        sqlite = connection.vendor == "sqlite"
        self.plan: list[tuple[str, Callable[[Any], Any], Any]] = []
        columns = []
        for model_field in model._meta.concrete_fields:
            if model_field.generated:
                continue
            columns.append(quote(model_field.column))
            convert = self._converter(model_field, sqlite)
            if getattr(model_field, "auto_now", False) or getattr(
                model_field, "auto_now_add", False
            ):
                default = convert(now)
            elif model_field.primary_key:
                default = None
            else:
                default = convert(model_field.get_default())
            self.plan.append((model_field.name, convert, default))
        self.copy_sql = f"COPY {quote(model._meta.db_table)} ({', '.join(columns)}) FROM STDIN"
        placeholders = ", ".join(["%s"] * len(columns))
        # Table and column names come from the model's meta, quoted; values are parameters.
        self.sql = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({placeholders})"
        )

    @staticmethod
    def _converter(model_field: models.Field, sqlite: bool) -> Callable[[Any], Any]:
        if model_field.primary_key:
            return _same
        if model_field.is_relation:
            return _key
        if isinstance(model_field, models.JSONField):
            return _json
        if isinstance(model_field, models.DateTimeField):
            return connection.ops.adapt_datetimefield_value if sqlite else _same
        if isinstance(model_field, models.DateField):
            return connection.ops.adapt_datefield_value
        if isinstance(model_field, models.FileField):
            return _file_name
        return _same

    def params(self, row: Row) -> tuple[Any, ...]:
        values = row.values
        out = []
        for name, convert, default in self.plan:
            if name == "id":
                out.append(row.pk)
            elif name in values:
                out.append(convert(values[name]))
            else:
                out.append(default)
        return tuple(out)

    def insert(self, rows: list[Row]) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY: several times faster than multi-row INSERTs on PostgreSQL.
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for row in rows:
                        copy.write_row(self.params(row))
            else:
                cursor.executemany(self.sql, [self.params(row) for row in rows])


def _same(value: Any) -> Any:
    return value


def _key(value: Any) -> Any:
    return None if value is None else value.pk


def _json(value: Any) -> Any:
    if value is None:
        return None  # SQL NULL, as the ORM stores None in a nullable JSONField
    return value.text if isinstance(value, Dumped) else json.dumps(value)


def _file_name(value: Any) -> str:
    return getattr(value, "name", value) or ""


def reset_sequences() -> None:
    """PostgreSQL sequences past the explicit ids (SQLite's AUTOINCREMENT follows by itself)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(MODELS))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def refresh_statistics() -> None:
    """PostgreSQL: what autovacuum does after a while, at once (planner statistics, visibility
    map), so that the benchmarks run against a database in its usual state rather than one
    bulk-loaded a second ago. SQLite is left without ANALYZE statistics, as Django leaves it."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in MODELS:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


class BenchSeeder:
    def __init__(
        self,
        *,
        customers: int,
        seed: int = BENCH_SEED,
        batch_size: int = DEFAULT_BATCH,
        now: dt.datetime | None = None,
        live_status_customer: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ):
        self.total = customers
        self.seed = seed
        self.batch_size = batch_size
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)
        self.live_status_customer = live_status_customer
        self.progress = progress
        self.pools: dict[tuple[str, str, str], list[Pooled]] = {}
        self.created: Counter = Counter()

    # ------------------------------------------------------------------------------ entry

    def run(self) -> SeedResult:
        started = time.monotonic()
        self.users = ensure_users()
        self.samples = ensure_sample_files()
        self.ids = Ids()
        # Another stream for every run that appends to existing bench data: new vendor ids.
        self.rng = random.Random(f"{self.seed}:{self.ids.next[Customer]}")
        self.pool_rng = random.Random(f"{self.seed}:pools")
        want_live = (
            self.live_status_customer
            and not Customer.objects.filter(
                legal_name=LIVE_STATUS_NAME, created_by__username=BENCH_OWNER
            ).exists()
        )
        self.tables = {model: Table(model, self.now) for model in MODELS}
        done = 0
        while done < self.total:
            count = min(self.batch_size, self.total - done)
            rows = Rows()
            for index in range(count):
                if want_live and done + index == 0:
                    self._live_status_customer(rows)
                elif want_live and done + index == 1:
                    self._upload_target(rows)
                else:
                    self._customer(rows)
            self._write(rows)
            done += count
            if self.progress:
                self.progress(done, self.total)
        reset_sequences()
        refresh_statistics()
        return SeedResult(
            created=self.created,
            seconds=time.monotonic() - started,
            users=[u.username for u in [*self.users.workers, self.users.admin]],
        )

    @transaction.atomic
    def _write(self, rows: Rows) -> None:
        for model in MODELS:
            objects = rows.by_model[model]
            if objects:
                self.tables[model].insert(objects)
                self.created[model.__name__] += len(objects)
                if model is ProviderJob:
                    self.created.update(f"job {job.status}" for job in objects)

    def _new(self, rows: Rows, model: type[models.Model], **values: Any) -> Any:
        row = Row(model, self.ids.take(model), values)
        rows.add(row)
        return row

    # ------------------------------------------------------------------------- helpers

    def _siren(self) -> str:
        body = str(self.rng.randint(100_000_00, 999_999_99))
        return body + luhn.calc_check_digit(body)

    def _when(self, start: dt.datetime, *, minutes: tuple[int, int]) -> dt.datetime:
        return min(start + dt.timedelta(minutes=self.rng.randint(*minutes)), self.now)

    def _pooled(self, source: str, kind: str, verdict: str, build: Callable) -> Pooled:
        pool = self.pools.setdefault((source, kind, verdict), [])
        if len(pool) < POOL_SIZE:
            data, _ocr, _officers = build(self.pool_rng)
            pool.append(Pooled(data, report_fields(data, dumped=True)))
        return self.rng.choice(pool)

    def _verdict(self, status: str, lead: bool) -> str:
        if lead and status == Customer.Status.REJECTED:
            return FRAUDULENT
        if lead and status == Customer.Status.INFO_REQUESTED:
            return SUSPICIOUS
        draw = self.rng.random()
        return FRAUDULENT if draw < 0.03 else SUSPICIOUS if draw < 0.15 else CLEAN

    def _origin(self, verdict: str, kind: str, upload: dt.datetime) -> documents.FileOrigin:
        created = upload - dt.timedelta(days=self.rng.randint(1, 40))
        image = kind in Document.IDENTITY_KINDS
        return builder.file_origin(
            self.rng,
            created=created,
            verdict=verdict,
            upload=upload,
            software=builder.SCANNER_SOFTWARE[0]
            if image
            else builder.PDF_SOFTWARE.get(kind, builder.PDF_SOFTWARE["bank_statement"]),
            image=image,
        )

    # ------------------------------------------------------------------------- customers

    def _customer(self, rows: Rows) -> None:
        rng = self.rng
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        company = rng.random() < 0.5
        registered = self.now - dt.timedelta(
            days=rng.uniform(0.01, 3 if status == Customer.Status.NEW else 700)
        )
        creator = rng.choice(self.users.workers)
        assignee = None if rng.random() < 0.25 else rng.choice(self.users.workers)
        if company:
            siren = self._siren()
            customer = self._new(
                rows,
                Customer,
                kind=Customer.Kind.COMPANY,
                legal_name=(
                    f"{rng.choice(SECTORS)} {rng.choice(LAST_NAMES)} "
                    f"{rng.choice(catalog.CITIES).name} {rng.choice(FORMS)}"
                ),
                siren=siren,
                siret=(siren + f"{rng.randint(1, 99):05d}")[:13] if rng.random() < 0.6 else "",
            )
            if customer.siret:
                customer.siret += luhn.calc_check_digit(customer.siret)
        else:
            customer = self._new(
                rows,
                Customer,
                kind=Customer.Kind.INDIVIDUAL,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                birth_date=dt.date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)),
                nationality=rng.choice(NATIONALITIES),
            )
        customer.status = status
        customer.assignee = assignee
        customer.created_by = creator
        customer.created_at = registered
        october = rng.random() < 0.85
        request = self._new(
            rows,
            AnalysisRequest,
            customer=customer,
            code_type=(
                AnalysisRequest.CodeType.SIREN if company else AnalysisRequest.CodeType.INTERNAL
            ),
            code_id=customer.siren if company else f"CUST-{customer.pk}",
            status=AnalysisRequest.Status.ANALYSED if october else AnalysisRequest.Status.OPEN,
            stage="2.1" if october else "",
            october_request_id=payloads.hex_id(rng) if october else None,
            created_by=creator,
            created_at=registered,
            updated_at=registered,
        )
        self._audit(rows, creator, "customer.create", customer, customer, registered)
        uploader = assignee or creator
        clock = registered + dt.timedelta(minutes=rng.randint(1, 5))
        flags: list[str] = []
        last = clock
        plans = self._company_plan(october) if company else self._individual_plan(october)
        for index, (kind, sources) in enumerate(plans):
            clock = self._when(clock, minutes=(1, 30))
            finished = self._document(
                rows,
                customer=customer,
                request=request,
                kind=kind,
                sources=sources,
                uploader=uploader,
                uploaded_at=clock,
                verdict=self._verdict(status, lead=index == 0),
                flags=flags,
            )
            last = max(last, finished)
        if company and october:
            last = max(last, self._manager_xray(rows, customer, request, registered, flags))
        customer.risk_level = max(flags, key=lambda c: RISK_ORDER.get(c, 0), default="")
        last = max(last, self._decision(rows, customer, last))
        customer.last_activity_at = min(last, self.now)

    def _company_plan(self, october: bool) -> list[tuple[str, list[str]]]:
        rng = self.rng
        xray = [Report.Source.DOC_XRAY] if october else []
        finovox = [Report.Source.FINOVOX_RISK]
        plan = [
            (Document.Kind.BANK_STATEMENT, [Report.Source.LOCAL_FORENSICS, *finovox, *xray]),
            (Document.Kind.BANK_STATEMENT, [Report.Source.LOCAL_FORENSICS, *finovox, *xray]),
            (Document.Kind.COMPANY_REGISTRATION, [Report.Source.LOCAL_FORENSICS, *xray]),
        ]
        if rng.random() < 0.3:
            sources = [Report.Source.LOCAL_FORENSICS, *finovox, *xray]
            plan.append((Document.Kind.FINANCIAL_STATEMENT, sources))
        if rng.random() < 0.4:
            plan.append(
                (
                    Document.Kind.ID_CARD,
                    [
                        Report.Source.LOCAL_FORENSICS,
                        Report.Source.LOCAL_MRZ,
                        Report.Source.MINDEE_INTERNATIONAL_ID,
                        *xray,
                    ],
                )
            )
        return plan

    def _individual_plan(self, october: bool) -> list[tuple[str, list[str]]]:
        rng = self.rng
        xray = [Report.Source.DOC_XRAY] if october else []
        passport = rng.random() < 0.55
        identity = [
            Report.Source.LOCAL_FORENSICS,
            Report.Source.LOCAL_MRZ,
            Report.Source.MINDEE_PASSPORT if passport else Report.Source.MINDEE_INTERNATIONAL_ID,
            *xray,
        ]
        if rng.random() < 0.6:
            identity.append(Report.Source.FINOVOX_RISK)
        plan = [(Document.Kind.PASSPORT if passport else Document.Kind.ID_CARD, identity)]
        if rng.random() < 0.85:
            plan.append(
                (
                    Document.Kind.PROOF_OF_ADDRESS,
                    [Report.Source.LOCAL_FORENSICS, Report.Source.FINOVOX_RISK, *xray],
                )
            )
        for _ in range(2 if rng.random() < 0.6 else 0):
            plan.append(
                (
                    Document.Kind.BANK_STATEMENT,
                    [Report.Source.LOCAL_FORENSICS, Report.Source.FINOVOX_RISK, *xray],
                )
            )
        return plan

    # ------------------------------------------------------------------------- documents

    def _document(
        self,
        rows: Rows,
        *,
        customer: Customer,
        request: AnalysisRequest,
        kind: str,
        sources: list[str],
        uploader: User,
        uploaded_at: dt.datetime,
        verdict: str,
        flags: list[str],
        pending: str | None = None,
    ) -> dt.datetime:
        """A document, one job per provider and operation, and the reports of completed jobs."""
        rng = self.rng
        sample = self.samples[kind if kind in self.samples else "id_card"]
        period, document_date = "", None
        if kind == Document.Kind.BANK_STATEMENT:
            period, document_date = Document.Period.MONTH, (uploaded_at - dt.timedelta(days=20))
        elif kind == Document.Kind.FINANCIAL_STATEMENT:
            period, document_date = Document.Period.YEAR, dt.date(uploaded_at.year - 1, 12, 31)
        document = self._new(
            rows,
            Document,
            request=request,
            customer=customer,
            kind=kind,
            period=period,
            document_date=(
                document_date.date() if isinstance(document_date, dt.datetime) else document_date
            ),
            file=sample.name,
            original_name=sample.original_name,
            size=sample.size,
            sha256=sample.sha256,
            content_type=sample.content_type,
            status=Document.Status.ANALYSED,
            october_media_id=payloads.hex_id(rng) if request.october_request_id else "",
            uploaded_by=uploader,
            created_at=uploaded_at,
            updated_at=uploaded_at,
        )
        self._audit(rows, uploader, "document.add", document, customer, uploaded_at)
        identity = None
        if kind in Document.IDENTITY_KINDS:
            identity = self._identity(customer, kind, verdict, uploaded_at)
        origin = identity.origin if identity else self._origin(verdict, kind, uploaded_at)
        groups: dict[tuple[str, str], list[str]] = {}
        for source in sources:
            groups.setdefault(builder.operation_of(source, kind), []).append(source)
        last = uploaded_at
        for (provider, operation), group in groups.items():
            outcome = pending or self._outcome(customer.status, provider)
            job = self._job(rows, request, document, provider, operation, outcome, uploaded_at)
            if job.status in ProviderJob.ACTIVE_STATUSES:
                document.status = Document.Status.ONLINE
            if job.status != ProviderJob.Status.COMPLETED:
                continue
            for source in group:
                data, ocr = self._report_data(source, document, verdict, origin, identity, job)
                self._report(rows, request, document, job, data, ocr, flags)
            last = max(last, job.finished_at)
        return last

    def _identity(
        self, customer: Customer, kind: str, verdict: str, upload: dt.datetime
    ) -> documents.IdentityDocument:
        """The customer's identity document (a manager's, for a company), as the demo draws it."""
        rng = self.rng
        if customer.kind == Customer.Kind.INDIVIDUAL:
            first, last = customer.first_name, customer.last_name
            birth, nationality = customer.birth_date, customer.nationality
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            birth, nationality = dt.date(rng.randint(1950, 1990), 6, rng.randint(1, 28)), "FRA"
        return builder.identity_document(
            rng,
            today=self.today,
            kind="passport" if kind == Document.Kind.PASSPORT else "id_card",
            first_name=first,
            last_name=last,
            sex=rng.choice("FM"),
            nationality=nationality,
            birth_date=birth,
            birth_place=rng.choice(catalog.CITIES).name,
            address="",
            verdict=verdict,
            upload=upload,
            expired=rng.random() < 0.02,
        )

    def _outcome(self, customer_status: str, provider: str) -> str:
        draw = self.rng.random()
        if customer_status == Customer.Status.NEW and draw < 0.25:
            return self.rng.choice(ProviderJob.ACTIVE_STATUSES)
        if draw < 0.01:
            return self.rng.choice(ProviderJob.ACTIVE_STATUSES)
        if draw < 0.035:
            return ProviderJob.Status.FAILED
        if draw < 0.045 and provider == "finovox":
            return ProviderJob.Status.EXPIRED
        return ProviderJob.Status.COMPLETED

    def _job(
        self,
        rows: Rows,
        request: AnalysisRequest,
        document: Document | None,
        provider: str,
        operation: str,
        status: str,
        start: dt.datetime,
    ) -> ProviderJob:
        """A job as the job engine leaves it: the demo's timings, counters and errors."""
        rng = self.rng
        failure = None
        if status in ProviderJob.UNSUCCESSFUL_STATUSES:
            failure = builder.FAILURES[
                "finovox_expired" if status == ProviderJob.Status.EXPIRED else FAILURE_OF[provider]
            ]
        values = builder.job_history(
            rng,
            provider=provider,
            status=status,
            failure=failure,
            asynchronous=provider in ("october", "finovox"),
            start=start,
            now=self.now,
        )
        if failure is not None:
            # As the engine keeps an error: English text, and the message to translate.
            values.update(
                last_error=as_text(failure.message), last_error_detail=as_detail(failure.message)
            )
        external = {
            "october": (document.october_media_id if document else request.october_request_id),
            "finovox": payloads.hex_id(rng, 40),
            "mindee": payloads.uuid4(rng),
        }.get(provider, "")
        return self._new(
            rows,
            ProviderJob,
            request=request,
            document=document,
            provider=provider,
            operation=operation,
            status=status,
            external_id=external or "",
            created_at=start,
            updated_at=values["finished_at"] or start,
            **values,
        )

    def _report_data(
        self,
        source: str,
        document: Document,
        verdict: str,
        origin: documents.FileOrigin,
        identity: documents.IdentityDocument | None,
        job: ProviderJob,
    ) -> tuple[ReportData | Pooled, OcrData | None]:
        """The demo's report for this source. Document forensics (which do not name the
        customer) come from a pool of variants per source, kind and verdict."""

        def build(rng: random.Random) -> tuple[ReportData, OcrData | None, tuple]:
            return builder.report_for(
                rng,
                source,
                document=document,
                verdict=verdict,
                origin=origin,
                today=self.today,
                identity=identity,
                started=job.submitted_at,
            )

        if source in POOLED_SOURCES:
            return self._pooled(source, document.kind, verdict, build), None
        data, ocr, _officers = build(self.rng)
        return data, ocr

    def _report(
        self,
        rows: Rows,
        request: AnalysisRequest,
        document: Document | None,
        job: ProviderJob,
        data: ReportData | Pooled,
        ocr: OcrData | None,
        flags: list[str],
    ) -> Report:
        """The rows the engine's outcome step stores for this report (and its OCR reading)."""
        if isinstance(data, Pooled):
            fields = dict(data.fields)
            if fields["external_id"]:
                # Pooled payloads share their vendor id: each stored report needs its own.
                fields["external_id"] = payloads.hex_id(self.rng)
            data = data.data
        else:
            fields = report_fields(data)
        report = self._new(
            rows,
            Report,
            request=request,
            document=document,
            job=job,
            created_at=job.finished_at,
            **fields,
        )
        flags.append(data.flag_color)
        if ocr is not None and document is not None:
            self._new(
                rows,
                OcrResult,
                document=document,
                report=report,
                created_at=job.finished_at,
                updated_at=job.finished_at,
                **ocr_fields(ocr),
            )
        return report

    # --------------------------------------------------------------------- Manager X-Ray

    def _manager_xray(
        self,
        rows: Rows,
        customer: Customer,
        request: AnalysisRequest,
        registered: dt.datetime,
        flags: list[str],
    ) -> dt.datetime:
        rng = self.rng
        risk = rng.choices([CLEAN, SUSPICIOUS, FRAUDULENT], weights=[0.8, 0.15, 0.05])[0]
        status = self._outcome(customer.status, "october")
        job = self._job(rows, request, None, "october", "manager_xray", status, registered)
        if job.status != ProviderJob.Status.COMPLETED:
            return job.finished_at or registered
        persons = payloads.manager_persons(
            rng,
            company=customer.legal_name,
            siren=customer.siren,
            registered=registered.date(),
            risk=risk,
            today=self.today,
            new_siren=self._siren,
        )
        data, _ocr, officers = builder.report_for(
            rng,
            Report.Source.MANAGER_XRAY,
            document=None,
            verdict=risk,
            origin=None,
            today=self.today,
            manager={
                "request_id": request.october_request_id,
                "siren": customer.siren,
                "persons": persons,
            },
        )
        report = self._report(rows, request, None, job, data, None, flags)
        for person in officers:
            officer = self._new(
                rows, Officer, request=request, report=report, **officer_fields(person)
            )
            for company in person.roles:
                role = self._new(rows, OfficerRole, officer=officer, **role_fields(company))
                for alert in company.alerts:
                    reviewed = rng.random() < 0.4
                    self._new(
                        rows,
                        ManagerAlert,
                        role=role,
                        customer=customer,
                        date=alert.date,
                        name=alert.name,
                        level=alert.level,
                        review_status=(
                            rng.choice(
                                [
                                    ManagerAlert.ReviewStatus.ACKNOWLEDGED,
                                    ManagerAlert.ReviewStatus.DISMISSED,
                                ]
                            )
                            if reviewed
                            else ManagerAlert.ReviewStatus.OPEN
                        ),
                        reviewed_by=rng.choice(self.users.workers) if reviewed else None,
                        reviewed_at=job.finished_at if reviewed else None,
                        review_note="Vérifié au registre." if reviewed else "",
                    )
        return job.finished_at

    # -------------------------------------------------------------------- decisions, audit

    def _decision(self, rows: Rows, customer: Customer, last: dt.datetime) -> dt.datetime:
        rng = self.rng
        status = customer.status
        if status in (
            Customer.Status.APPROVED,
            Customer.Status.REJECTED,
            Customer.Status.INFO_REQUESTED,
        ):
            story, decided = status, True
        elif status == Customer.Status.IN_REVIEW and rng.random() < 0.15:
            story, decided = "proposed", False
        else:
            return last
        outcome, reason_code, reason = builder.DECISION_STORIES[story, customer.kind]
        proposer = rng.choice(self.users.analysts)
        reviewer = rng.choice(self.users.reviewers)
        proposed_at = self._when(last, minutes=(10, 3000))
        reviewed_at = self._when(proposed_at, minutes=(30, 3000)) if decided else None
        decision = self._new(
            rows,
            Decision,
            customer=customer,
            outcome=outcome,
            reason_code=reason_code,
            reason=reason,
            status=Decision.Status.CONFIRMED if decided else Decision.Status.PROPOSED,
            proposed_by=proposer,
            proposed_at=proposed_at,
            reviewed_by=reviewer if decided else None,
            reviewed_at=reviewed_at,
            review_comment="Vu, d'accord." if decided else "",
        )
        self._audit(rows, proposer, "decision.propose", decision, customer, proposed_at)
        if decided:
            self._audit(rows, reviewer, "decision.confirm", decision, customer, reviewed_at)
        return reviewed_at or proposed_at

    def _audit(
        self,
        rows: Rows,
        actor: User | None,
        action: str,
        obj: models.Model,
        customer: Customer,
        at: dt.datetime,
    ) -> None:
        self._new(
            rows,
            AuditEvent,
            actor=actor,
            action=action,
            object_type=obj.model._meta.model_name,
            object_id=str(obj.pk),
            customer=customer,
            after={"seeded": "bench"},
            created_at=at,
        )

    # ------------------------------------------------------------- live-status customer

    def _live_status_customer(self, rows: Rows) -> None:
        """A company whose file has 20 jobs still running (the live-status benchmark's page)."""
        rng = self.rng
        creator = self.users.analysts[0]
        registered = self.now - dt.timedelta(hours=1)
        siren = self._siren()
        customer = self._new(
            rows,
            Customer,
            kind=Customer.Kind.COMPANY,
            legal_name=LIVE_STATUS_NAME,
            siren=siren,
            status=Customer.Status.NEW,
            assignee=creator,
            created_by=creator,
            created_at=registered,
        )
        request = self._new(
            rows,
            AnalysisRequest,
            customer=customer,
            code_type=AnalysisRequest.CodeType.SIREN,
            code_id=siren,
            created_by=creator,
            created_at=registered,
            updated_at=registered,
        )
        self._audit(rows, creator, "customer.create", customer, customer, registered)
        flags: list[str] = []
        for index in range(LIVE_STATUS_DOCUMENTS):
            self._document(
                rows,
                customer=customer,
                request=request,
                kind=Document.Kind.BANK_STATEMENT,
                sources=[Report.Source.LOCAL_FORENSICS, Report.Source.FINOVOX_RISK],
                uploader=creator,
                uploaded_at=registered + dt.timedelta(minutes=index),
                verdict=CLEAN,
                flags=flags,
                pending=rng.choice([ProviderJob.Status.SUBMITTED, ProviderJob.Status.PROCESSING]),
            )
        customer.last_activity_at = registered + dt.timedelta(minutes=LIVE_STATUS_DOCUMENTS)

    def _upload_target(self, rows: Rows) -> None:
        creator = self.users.analysts[0]
        registered = self.now - dt.timedelta(hours=2)
        customer = self._new(
            rows,
            Customer,
            kind=Customer.Kind.INDIVIDUAL,
            first_name=UPLOAD_TARGET_NAME[0],
            last_name=UPLOAD_TARGET_NAME[1],
            birth_date=dt.date(1990, 5, 17),
            nationality="FRA",
            status=Customer.Status.NEW,
            assignee=creator,
            created_by=creator,
            created_at=registered,
            last_activity_at=registered,
        )
        self._new(
            rows,
            AnalysisRequest,
            customer=customer,
            code_type=AnalysisRequest.CodeType.INTERNAL,
            code_id=f"CUST-{customer.pk}",
            created_by=creator,
            created_at=registered,
            updated_at=registered,
        )
        self._audit(rows, creator, "customer.create", customer, customer, registered)

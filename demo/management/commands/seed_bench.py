"""`manage.py seed_bench --customers N`: bulk benchmark data (demo/bench.py, bench/).

Adds N customers with their documents, jobs, reports, OCR results, officers, alerts and decisions.
Run again, it adds N more (the benchmarks grow one database from 1,000 to 100,000 customers).
Refuses a database that holds customers it did not write, unless --force: benchmark data mixed
into real or demo data would make both misleading.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from demo import bench as bench_data


class Command(BaseCommand):
    help = "Add N benchmark customers with realistic reports, documents and jobs (bulk inserts)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True, help="customers to add")
        parser.add_argument("--seed", type=int, default=bench_data.BENCH_SEED)
        parser.add_argument(
            "--batch-size",
            type=int,
            default=bench_data.DEFAULT_BATCH,
            help="customers written per transaction",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="seed even though the database holds customers that are not benchmark data",
        )

    def handle(self, *args, customers: int, seed: int, batch_size: int, force: bool, **options):
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        foreign = bench_data.non_bench_customers()
        if foreign and not force:
            raise CommandError(
                f"This database holds {foreign} customers that are not benchmark data: "
                "use a database of its own (SQLITE_PATH or DATABASE_URL), or --force."
            )
        before = bench_data.bench_customer_count()
        progress = self._progress if options["verbosity"] >= 1 and sys.stdout.isatty() else None
        seeder = bench_data.BenchSeeder(customers=customers, seed=seed, batch_size=batch_size)
        seeder.progress = progress
        result = seeder.run()
        if progress:
            self.stdout.write("")
        rows = sum(count for name, count in result.created.items() if not name.startswith("job "))
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {customers} customers in {result.seconds:.1f} s "
                f"({rows / max(result.seconds, 1e-9):,.0f} rows/s); "
                f"{before + customers} benchmark customers in the database now."
            )
        )
        for model in bench_data.MODELS:
            self.stdout.write(f"  {model.__name__:<16} {result.created[model.__name__]:>10,}")
        jobs = ", ".join(
            f"{name[4:]} {count:,}"
            for name, count in sorted(result.created.items())
            if name.startswith("job ")
        )
        self.stdout.write(f"  jobs by status: {jobs}")
        self.stdout.write(
            f"  users: {', '.join(result.users)} (no usable password; benchmarks log them in)"
        )

    def _progress(self, done: int, total: int) -> None:
        self.stdout.write(f"\r  {done:,}/{total:,} customers", ending="")
        self.stdout.flush()

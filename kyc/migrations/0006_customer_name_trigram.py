"""PostgreSQL only: a trigram index on the customer name, for the case queue's search by part of
a name (Django's icontains: UPPER(name) LIKE UPPER('%...%')). Without it a search matching few
customers reads the whole table (76 ms at 100,000 customers, bench/). SQLite has no such index:
there the search walks the `customer_activity` index, which carries the name.

pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it. Where the
database user may not, the index is skipped with a notice and the search is only slower.
"""

from django.db import migrations, transaction

INDEX = "customer_name_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - privileges differ per installation
        print(f"\n  pg_trgm unavailable ({exc}); {INDEX} not created: name search is slower.")
        return
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "kyc_customer" '
        'USING gin ((UPPER("name"::text)) gin_trgm_ops)'
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [("kyc", "0005_queue_search_and_paging")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]

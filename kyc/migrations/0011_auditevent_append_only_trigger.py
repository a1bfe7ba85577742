"""PostgreSQL only: the database itself refuses UPDATE and DELETE on audit rows.

The model and its queryset already refuse (`AuditEvent.save`, `.update()`, `.delete()`), but raw
SQL, `bulk_update`, a cascade or a psql session go around the ORM. A row-level trigger is the one
guard nothing in the application can skip. It raises SQLSTATE 23001 (restrict_violation), which
Django reports as an IntegrityError.

TRUNCATE is left alone: row-level triggers do not fire on it, and Django's `flush` (the teardown of
transactional tests) truncates. SQLite gets no trigger: its `flush` is a plain `DELETE FROM`, which
a DELETE trigger would break, and Django rebuilds a SQLite table (dropping its triggers) on many
schema changes.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION kyc_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Audit events are append-only: % of kyc_auditevent % refused.', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;
DROP TRIGGER IF EXISTS kyc_auditevent_append_only ON kyc_auditevent;
CREATE TRIGGER kyc_auditevent_append_only
    BEFORE UPDATE OR DELETE ON kyc_auditevent
    FOR EACH ROW EXECUTE FUNCTION kyc_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS kyc_auditevent_append_only ON kyc_auditevent;
DROP FUNCTION IF EXISTS kyc_auditevent_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("kyc", "0010_webhookevent_body_size_and_requeue")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]

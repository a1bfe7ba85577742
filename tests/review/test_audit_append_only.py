"""The database itself keeps audit rows append-only on PostgreSQL (migration 0011's trigger)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from kyc.models import AuditEvent
from tests.factories import make_customer, make_user

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL only"
)


def _one_event() -> AuditEvent:
    # No role group: an earlier transactional test may have flushed the roles migration.
    make_customer(actor=make_user(role=None))
    return AuditEvent.objects.order_by("pk").first()


@postgresql_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE kyc_auditevent SET action = 'tampered' WHERE id = %s",
        "DELETE FROM kyc_auditevent WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_raw_sql_cannot_change_or_delete_an_audit_row(sql):
    event = _one_event()

    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])

    event.refresh_from_db()
    assert event.action != "tampered"


@postgresql_only
@pytest.mark.django_db
def test_inserting_audit_rows_still_works_under_the_trigger():
    before = AuditEvent.objects.count()
    make_customer()
    assert AuditEvent.objects.count() > before


@pytest.mark.django_db(transaction=True)
def test_flushing_the_database_still_empties_the_audit_table():
    # Django's flush (the teardown of every transactional test) truncates: the trigger must not
    # stand in its way.
    _one_event()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()

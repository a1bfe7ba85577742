"""AuditEvent.Action is the one list of audit actions: the code writes only those, the audit
log's filter offers exactly those."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kyc.models import AuditEvent
from kyc.services import audit_record
from tests.factories import make_customer

ROOT = Path(__file__).resolve().parents[2]
REGISTERED = set(AuditEvent.Action.values)
FAMILIES = {value.split(".", 1)[0] for value in REGISTERED}
ACTION_LIKE = re.compile(r"^([a-z]+)\.[a-z_]+$")
# Strings of that shape that are not actions (a multipart file name sent to Artemis).
NOT_ACTIONS = {"document.json"}


def _sources() -> list[Path]:
    return [
        path
        for folder in ("kyc", "demo")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _written_actions() -> tuple[set[str], list[str]]:
    """Every string in the code that looks like an action of a registered family, and every
    f-string that would build one (which no test could check)."""
    literals: set[str] = set()
    built: list[str] = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = ACTION_LIKE.match(node.value)
                if match and match.group(1) in FAMILIES and node.value not in NOT_ACTIONS:
                    literals.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values:
                head = node.values[0]
                if (
                    isinstance(head, ast.Constant)
                    and "." in head.value
                    and head.value.split(".", 1)[0] in FAMILIES
                    and re.fullmatch(r"[a-z]+\.[a-z_]*", head.value)
                ):
                    built.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return literals, built


def test_every_action_the_code_writes_is_registered_and_none_is_built_from_parts():
    literals, built = _written_actions()
    assert literals - REGISTERED == set()
    assert built == []


def test_every_registered_action_is_written_somewhere():
    literals, _ = _written_actions()
    assert REGISTERED - literals == set()


@pytest.mark.django_db
def test_an_unregistered_action_is_refused_before_anything_is_written():
    customer = make_customer()
    count = AuditEvent.objects.count()

    with pytest.raises(ValueError, match=r"customer\.tampered"):
        audit_record(actor=None, action="customer.tampered", obj=customer, customer=customer)

    assert AuditEvent.objects.count() == count


def test_the_action_filter_offers_every_registered_action_and_family(reviewer_client):
    response = reviewer_client.get("/audit/")

    offered = set(re.findall(r'<option value="([^"]+)" label=', response.text))
    assert offered == REGISTERED | {f"{family}." for family in FAMILIES}
    assert 'label="Decision confirmed"' in response.text


def test_the_audit_log_and_the_timeline_name_actions_in_french(reviewer_client):
    customer = make_customer()

    log = reviewer_client.get("/audit/", headers={"Accept-Language": "fr"})
    timeline = reviewer_client.get(
        f"/customers/{customer.pk}/timeline/", headers={"Accept-Language": "fr"}
    )

    assert "Client créé" in log.text
    assert "Client créé" in timeline.text

from __future__ import annotations

import pytest

from tests.factories import make_user


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def nobody(db):
    """A signed-in account without any role."""
    return make_user("nobody", role=None)


HTMX = {"HX-Request": "true"}


def htmx(target: str | None = None) -> dict[str, str]:
    headers = dict(HTMX)
    if target:
        headers["HX-Target"] = target
    return headers

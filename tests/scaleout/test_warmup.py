"""gunicorn's master warms the app up before forking workers (kyc/warmup.py)."""

from __future__ import annotations

import pytest
from django.db import connections
from django.template import engines
from django.utils import translation
from django.utils.translation import trans_real

from kyc import warmup


@pytest.fixture
def cold(settings):
    """A fresh cached template loader and translation cache, as in a process that just started."""
    loader = engines["django"].engine.template_loaders[0]
    loader.reset()
    trans_real._translations.clear()
    yield loader
    trans_real._translations.clear()


def test_warm_up_compiles_templates_and_loads_catalogues_without_a_database(cold, settings):
    for connection in connections.all():
        connection.close()
    language = translation.get_language()

    warmup.warm_up()

    cached = set(cold.get_template_cache)
    assert {"kyc/customers/_live.html", "kyc/customers/_job.html"} <= cached
    assert {code for code, _name in settings.LANGUAGES} <= set(trans_real._translations)
    assert translation.get_language() == language
    # The master's connections would be shared by every worker forked from it.
    assert all(connection.connection is None for connection in connections.all())


def test_every_warmed_template_exists():
    for name in warmup.TEMPLATES:
        engines["django"].get_template(name)

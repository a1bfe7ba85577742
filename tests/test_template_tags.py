"""kyc_tags: the template filters shared by the screens."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from kyc.models import Customer, ProviderJob


def render(source: str, **context) -> str:
    return Template("{% load kyc_tags %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("status", "language"),
    [(status, language) for status in ProviderJob.Status.values for language in ("en", "fr")],
)
def test_label_shows_what_get_display_shows_in_the_active_language(status, language):
    job = ProviderJob(status=status)
    with translation.override(language):
        assert render('{{ job|label:"status" }}', job=job) == job.get_status_display()


def test_label_follows_a_language_switch_after_first_use():
    customer = Customer(risk_level="red")
    with translation.override("en"):
        english = render('{{ c|label:"risk_level" }}', c=customer)
    with translation.override("fr"):
        french = render('{{ c|label:"risk_level" }}', c=customer)
    assert english != french
    with translation.override("fr"):
        assert french == customer.get_risk_level_display()


def test_label_shows_an_unknown_value_as_it_is_escaped():
    job = ProviderJob(status="<b>weird</b>")
    assert render('{{ job|label:"status" }}', job=job) == "&lt;b&gt;weird&lt;/b&gt;"


def test_label_names_a_reverse_relation_as_not_a_field():
    with pytest.raises(ValueError, match=r"kyc\.Customer\.documents is not a field with choices"):
        render('{{ c|label:"documents" }}', c=Customer())

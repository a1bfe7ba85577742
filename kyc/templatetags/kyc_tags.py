from __future__ import annotations

import functools

from django import template
from django.db import models

from kyc.i18n import from_detail

register = template.Library()


@functools.cache
def _choice_labels(field: models.Field) -> dict[object, object]:
    return dict(field.flatchoices)


@register.filter
def label(instance: models.Model, field_name: str) -> str:
    """`{{ job|label:"status" }}`: what `job.get_status_display` shows, in the active language.

    Model.get_FOO_display() rebuilds a hashable copy of the field's choices on every call (about
    40 us); the live-status fragment shows dozens of them every 2 s. The labels are looked up in
    a dict built once per field and translated when rendered."""
    field = instance._meta.get_field(field_name)
    if not isinstance(field, models.Field):  # a reverse relation: no value, no choices
        raise ValueError(f"{instance._meta.label}.{field_name} is not a field with choices")
    value = getattr(instance, field.attname)
    try:
        return str(_choice_labels(field).get(value, value))
    except TypeError:  # an unhashable value: leave it to Django
        return getattr(instance, f"get_{field_name}_display")()


@register.filter
def dict_get(mapping, key):
    """`{{ mapping|dict_get:key }}`: a dict lookup with a variable key (empty when missing)."""
    if not mapping:
        return ()
    return mapping.get(key, ())


@register.filter
def provider_label(name: str) -> str:
    """A provider's display name ("Built-in engine") from its code name ("local")."""
    from kyc.providers import get_provider

    provider = get_provider(name)
    return str(provider.label) if provider else name


@register.filter
def job_error(job) -> str:
    """`{{ job|job_error }}`: the job's last error in the active language.

    The engine keeps the error as a translatable message (`last_error_detail`, kyc.i18n) beside
    its English text (`last_error`); the English text is shown when there is no message, or one
    that cannot be read."""
    return from_detail(getattr(job, "last_error_detail", None), job.last_error)

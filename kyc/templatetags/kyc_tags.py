from __future__ import annotations

from django import template

register = template.Library()


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

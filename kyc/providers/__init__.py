"""The provider registry, built from settings.

`settings.KYC_PROVIDERS` lists provider classes by dotted path; a provider is enabled when its
`is_configured()` says so (a vendor: when its credentials are set; the built-in engine: always).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from kyc.providers.base import Provider, ProviderError


def provider_classes() -> list[type[Provider]]:
    return [import_string(path) for path in settings.KYC_PROVIDERS]


def enabled_providers() -> list[Provider]:
    return [cls() for cls in provider_classes() if cls.is_configured()]


def get_provider(name: str) -> Provider | None:
    """The provider called `name`, enabled or not (jobs and webhooks outlive configuration)."""
    for cls in provider_classes():
        if cls.name == name:
            return cls()
    return None


__all__ = ["Provider", "ProviderError", "enabled_providers", "get_provider", "provider_classes"]

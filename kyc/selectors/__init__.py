"""Reads, scoped to what the user may see, shaped so templates trigger no further queries.
One module per screen area; object access is decided in `access`."""

from kyc.selectors.access import customers_visible_to, documents_visible_to

__all__ = ["customers_visible_to", "documents_visible_to"]

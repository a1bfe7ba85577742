"""Work a web process does once, before it serves: done in gunicorn's master (preload_app), so
every forked worker, including one that replaces a recycled worker, starts warm.

Without it the first requests of each new worker load the translation catalogues, build the URL
resolver and compile the templates, while the requests queued behind them wait. Nothing here may
open a database connection: the master's connections would be shared by every worker it forks.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import get_template
from django.urls import get_resolver, reverse
from django.utils import translation

# The pages an analyst opens all day, and the fragment the customer file polls every 2 s.
TEMPLATES = (
    "base.html",
    "kyc/customers/queue.html",
    "kyc/customers/detail.html",
    "kyc/customers/_live.html",
    "kyc/customers/_documents.html",
    "kyc/customers/_job.html",
    "kyc/customers/_reports_summary.html",
    "kyc/customers/_risk.html",
    "kyc/_flag.html",
    "registration/login.html",
)


def warm_up() -> None:
    get_resolver().url_patterns  # noqa: B018 - imports every view module
    reverse("kyc:home")  # fills the reverse lookup tables
    for template in TEMPLATES:
        get_template(template)  # compiled once, kept by the cached template loader
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Documents and analyses")  # loads the catalogue

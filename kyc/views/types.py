"""The request type of our views.

django-htmx's middleware (settings.MIDDLEWARE) sets `request.htmx` on every request; views that
read it take an `HtmxHttpRequest` so that the type checker knows it is there (django-htmx docs,
"Type checking"). Views that do not read it take a plain `HttpRequest`.
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails

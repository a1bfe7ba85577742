"""Where a form sends the user back to: the `next` field of the page that posted it.

`next` comes from the client, so it is only followed when it is a path on this site. It is
redirected to as a URL, never handed to `django.shortcuts.redirect()`, which takes a string
without a slash or a dot for a URL pattern name and raises NoReverseMatch (a 500) on it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, candidate: str, default: str) -> str:
    """`candidate` if it is a local absolute path ("/customers/3/?page=2"), else `default`."""
    if (
        not candidate
        or not candidate.startswith("/")
        or candidate.startswith(("//", "/\\"))
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in candidate)
        or not url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return default
    return candidate


def redirect_to_next(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Redirect to the posted `next` path, or to `default` when it is missing or not local."""
    return HttpResponseRedirect(safe_next_url(request, request.POST.get("next", ""), default))

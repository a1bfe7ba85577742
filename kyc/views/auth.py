"""Log-in with lockouts: the dashboard's login page and the admin's share the same counters.

After LOGIN_MAX_FAILURES failures for one username (or LOGIN_MAX_FAILURES_PER_IP from one
address), counted until LOGIN_LOCKOUT_SECONDS pass without a failure, further attempts are
refused without checking the password until the lock expires; the page says for how long. A
successful log-in clears the username's count. The counting is django-axes' (kyc.lockout).
"""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import ngettext

from kyc import lockout
from kyc.services import auth as auth_services


def locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed log-in attempts. Log-in is blocked for %(minutes)d more minute.",
        "Too many failed log-in attempts. Log-in is blocked for %(minutes)d more minutes.",
        minutes,
    ) % {"minutes": minutes}


class ThrottledLoginMixin(AuthenticationForm):
    """An AuthenticationForm that refuses while locked and audits each counted failure; mixed
    into the admin's form too (AdminAuthenticationForm is an AuthenticationForm)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # AuthenticationForm sets the username field's max_length after the field was built, so
        # only the HTML attribute limits it: a megabyte-long name would reach the database (and
        # SQLite refuses a LIKE pattern that long). Enforce the User model's limit here.
        field = self.fields["username"]
        assert isinstance(field, forms.CharField)  # AuthenticationForm's UsernameField
        if field.max_length is not None:
            field.validators.append(MaxLengthValidator(field.max_length))

    def clean(self) -> dict[str, Any]:
        if "username" in self.errors:
            # No account has such a name: refused like a wrong password (the log-in page shows
            # no field errors), without a password check to count or audit.
            raise self.get_invalid_login_error()
        username = self.cleaned_data.get("username") or ""
        request = self.request
        if request is not None and username:
            wait = lockout.locked_for(request, username)
            if wait:
                raise ValidationError(locked_message(wait), code="locked")
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if request is not None and getattr(request, "axes_locked_out", False):
                # Locked by a concurrent attempt since the check above: axes refused without
                # checking the password, and did not count this attempt.
                wait = lockout.locked_for(request, username)
                raise ValidationError(locked_message(wait), code="locked") from exc
            # user_cache is set when the password was right but the account may not log in
            # here (not staff, on the admin's form): not a guess, and axes did not count it.
            wrong_password = getattr(self, "user_cache", None) is None
            if (
                request is not None
                and username
                and wrong_password
                and any(error.code == "invalid_login" for error in exc.error_list)
            ):
                wait = auth_services.login_failed_record(request=request, username=username)
                if wait:
                    raise ValidationError(locked_message(wait), code="locked") from exc
            raise
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


login = auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponseBase | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponseBase:
    """What axes' middleware answers to a request whose log-in axes refused (settings.
    AXES_LOCKOUT_CALLABLE): the page as our view rendered it, since our log-in forms already say
    that the account is locked and for how long; elsewhere a plain 429 in the reader's language."""
    if isinstance(original_response, HttpResponseBase):
        return original_response
    wait = lockout.locked_for(request, lockout.username_of(request, credentials))
    return HttpResponse(locked_message(wait), status=429, content_type="text/plain; charset=utf-8")

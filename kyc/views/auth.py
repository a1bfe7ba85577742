"""Log-in with throttling: the dashboard's login page and the admin's share the same counters.

After LOGIN_MAX_FAILURES failures for one username (or LOGIN_MAX_FAILURES_PER_IP from one
address) within LOGIN_LOCKOUT_SECONDS, further attempts are refused without checking the password
until the lock expires; the page says for how long. A successful log-in clears the username's
count.
"""

from __future__ import annotations

import math

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import ngettext

from kyc import throttle
from kyc.middleware import client_ip
from kyc.services import auth as auth_services


def locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed log-in attempts. Log-in is blocked for %(minutes)d more minute.",
        "Too many failed log-in attempts. Log-in is blocked for %(minutes)d more minutes.",
        minutes,
    ) % {"minutes": minutes}


class ThrottledLoginMixin:
    """For an AuthenticationForm: refuse while locked, count and audit each failure."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # AuthenticationForm sets the username field's max_length after the field was built, so
        # only the HTML attribute limits it: a megabyte-long name would reach the database (and
        # SQLite refuses a LIKE pattern that long). Enforce the User model's limit here.
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))

    def clean(self):
        if "username" in self.errors:
            # No account has such a name: refused like a wrong password (the log-in page shows
            # no field errors), without a password check to count or audit.
            raise self.get_invalid_login_error()
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request) if self.request is not None else None
        wait = throttle.login_locked_for(username, ip)
        if wait:
            raise ValidationError(locked_message(wait), code="locked")
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            # user_cache is set when the password was right but the account may not log in
            # here (inactive, or not staff on the admin's form): not a guess, not counted.
            wrong_password = getattr(self, "user_cache", None) is None
            if (
                username
                and wrong_password
                and any(error.code == "invalid_login" for error in exc.error_list)
            ):
                wait = auth_services.login_failed_record(username=username, ip=ip)
                if wait:
                    raise ValidationError(locked_message(wait), code="locked") from exc
            raise
        auth_services.login_succeeded(username=username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


login = auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm)

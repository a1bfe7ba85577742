from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from kyc.views import auth, health, webhooks

urlpatterns = [
    path("", include("kyc.views.urls", namespace="kyc")),
    path("accounts/login/", auth.login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("healthz/", health.healthz, name="healthz"),
    path("webhooks/<slug:provider>/", webhooks.receive, name="webhook"),
    path("admin/", admin.site.urls),
]

# The admin's log-in form counts failures like ours (one lock for both pages).
admin.site.login_form = auth.ThrottledAdminAuthenticationForm
admin.site.site_header = _("KYC dashboard")
admin.site.site_title = _("KYC dashboard")

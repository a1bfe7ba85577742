"""Who may open what: every URL of the project needs a login except a short public list.

The URL walk is data-driven: a page added to any URLconf (ours or the admin's) is covered by the
next test run without touching this file. Also here: logging in and out, the health check, the
security headers of HTML pages, the language switch and the query budget of the home page.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.converters import IntConverter, UUIDConverter
from django.urls.resolvers import RegexPattern, RoutePattern

from kyc.models import AnalysisRequest, Customer, Document
from tests.factories import make_customer, make_user

# URL names (namespaced like reverse() wants them) that anyone may open.
PUBLIC_NAMES = {
    "login",
    "set_language",
    "healthz",
    # The admin's own login form: it is where protected admin pages send anonymous users.
    "admin:login",
}
PUBLIC_PREFIXES = ("/webhooks/",)  # vendors call these; they authenticate by signature


# ------------------------------------------------------------------------------------ the walk


def _fill_route(pattern: RoutePattern) -> str:
    def value(match: re.Match) -> str:
        converter = pattern.converters[match.group("name")]
        if isinstance(converter, IntConverter):
            return "1"
        if isinstance(converter, UUIDConverter):
            return str(uuid.UUID(int=1))
        return "x"  # str, slug, path and custom converters that take a word

    filled = re.sub(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>", value, str(pattern._route))
    return filled


def _fill_regex(pattern: RegexPattern) -> str:
    regex = pattern._regex

    def value(match: re.Match) -> str:
        inner = match.group("inner")
        if re.fullmatch(r"[\w-]+(\|[\w-]+)*", inner):
            return inner.split("|")[0]  # an alternation of words, such as app labels
        if re.fullmatch(r"\\d\+|\[0-9\]\+", inner):
            return "1"
        return "x"

    filled = re.sub(r"\(\?P<(?P<name>\w+)>(?P<inner>[^()]*)\)", value, regex)
    filled = filled.removeprefix("^").removesuffix("$").replace("\\", "")
    assert re.fullmatch(regex.removeprefix("^"), filled) or re.match(regex, filled), (
        f"The URL walk cannot build a URL for the regex {regex!r}: teach _fill_regex."
    )
    return filled


def _fill(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _fill_route(pattern)
    if isinstance(pattern, RegexPattern):
        return _fill_regex(pattern)
    raise AssertionError(f"Unknown URL pattern type {type(pattern).__name__}: teach the walk.")


def walk_urls(patterns=None, prefix: str = "/", namespace: str = ""):
    """(url, name) for every URL pattern, recursing into includes (the admin's too)."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            yield from walk_urls(entry.url_patterns, prefix + _fill(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield prefix + _fill(entry.pattern), name


ALL_URLS = sorted(set(walk_urls()))


def is_public(url: str, name: str) -> bool:
    return name in PUBLIC_NAMES or url.startswith(PUBLIC_PREFIXES)


def login_paths() -> set[str]:
    return {resolve_url(settings.LOGIN_URL), reverse("admin:login")}


def test_the_walk_covers_the_whole_url_conf():
    names = {name for _, name in ALL_URLS}
    assert len(ALL_URLS) > 10
    assert {"kyc:home", "kyc:customer-detail", "login", "logout", "healthz"} <= names
    assert {"admin:index", "admin:kyc_customer_changelist", "admin:kyc_customer_change"} <= names
    # Every built URL resolves back to a view: the walk builds real URLs, not guesses.
    for url, _ in ALL_URLS:
        resolve(urlsplit(url).path)


def test_the_public_allow_list_names_only_real_urls():
    names = {name for _, name in ALL_URLS}
    assert names >= PUBLIC_NAMES


@pytest.mark.parametrize(
    ("url", "name"), [item for item in ALL_URLS if not is_public(*item)], ids=lambda v: v or "-"
)
def test_anonymous_user_is_sent_to_a_login_page(client, db, url, name):
    response = client.get(url)

    assert response.status_code == 302, f"{url} answered {response.status_code} anonymously"
    location = urlsplit(response["Location"])
    if name.startswith("admin:") or url.startswith(reverse("admin:index")):
        # Our LoginRequiredMiddleware answers before the admin's own check; either login page
        # will do for the admin.
        assert location.path in login_paths(), f"{url} redirects to {location.path}"
    else:
        assert location.path == resolve_url(settings.LOGIN_URL)
    assert parse_qs(location.query)["next"] == [url]


@pytest.mark.parametrize(
    ("url", "name"), [item for item in ALL_URLS if is_public(*item)], ids=lambda v: v or "-"
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_public_urls_do_not_ask_for_a_login(client, db, url, name, method):
    response = getattr(client, method)(url)

    assert response.status_code < 500
    if response.status_code in (301, 302, 303, 307, 308):
        assert urlsplit(response["Location"]).path not in login_paths()


def test_the_home_page_of_another_namespace_still_needs_login(client, db):
    # A guard against the walk missing our own app because of its namespace.
    response = client.get(reverse("kyc:home"))
    assert response.status_code == 302


# --------------------------------------------------------------------------------- login/logout


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text
    assert "csrfmiddlewaretoken" in response.text


def test_valid_password_logs_in_and_lands_on_the_home_page(client, analyst):
    response = client.post(
        reverse("login"), {"username": analyst.username, "password": "pw-for-tests-only"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("kyc:home")
    assert client.session["_auth_user_id"] == str(analyst.pk)
    assert client.get(reverse("kyc:home")).status_code == 200


def test_login_follows_a_local_next_but_never_an_outside_one(client, analyst):
    credentials = {"username": analyst.username, "password": "pw-for-tests-only"}

    local = client.post(reverse("login"), {**credentials, "next": "/customers/7/"})
    assert local["Location"] == "/customers/7/"

    client.logout()
    outside = client.post(reverse("login"), {**credentials, "next": "https://evil.example/"})
    assert outside["Location"] == reverse("kyc:home")


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(client, analyst):
    response = client.post(
        reverse("login"), {"username": analyst.username, "password": "not-the-password"}
    )

    assert response.status_code == 200
    assert 'role="alert"' in response.text
    assert "correct username and password" in response.text
    assert "_auth_user_id" not in client.session


def test_logout_refuses_get_and_keeps_the_session(analyst_client, analyst):
    response = analyst_client.get(reverse("logout"))

    assert response.status_code == 405
    assert analyst_client.session["_auth_user_id"] == str(analyst.pk)


def test_logout_by_post_ends_the_session(analyst_client):
    response = analyst_client.post(reverse("logout"))

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)
    assert "_auth_user_id" not in analyst_client.session
    assert analyst_client.get(reverse("kyc:home")).status_code == 302


def test_user_without_any_role_sees_no_customer(client, db):
    make_customer(last_name="Hidden")
    client.force_login(make_user("norole", role=None))

    response = client.get(reverse("kyc:home"))

    assert response.status_code == 200
    assert "HIDDEN" not in response.text


# -------------------------------------------------------------------------------- health check


def test_health_check_answers_anonymously_with_json(client, db):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_health_check_is_read_only(client, db):
    assert client.post(reverse("healthz")).status_code == 405


# ----------------------------------------------------------------------------- security headers


def assert_secure_html(response, url: str) -> None:
    csp = response.get("Content-Security-Policy")
    assert csp, f"{url} has no Content-Security-Policy"
    assert "'unsafe-inline'" not in csp, url
    assert "'unsafe-eval'" not in csp, url
    assert "default-src 'self'" in csp, url
    assert "script-src 'self'" in csp, url
    assert response.get("X-Content-Type-Options") == "nosniff", url


def test_login_page_carries_the_security_headers(client, db):
    assert_secure_html(client.get(reverse("login")), reverse("login"))


@pytest.mark.parametrize(("url", "name"), ALL_URLS, ids=lambda v: v or "-")
def test_every_html_response_carries_the_security_headers(admin_client, url, name):
    # The admin client is a superuser: it gets the real page wherever one exists.
    response = admin_client.get(url)

    assert response.status_code < 500
    if response.get("Content-Type", "").startswith("text/html"):
        assert_secure_html(response, url)


def test_pages_with_real_content_carry_the_security_headers(analyst_client, analyst):
    customer = make_customer(actor=analyst)
    for url in (reverse("kyc:home"), reverse("kyc:customer-detail", args=[customer.pk])):
        response = analyst_client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert_secure_html(response, url)


def test_html_pages_have_no_inline_script(analyst_client, analyst):
    customer = make_customer(actor=analyst)
    for url in (reverse("kyc:home"), reverse("kyc:customer-detail", args=[customer.pk])):
        html = analyst_client.get(url).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script on {url}: {tag}"
        assert " style=" not in html
        assert re.search(r"\son[a-z]+=", html) is None, f"inline event handler on {url}"


# ------------------------------------------------------------------------------------ languages


def test_home_page_is_in_english_by_default(analyst_client):
    assert '<html lang="en">' in analyst_client.get(reverse("kyc:home")).text


def test_home_page_follows_the_browser_language(analyst_client):
    response = analyst_client.get(reverse("kyc:home"), HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="fr">' in response.text


def test_language_switch_sticks_for_the_next_pages(analyst_client):
    response = analyst_client.post(
        reverse("set_language"), {"language": "fr", "next": reverse("kyc:home")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("kyc:home")

    assert '<html lang="fr">' in analyst_client.get(reverse("kyc:home")).text


# --------------------------------------------------------------------------------- query budget


def _bulk_customers(count: int, assignee) -> list[Customer]:
    """Valid rows straight through the ORM: services would be 60 x several audited writes."""
    customers = []
    for i in range(count):
        if i % 3 == 0:
            customers.append(Customer(kind="company", legal_name=f"Company {i}", siren="732829320"))
        else:
            customers.append(Customer(kind="individual", last_name=f"Person{i}", first_name="Ann"))
        customers[-1].assignee = assignee if i % 2 else None
        customers[-1].created_by = assignee
        customers[-1].risk_level = ["", "green", "orange", "red"][i % 4]
    return Customer.objects.bulk_create(customers)


def test_home_page_query_count_does_not_grow_with_customers(
    analyst_client, analyst, django_assert_max_num_queries
):
    other_assignees = [make_user(f"assignee{i}") for i in range(3)]
    _bulk_customers(60, analyst)
    Customer.objects.filter(pk__in=Customer.objects.values("pk")[:9]).update(
        assignee=other_assignees[0]
    )

    with django_assert_max_num_queries(10):
        response = analyst_client.get(reverse("kyc:home"))

    assert response.status_code == 200
    assert len(re.findall(r'href="/customers/\d+/"', response.text)) == 50
    with django_assert_max_num_queries(10):
        second = analyst_client.get(reverse("kyc:home"), {"page": 2})
    assert len(re.findall(r'href="/customers/\d+/"', second.text)) == 10


def _add_requests_with_documents(customer: Customer, requests: int, per_request: int) -> None:
    extra = [
        AnalysisRequest.objects.create(
            customer=customer, code_type="internal", code_id=f"R{customer.pk}-{i}"
        )
        for i in range(requests - 1)
    ]
    Document.objects.bulk_create(
        Document(
            request=request,
            customer=customer,
            kind="passport",
            original_name=f"doc{n}.png",
            size=100 + n,
            sha256=f"{customer.pk:032x}{n:032x}",
            content_type="image/png",
        )
        for n, request in enumerate(
            [customer.requests.order_by("pk").first(), *extra] * per_request
        )
    )


def test_customer_page_query_count_does_not_grow_with_documents(analyst_client, analyst):
    small = make_customer(actor=analyst)
    _add_requests_with_documents(small, requests=1, per_request=1)
    large = make_customer(actor=analyst)
    _add_requests_with_documents(large, requests=4, per_request=5)

    def queries_for(customer):
        with CaptureQueriesContext(connection) as captured:
            response = analyst_client.get(reverse("kyc:customer-detail", args=[customer.pk]))
        assert response.status_code == 200
        # The idle session is re-saved at most once a minute: leave that write out of the count.
        page_queries = [
            query["sql"]
            for query in captured
            if "django_session" not in query["sql"] and "SAVEPOINT" not in query["sql"]
        ]
        return len(page_queries), response

    small_count, _ = queries_for(small)
    large_count, response = queries_for(large)

    assert len(re.findall(r"doc\d+\.png", response.text)) == 20
    assert large_count == small_count
    assert large_count <= 12

"""Building blocks of the bad-input corpus (tests/security/test_bad_input_corpus.py).

- the hostile values, by the type of field they are sent to;
- what the URL conf tells about each view: its URL name, route, HTTP methods, the form classes
  it binds to request data and the raw GET/POST parameters it reads (found by reading the view's
  source and the functions of its module that it calls, so a new parameter or form is covered
  without anyone listing it);
- a snapshot of every table (row count and a checksum of the rows) and of the storage folder, to
  prove that a case changed nothing.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

from django import forms
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

MB = 1024 * 1024

# ------------------------------------------------------------------------------ hostile values


@dataclass(frozen=True)
class Value:
    """One hostile value. `text` is percent-encoded by us as UTF-8; `encoded` is sent exactly as
    written, for byte sequences that are not valid UTF-8 (a lone surrogate cannot be encoded as
    UTF-8, so it travels as its CESU-8 bytes)."""

    label: str
    text: str | None = None
    encoded: str | None = None

    def urlencoded(self) -> str:
        if self.encoded is not None:
            return self.encoded
        return quote(self.text or "", safe="")

    @property
    def may_be_valid_text(self) -> bool:
        """Whether a free-text field could legitimately accept it (then the case makes the
        submission fail in another way: a "spoiler")."""
        return self.label not in ("empty", "spaces", "huge-1mb", "nul")


XSS = "\"'><script>alert('xss')</script><img src=x onerror=alert(1)>"

TEXT_VALUES = (
    Value("empty", ""),
    Value("spaces", "   \t "),
    Value("huge-1mb", "A" * MB),
    Value("nul", "a\x00b"),
    Value("lone-surrogate", encoded="x%ED%A0%80y"),
    Value("invalid-utf8", encoded="%FF%FE%C0%AF"),
    Value("rtl-override", "invoice\u202egnp.exe"),
    Value("fullwidth-digits", "\uff17\uff13\uff12\uff18\uff12\uff19\uff13\uff12\uff10"),
    Value("sql-injection", "' OR '1'='1' --; DROP TABLE kyc_customer; --"),
    Value("html-injection", XSS),
    Value("template-injection", "{{ request.user.password }}{% debug %}${7*7}#{7*7}"),
    Value("crlf-header", "x\r\nSet-Cookie: sessionid=evil"),
)
# A shorter set for second-tier parameters (admin filters, headers), to keep the corpus fast.
SHORT_TEXT_VALUES = tuple(
    v
    for v in TEXT_VALUES
    if v.label in ("huge-1mb", "nul", "lone-surrogate", "sql-injection", "html-injection")
)

INTEGER_VALUES = (
    Value("negative", "-1"),
    Value("zero", "0"),
    Value("bigint-overflow", "9223372036854775808"),
    Value("negative-overflow", "-9223372036854775809"),
    Value("digits-5000", "9" * 5000),
    Value("float", "1.5"),
    Value("exponent", "1e308"),
    Value("hex", "0x1F"),
    Value("fullwidth-int", "\uff11\uff12"),
    Value("nan", "NaN"),
    Value("infinity", "Infinity"),
)

DATE_VALUES = (
    Value("date-0001-01-01", "0001-01-01"),
    Value("date-9999-12-31", "9999-12-31"),
    Value("date-10000-01-01", "10000-01-01"),
    Value("date-0000-00-00", "0000-00-00"),
    Value("date-feb-30", "2023-02-30"),
    Value("date-month-13", "2024-13-01"),
    Value("date-fullwidth", "\uff11\uff19\uff19\uff10-\uff10\uff11-\uff10\uff11"),
    Value("date-negative-year", "-1990-01-01"),
    Value("date-with-time", "1990-01-01T25:61:00"),
    Value("date-year-overflow", "99999999999999999999-01-01"),
)


def choice_values(valid: str) -> tuple[Value, ...]:
    return (
        Value("unknown-choice", "zzz-not-a-choice"),
        Value("all-choice", "__all__"),
        Value("upper-choice", valid.upper() if valid.upper() != valid else valid + "X"),
        Value("choice-plus-nul", valid + "\x00"),
        Value("choice-plus-space", valid + " "),
    )


BOOLEAN_VALUES = (Value("false-word", "false"), Value("zero-word", "0"))


def values_for(form_field: forms.Field | None) -> tuple[Value, ...]:
    """The hostile values worth sending to a field of this type (raw parameters: text)."""
    if isinstance(form_field, forms.IntegerField):
        return INTEGER_VALUES + SHORT_TEXT_VALUES
    if isinstance(form_field, forms.DateField):
        return DATE_VALUES + SHORT_TEXT_VALUES
    if isinstance(form_field, forms.ChoiceField):  # MultipleChoiceField too
        choices = [str(k) for k, _ in form_field.choices if str(k)]
        return choice_values(choices[0] if choices else "x") + SHORT_TEXT_VALUES
    if isinstance(form_field, forms.BooleanField):
        return BOOLEAN_VALUES + SHORT_TEXT_VALUES
    return TEXT_VALUES


def must_refuse(form_field: forms.Field | None, value: Value) -> bool:
    """Whether the field itself must refuse this value (so the rest of the form may be valid).
    Otherwise the value might be legitimate data and the case makes the submission fail in
    another way, so that "nothing changed" is what must happen."""
    if form_field is None:
        return False
    if isinstance(form_field, forms.BooleanField):
        return False  # any non-empty string is "on"
    if isinstance(form_field, forms.ChoiceField | forms.IntegerField | forms.RegexField):
        if value.encoded is not None:
            return True
        try:
            form_field.clean(value.text)
        except forms.ValidationError:
            return True
        return False
    if isinstance(form_field, forms.DateField):
        if value.encoded is not None:
            return True
        try:
            form_field.clean(value.text)
        except forms.ValidationError:
            return True
        except (OverflowError, ValueError):
            return True
        # A date the type accepts but no person or document can have.
        return value.label in ("date-0001-01-01", "date-9999-12-31")
    if isinstance(form_field, forms.CharField):
        if value.label == "nul":
            return True
        # Bytes that are not UTF-8 arrive as U+FFFD: text like any other.
        text = value.text if value.encoded is None else unquote(value.encoded, errors="replace")
        if form_field.strip:
            text = text.strip()
        if form_field.required and not text:
            return True
        max_length = form_field.max_length
        return bool(max_length and len(text) > max_length)
    return False


# ---------------------------------------------------------------------------- view discovery

_PARAM = re.compile(r"request\.(GET|POST)\.(?:get|getlist)\(\s*[\"'](\w+)[\"']")
_FORM = re.compile(r"\b([A-Z]\w*Form)\(\s*(request\.(GET|POST)|\{)")
_CALL = re.compile(r"\b(_?[a-z]\w*)\(")


@dataclass
class Endpoint:
    name: str
    route: str
    methods: tuple[str, ...]
    forms: dict[str, list[type[forms.Form]]] = field(default_factory=dict)  # "GET"/"POST"
    params: dict[str, set[str]] = field(default_factory=dict)  # raw parameters by method

    def form_fields(self, method: str) -> dict[str, forms.Field]:
        found: dict[str, forms.Field] = {}
        for form_class in self.forms.get(method, []):
            for name, form_field in form_class.base_fields.items():
                found.setdefault(name, form_field)
        return found


def url_patterns(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    """(name, route, callback) for every URL pattern, recursing into includes."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed>"
            yield name, prefix + str(entry.pattern), entry.callback


# A view that no decorator restricts: it answers every method (Django's set_language does).
UNRESTRICTED = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(callback) -> tuple[str, ...]:
    """The methods a view accepts: from django.views.decorators.http's closures, or a class-based
    view's handlers; every method when nothing restricts them."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return tuple(
            m.upper()
            for m in view_class.http_method_names
            if m != "options" and hasattr(view_class, m)
        )
    function = callback
    while function is not None:
        for cell in function.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:
                continue
            if (
                isinstance(contents, list | tuple | set | frozenset)
                and contents
                and all(isinstance(m, str) and m.isupper() for m in contents)
            ):
                return tuple(sorted(m for m in contents if m != "HEAD"))
        function = getattr(function, "__wrapped__", None)
    return UNRESTRICTED


def _sources(function, seen: set) -> Iterator[str]:
    """The source of `function` and of the functions of its module it calls (transitively)."""
    if function in seen:
        return
    seen.add(function)
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return
    yield source
    module_globals = getattr(function, "__globals__", {})
    for name in _CALL.findall(source):
        called = module_globals.get(name)
        if inspect.isfunction(called) and called.__module__ == function.__module__:
            yield from _sources(inspect.unwrap(called), seen)


def discover(callback, name: str, route: str) -> Endpoint:
    methods = allowed_methods(callback)
    endpoint = Endpoint(name=name, route=route, methods=methods)
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        form_class = callback.view_initkwargs.get("authentication_form") or getattr(
            view_class, "form_class", None
        )
        if form_class is not None and "POST" in methods:
            endpoint.forms["POST"] = [form_class]
        for method in ("GET", "POST"):
            endpoint.params[method] = (
                {"next"} if hasattr(view_class, "redirect_field_name") else set()
            )
        return endpoint
    function = inspect.unwrap(callback)
    for source in _sources(function, set()):
        for method, param in _PARAM.findall(source):
            endpoint.params.setdefault(method, set()).add(param)
        for form_name, _binding, bound_method in _FORM.findall(source):
            form_class = function.__globals__.get(form_name)
            if form_class is None:
                # Defined in the module that holds the source (a helper's module).
                continue
            if not (isinstance(form_class, type) and issubclass(form_class, forms.Form)):
                continue
            method = bound_method or ("POST" if "POST" in methods else "GET")
            found = endpoint.forms.setdefault(method, [])
            if form_class not in found:
                found.append(form_class)
    return endpoint


# ------------------------------------------------------------------------------- snapshots


def _plain(value):
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return value


def table_state(limits: dict[str, int] | None = None) -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of its rows (all columns, ordered by key), read
    with one plain SELECT per table (the ORM would cost more than the request under test).
    `limits` restricts a table to the rows whose key is at most the given value.

    Sessions are compared without the idle-timeout stamp (`_seen`) that the middleware refreshes
    at most once a minute on any request (kyc.middleware.IdleSessionMiddleware) and their expiry
    date, which moves with it; a session appearing, disappearing or changing otherwise counts."""
    limits = limits or {}
    state: dict[str, tuple[int, str]] = {}
    quote_name = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.db_table in state:
                continue
            if model is Session:
                rows = []
                for session in Session.objects.order_by("pk"):
                    data = session.get_decoded()
                    data.pop("_seen", None)
                    rows.append((session.session_key, sorted(data.items())))
            else:
                pk = quote_name(meta.pk.column)
                sql = f"SELECT * FROM {quote_name(meta.db_table)}"  # noqa: S608 (our own names)
                params = []
                if meta.db_table in limits:
                    sql += f" WHERE {pk} <= %s"
                    params.append(limits[meta.db_table])
                cursor.execute(sql + f" ORDER BY {pk}", params)
                rows = [tuple(_plain(v) for v in row) for row in cursor.fetchall()]
            digest = hashlib.sha256(repr(rows).encode("utf-8", "surrogatepass")).hexdigest()
            state[meta.db_table] = (len(rows), digest)
    return state


def storage_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under the storage folder: size and modification time."""
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            stat = path.stat()
            found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


def restore_storage(root: Path, backup: Path) -> None:
    """Put the storage folder back as it was (a case that failed may have removed or added
    files): the next cases must not fail because of it."""
    shutil.rmtree(root)
    shutil.copytree(backup, root)


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(
        f"{table}: {before.get(table, (0, ''))[0]} -> {after.get(table, (0, ''))[0]} rows"
        for table in set(before) | set(after)
        if before.get(table) != after.get(table)
    )


Builder = Callable[..., dict]

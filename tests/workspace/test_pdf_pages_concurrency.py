"""The document viewer's PDF pages, rendered by many requests at once, never take the server down.

PDFium (through pypdfium2) is not thread-safe: two threads rendering pages at the same time made
it segfault, and the web process died with it. kyc/analysis/pdf_render.py serialises every
PDFium call behind one lock. These tests render every page of several multi-page PDFs from many
threads at once: in one process, behind the threaded live server,
and behind gunicorn with threads; each server must still answer afterwards.
"""

from __future__ import annotations

import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from kyc import roles
from kyc.analysis import pdf_render
from kyc.models import Document
from tests.analysis.specimens import build_text_pdf
from tests.factories import make_customer, make_document, make_user
from tests.scaleout.conftest import gunicorn_on_test_database

PNG = b"\x89PNG\r\n\x1a\n"
PAGE_COUNTS = (2, 6, 9)
THREADS = 16


def every_page(documents: list[Document]) -> list[tuple[Document, int]]:
    """Every page of every document, three times over, shuffled: the same page and different
    pages of the same file are rendered at the same time."""
    pages = [(doc, number) for doc in documents for number in range(1, doc.pages + 1)] * 3
    random.Random(7).shuffle(pages)
    return pages


@pytest.fixture
def pdf_documents(db):
    # A transactional test starts from a flushed database: the role groups of the data
    # migration are gone.
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)
    customer = make_customer()
    documents = []
    for seed, count in enumerate(PAGE_COUNTS):
        document = make_document(
            customer=customer,
            content=build_text_pdf(count, seed=seed),
            name=f"statement-{count}-pages.pdf",
            kind=Document.Kind.BANK_STATEMENT,
        )
        document.pages = count
        documents.append(document)
    return customer, documents


# Run in a child process: without the lock PDFium segfaults or aborts, and that must fail this
# test, not kill the test run.
IN_ONE_PROCESS = """
from concurrent.futures import ThreadPoolExecutor
from kyc.analysis import pdf_render
from tests.analysis.specimens import build_text_pdf

pdfs = [(build_text_pdf(count, seed=seed), count) for seed, count in enumerate({counts})]
work = [(data, number) for data, count in pdfs for number in range(1, count + 1)] * 3
with ThreadPoolExecutor({threads}) as pool:
    images = list(pool.map(lambda item: pdf_render.render_page_png(
        item[0], item[1], scale=1.6, max_pages=500), work))
assert len(images) == len(work) and all(image[:8] == {png!r} for image in images)
assert [pdf_render.page_count(data) for data, _ in pdfs] == list({counts})
print("rendered", len(images))
"""


def test_every_page_renders_from_many_threads_at_once_in_one_process():
    script = IN_ONE_PROCESS.format(counts=PAGE_COUNTS, threads=THREADS, png=PNG)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip() == f"rendered {3 * sum(PAGE_COUNTS)}"


def test_pages_past_the_end_and_broken_files_are_refused_not_crashed():
    data = build_text_pdf(2, seed=1)

    assert pdf_render.render_page_png(data, 3, scale=1.0, max_pages=500) is None
    assert pdf_render.render_page_png(data, 0, scale=1.0, max_pages=500) is None
    assert pdf_render.render_page_png(data, 2, scale=1.0, max_pages=1) is None
    assert pdf_render.page_count(b"%PDF-1.7 not really") == 0
    with pytest.raises(pdf_render.PdfRenderError):
        pdf_render.render_page_png(b"%PDF-1.7 not really", 1, scale=1.0, max_pages=500)


def _session_for(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {
        django_settings.SESSION_COOKIE_NAME: client.cookies[
            django_settings.SESSION_COOKIE_NAME
        ].value
    }


def _hammer(
    base: str, cookies: dict[str, str], documents: list[Document]
) -> list[tuple[int, bytes]]:
    with requests.Session() as session:
        session.cookies.update(cookies)

        def fetch(item):
            document, number = item
            url = base + reverse("kyc:document-page", args=[document.pk, number])
            response = session.get(url, timeout=60)
            return response.status_code, response.content[:8]

        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(fetch, every_page(documents)))


def _viewer_still_answers(base: str, cookies: dict[str, str], document: Document) -> None:
    response = requests.get(
        base + reverse("kyc:document-viewer", args=[document.pk]), cookies=cookies, timeout=30
    )
    assert response.status_code == 200
    assert (
        f"{document.pages} page" in response.text
        or reverse("kyc:document-page", args=[document.pk, document.pages]) in response.text
    )


@pytest.mark.django_db(transaction=True)
def test_the_threaded_live_server_renders_every_page_at_once_and_keeps_answering(
    live_server, pdf_documents
):
    _customer, documents = pdf_documents
    cookies = _session_for(make_user("viewer", role="analyst"))

    results = _hammer(live_server.url, cookies, documents)

    assert len(results) == 3 * sum(PAGE_COUNTS)
    assert all(result == (200, PNG) for result in results), sorted(set(results))
    _viewer_still_answers(live_server.url, cookies, documents[-1])


@pytest.mark.django_db(transaction=True)
def test_gunicorn_with_threads_renders_every_page_at_once_and_keeps_answering(
    pdf_documents, settings, tmp_path
):
    """One gunicorn worker process with 8 threads: every page request lands in the same process,
    the case that crashed."""
    _customer, documents = pdf_documents
    cookies = _session_for(make_user("viewer", role="analyst"))
    env = {
        "PRIVATE_MEDIA_ROOT": str(settings.STORAGES["default"]["OPTIONS"]["location"]),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "8",
    }
    with gunicorn_on_test_database(tmp_path, **env) as server:
        results = _hammer(server.url, cookies, documents)

        assert all(result == (200, PNG) for result in results), (
            sorted(set(results)),
            server.log_tail(),
        )
        _viewer_still_answers(server.url, cookies, documents[-1])
        assert server.process.poll() is None, server.log_tail()
        # The worker that rendered is the one gunicorn started: it never died and was replaced.
        assert server.log.read_text().count("Booting worker") == 1, server.log_tail()

"""October has no idempotency key: two jobs of one company file submitted at the same moment
must not each open an October request. One job claims the right to create it; the others wait
for its id (kyc.services.jobs._vendor_request_turn)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kyc.models import AnalysisRequest, ProviderJob
from kyc.services import jobs
from tests.providers import test_october as october_tests
from tests.providers.test_october import company, due, manager_job, reload, statement

# The fake October server and its settings, as in the October tests.
october_server = october_tests.october_server
fake = october_tests.fake


def claim(request: AnalysisRequest, job: ProviderJob, *, seconds: float) -> None:
    AnalysisRequest.objects.filter(pk=request.pk).update(
        vendor_request_claimed_by=job.pk,
        vendor_request_claimed_until=timezone.now() + dt.timedelta(seconds=seconds),
    )


def claim_of(request: AnalysisRequest) -> tuple:
    request.refresh_from_db()
    return request.vendor_request_claimed_by, request.vendor_request_claimed_until


@pytest.mark.django_db
def test_a_job_waits_while_another_job_of_the_file_opens_the_request(
    fake, django_capture_on_commit_callbacks
):
    customer = company()
    document = statement(customer)
    doc_job, manager = document.jobs.get(), manager_job(customer)
    request = AnalysisRequest.objects.get(customer=customer)
    claim(request, doc_job, seconds=300)  # the document's job is calling POST /requests

    with django_capture_on_commit_callbacks() as enqueued:
        jobs.job_submit(manager.pk)

    assert fake.api_calls() == []
    manager = reload(manager)
    assert (manager.status, manager.attempts, manager.lease_expires_at) == ("queued", 0, None)
    wait = manager.next_poll_at - timezone.now()
    assert dt.timedelta(seconds=3) < wait <= jobs.VENDOR_REQUEST_WAIT
    assert len(enqueued) == 1  # its submit task, for when it is due
    enqueued[0]()
    (task,) = DBTaskResult.objects.all()
    assert task.task_path == "kyc.services.jobs.submit_job_task" and task.args_kwargs["args"] == [
        manager.pk
    ]
    assert task.run_after >= manager.next_poll_at.replace(microsecond=0)

    jobs.job_submit(doc_job.pk)
    assert fake.api_calls("POST", "/requests") == ["POST /requests"]
    assert claim_of(request) == (None, None)

    with due(manager):
        jobs.job_submit(manager.pk)
    assert fake.api_calls("POST", "/requests") == ["POST /requests"]
    assert reload(manager).external_id == fake.only_request_id()
    assert reload(manager).status == "submitted"


@pytest.mark.django_db
def test_the_claim_of_a_job_that_died_runs_out_with_its_lease(fake):
    customer = company()
    document = statement(customer)
    request = AnalysisRequest.objects.get(customer=customer)
    claim(request, document.jobs.get(), seconds=-1)

    jobs.job_submit(manager_job(customer).pk)

    assert fake.api_calls("POST", "/requests") == ["POST /requests"]
    assert reload(manager_job(customer)).status == "submitted"


@pytest.mark.django_db
def test_a_failed_creation_hands_the_claim_to_the_next_job(fake):
    customer = company()
    document = statement(customer)
    doc_job, manager = document.jobs.get(), manager_job(customer)
    request = AnalysisRequest.objects.get(customer=customer)
    fake.fail_next("POST", "/requests", status=500)

    jobs.job_submit(doc_job.pk)

    assert reload(doc_job).status == "queued"  # retried later
    assert claim_of(request) == (None, None)
    jobs.job_submit(manager.pk)
    assert reload(manager).status == "submitted"
    assert fake.api_calls("POST", "/requests") == ["POST /requests", "POST /requests"]
    assert len(fake.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_two_jobs_submitted_at_the_same_moment_open_one_october_request(fake):
    customer = company()
    document = statement(customer)
    job_ids = [document.jobs.get().pk, manager_job(customer).pk]
    create = fake._create_request

    def slow_create(body):
        time.sleep(0.5)  # both workers are past their first look before October answers
        return create(body)

    fake._create_request = slow_create
    barrier = threading.Barrier(len(job_ids))
    errors: list[BaseException] = []

    def worker(job_id: int) -> None:
        try:
            barrier.wait()
            jobs.job_submit(job_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(job_id,)) for job_id in job_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert len(fake.requests) == 1
    assert fake.api_calls("POST", "/requests") == ["POST /requests"]
    statuses = sorted(ProviderJob.objects.filter(pk__in=job_ids).values_list("status", flat=True))
    assert statuses == ["queued", "submitted"]  # the other one looks again in a few seconds

"""Saving a correction: validation (nothing written on refusal), old and new values, the audit
row, the outbox state, the push task enqueued on commit, effective values and OCR re-runs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time

from kyc.models import AuditEvent, OcrCorrection, OcrResult
from kyc.services import ocr, ocr_correct
from tests.factories import make_user
from tests.fake_vendors import mfield
from tests.ocr.conftest import ID_MRZ_FIXED, PASSPORT_MRZ, mindee_passport_reading, store_reading

pytestmark = pytest.mark.django_db

REASON = "The document number and expiry date were misread; checked against the scan."


def correct(result: OcrResult, actor=None, reason: str = REASON, **changes) -> OcrCorrection:
    return ocr_correct(
        ocr_result=result, changes=changes, reason=reason, actor=actor or make_user()
    )


def effective(result: OcrResult) -> dict:
    result = OcrResult.objects.get(pk=result.pk)
    return ocr.effective_fields(result, list(result.corrections.all()))


def test_a_correction_keeps_old_and_new_values_who_and_why(
    passport, artemis, django_capture_on_commit_callbacks
):
    analyst = make_user("anna")
    with django_capture_on_commit_callbacks(execute=True):
        correction = correct(
            passport,
            analyst,
            document_number="19fr 12345",
            expiry_date="2030-01-01",
            first_name="MARIE CLAIRE",  # unchanged: not a change
            gender="f",  # unchanged once normalised
        )

    assert correction.changes == {
        "document_number": {"old": "19FR1Z345", "new": "19FR12345"},
        "expiry_date": {"old": "2030-01-07", "new": "2030-01-01"},
    }
    assert (correction.author, correction.reason) == (analyst, REASON)
    assert (correction.sync_status, correction.sync_attempts) == ("pending", 0)
    event = AuditEvent.objects.get(action="ocr.correct")
    assert (event.actor, event.object_id, event.customer_id) == (
        analyst,
        str(correction.pk),
        passport.document.customer_id,
    )
    assert event.before == {"document_number": "19FR1Z345", "expiry_date": "2030-01-07"}
    assert event.after["document_number"] == "19FR12345"
    assert event.after["reason"] == REASON
    task = DBTaskResult.objects.get(task_path="kyc.services.ocr.push_ocr_correction_task")
    assert task.args_kwargs["args"] == [correction.pk]


def test_the_push_is_enqueued_only_once_the_correction_commits(
    passport, artemis, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        correct(passport, document_number="19FR12345")
    assert not DBTaskResult.objects.exists()
    assert len(callbacks) == 1


def test_without_artemis_the_correction_is_kept_here_only(passport, settings):
    settings.ARTEMIS_CLIENT_ID = ""
    correction = correct(passport, document_number="19FR12345")
    assert correction.sync_status == "not_configured"
    assert not DBTaskResult.objects.exists()


def test_the_latest_correction_of_a_field_wins_and_remembers_the_previous_one(passport):
    correct(passport, first_name="MARIE-CLAIRE")
    second = correct(passport, first_name="MARIE CLAIRE ANNE", last_name="MARTIN DUBOIS")

    assert second.changes["first_name"] == {"old": "MARIE-CLAIRE", "new": "MARIE CLAIRE ANNE"}
    values = effective(passport)
    assert (values["first_name"], values["last_name"]) == ("MARIE CLAIRE ANNE", "MARTIN DUBOIS")
    assert values["document_number"] == "19FR1Z345"  # as read: never corrected


def test_a_new_ocr_run_never_overwrites_a_correction(passport):
    correct(passport, document_number="19FR12345", expiry_date="2030-01-01")

    # The job engine stores a re-run (here Mindee reading a new scan) on the same row.
    rerun = store_reading(
        passport.document,
        mindee_passport_reading(
            id_number=mfield("19FR1Z34S"), expiry_date=mfield("2030-01-08"), gender=mfield("M")
        ),
    )

    assert rerun.pk == passport.pk
    assert rerun.fields["document_number"] == "19FR1Z34S"
    values = effective(rerun)
    assert (values["document_number"], values["expiry_date"]) == ("19FR12345", "2030-01-01")
    assert values["gender"] == "M"  # never corrected: the new reading counts
    assert OcrCorrection.objects.get().changes["document_number"]["new"] == "19FR12345"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"gender": "Z"}, "gender", "M, F or X."),
        ({"gender": ""}, "gender", "This field cannot be emptied."),
        ({"last_name": "MART1N"}, "last_name", "Letters only"),
        ({"date_of_birth": "1985-02-30"}, "date_of_birth", "Not a real date"),
        ({"date_of_birth": "12/04/1985"}, "date_of_birth", "YYYY-MM-DD"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "in the past"),
        ({"issue_date": "2999-01-01"}, "issue_date", "cannot be in the future"),
        ({"expiry_date": "2019-12-31"}, "expiry_date", "after the issue date"),
        ({"issue_date": "1980-01-01"}, "issue_date", "before its holder was born"),
        ({"nationality": "XYZ"}, "nationality", "ISO 3166 alpha-3"),
        ({"issuing_country": "FR"}, "issuing_country", "ISO 3166 alpha-3"),
        ({"nationality": "UTO"}, "nationality", "specimen country"),
        ({"document_type": "VISA"}, "document_type", "listed document types"),
        ({"document_number": "19FR-12345"}, "document_number", "Letters A-Z and digits only"),
        ({"personal_id_number": "N°12"}, "personal_id_number", "Letters A-Z"),
        (
            {
                "mrz_raw_string": PASSPORT_MRZ[0]
                + "\n"
                + PASSPORT_MRZ[1].replace("8504124", "8504127")
            },
            "mrz_raw_string",
            "Check digit of the birth date is 7, but the data gives 4.",
        ),
        ({"mrz_raw_string": "P<FRAMARTIN\n19FR12345"}, "mrz_raw_string", "2 lines of 44"),
    ],
)
def test_invalid_values_are_refused_and_nothing_is_written(
    passport, artemis, django_capture_on_commit_callbacks, changes, field, message
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as caught:
        correct(passport, **changes)

    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    assert not OcrCorrection.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="ocr.").exists()
    assert not DBTaskResult.objects.exists()


def test_a_reason_is_required_and_so_is_a_change(passport):
    with pytest.raises(ValidationError) as caught:
        correct(passport, reason="   ", document_number="19FR12345")
    assert "reason" in caught.value.message_dict

    with pytest.raises(ValidationError) as caught:
        correct(passport, document_number="19fr1z345", last_name="MARTIN")
    assert "Nothing to save" in caught.value.messages[0]
    assert not OcrCorrection.objects.exists()


@pytest.mark.parametrize("code", ["D", "D<<", "GBN", "XXA", "UNO", "EUE"])
def test_icao_extra_codes_are_accepted_as_countries(passport, code):
    correction = correct(passport, nationality=code)
    assert correction.changes["nationality"]["new"] == code.replace("<", "")


def test_dates_are_checked_against_each_other_only_when_one_of_them_changes(passport):
    # The OCR's own inconsistency (an expiry before the issue) is shown, not refused...
    OcrResult.objects.filter(pk=passport.pk).update(
        fields={**passport.fields, "issue_date": "2031-01-01"}
    )
    correct(passport, last_name="MARTIN-DUBOIS")
    # ...but a corrected date must agree with the others.
    with pytest.raises(ValidationError) as caught:
        correct(passport, expiry_date="2030-12-31")
    assert "after the issue date" in caught.value.message_dict["expiry_date"][0]


def test_a_corrected_mrz_is_stored_normalised(id_card):
    pasted = "\n".join(line.lower() for line in ID_MRZ_FIXED) + "\n\n"
    correction = correct(id_card, mrz_raw_string=pasted)
    assert correction.changes["mrz_raw_string"]["new"] == "\n".join(ID_MRZ_FIXED)


def test_birth_date_must_be_in_the_past(passport):
    with freeze_time("2025-03-03"), pytest.raises(ValidationError):
        correct(passport, date_of_birth="2025-03-03")

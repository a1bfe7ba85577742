"""Manager X-Ray alerts: an analyst acknowledges or dismisses each one, once."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from kyc import roles
from kyc.models import ManagerAlert
from kyc.services.audit import audit_record, touch_customer

ACKNOWLEDGE = "acknowledge"
DISMISS = "dismiss"
ACTIONS = {
    ACKNOWLEDGE: ManagerAlert.ReviewStatus.ACKNOWLEDGED,
    DISMISS: ManagerAlert.ReviewStatus.DISMISSED,
}
MAX_NOTE_LENGTH = 4000


@transaction.atomic
def alert_review(*, alert: ManagerAlert, action: str, note: str, actor) -> ManagerAlert:
    """Acknowledge (the alert is real and taken into account) or dismiss (not relevant: a note
    saying why is required) a manager alert.

    Each alert is reviewed once: the row is locked and a second review, even by a concurrent
    request, is refused with who reviewed it and when. Refusals write nothing.
    """
    if not roles.can_work_cases(actor):
        raise PermissionDenied(_("Your account has no role that may review alerts."))
    note = (note or "").strip()
    if action not in ACTIONS:
        raise ValidationError({"action": [_("Choose acknowledge or dismiss.")]})
    if action == DISMISS and not note:
        raise ValidationError({"note": [_("Say why this alert is dismissed.")]})
    if len(note) > MAX_NOTE_LENGTH:
        raise ValidationError(
            {"note": [_("Keep the note under %(max)d characters.") % {"max": MAX_NOTE_LENGTH}]}
        )
    locked = (
        # Lock the alert row only: reviewed_by is a nullable (outer) join, which PostgreSQL
        # refuses to lock.
        ManagerAlert.objects.select_for_update(of=("self",))
        .select_related("customer", "reviewed_by")
        .get(pk=alert.pk)
    )
    if locked.review_status != ManagerAlert.ReviewStatus.OPEN:
        raise ValidationError(
            _("This alert was already %(status)s by %(user)s on %(when)s.")
            % {
                "status": locked.get_review_status_display().lower(),
                "user": locked.reviewed_by.get_username() if locked.reviewed_by else _("someone"),
                "when": formats.date_format(
                    timezone.localtime(locked.reviewed_at), "SHORT_DATETIME_FORMAT"
                )
                if locked.reviewed_at
                else "?",
            },
            code="alert_reviewed",
        )
    before = {"review_status": locked.review_status}
    locked.review_status = ACTIONS[action]
    locked.reviewed_by = actor
    locked.reviewed_at = timezone.now()
    locked.review_note = note
    locked.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "review_note"])
    audit_record(
        actor=actor,
        action="alert.acknowledge" if action == ACKNOWLEDGE else "alert.dismiss",
        obj=locked,
        customer=locked.customer,
        before=before,
        after={
            "review_status": locked.review_status,
            "note": note,
            "alert": locked.name,
            "level": locked.level,
        },
    )
    touch_customer(locked.customer)
    return locked

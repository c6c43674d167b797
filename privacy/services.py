"""Data protection actions on one family: consent withdrawal and the subject access export.

Retention (anonymising closed cases) is in privacy/retention.py.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import audit_record
from aidcase.core.exceptions import Conflict, Forbidden
from families.models import Family
from privacy.selectors import family_subject_access_data
from referrals.services import referrals_withhold_for_family

CONSENT_NOT_GIVEN = (
    "Family {case_number} has not given consent to share its data: there is nothing to withdraw."
)
NOTE_TOO_LONG = "At most 500 characters."
DATA_PROTECTION_ROLES = (Role.CASE_WORKER, Role.ADMIN)
EXPORT_FORMATS = ("json", "csv", "html")


@transaction.atomic(durable=True)
def family_consent_withdraw(*, family: Family, recorded_by: User, note: str = "") -> Family:
    """Record that the family withdrew its consent to share its data with partners.

    From this commit on partners get no personal data of the family (their pull shows its referrals without
    it, no webhook is sent), its open referrals are closed, pending webhook deliveries are cancelled, and a
    new referral needs consent again. Assistance is untouched: the support payment never depends on consent.
    """
    if not recorded_by.has_role(*DATA_PROTECTION_ROLES):
        raise Forbidden("Only case workers and administrators record consent.")
    if len(note or "") > 500:
        raise ValidationError({"note": [NOTE_TOO_LONG]})
    family = Family.objects.select_for_update().get(pk=family.pk)
    if not family.consent_to_share:
        raise Conflict(CONSENT_NOT_GIVEN.format(case_number=family.case_number), code="no_consent")
    family.consent_to_share = False
    family.consent_recorded_at = timezone.now()
    family.consent_recorded_by = recorded_by
    family.save(
        update_fields=["consent_to_share", "consent_recorded_at", "consent_recorded_by", "updated_at"]
    )
    counts = referrals_withhold_for_family(family=family, actor=recorded_by)
    audit_record(
        actor=recorded_by,
        action="family.consent_withdrawn",
        target=family,
        data={"note": note or "", "recorded_at": family.consent_recorded_at.isoformat(), **counts},
    )
    family.withheld_counts = counts
    return family


@transaction.atomic(durable=True)
def family_export(*, family: Family, exported_by: User, export_format: str = "json") -> dict[str, Any]:
    """A subject access export of everything held about the family; the export itself is audited.

    The audit record is written before the data is read, so the export lists itself.
    """
    if not exported_by.has_role(*DATA_PROTECTION_ROLES):
        raise Forbidden("Only case workers and administrators export a family's data.")
    audit_record(
        actor=exported_by,
        action="family.exported",
        target=family,
        data={"format": export_format, "purpose": "subject access"},
    )
    return family_subject_access_data(family=family)

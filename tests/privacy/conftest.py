from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from disbursements.services import (
    batch_create,
    batch_export,
    disbursement_approve,
    disbursement_reject,
    disbursement_request,
    disbursement_settle,
)
from families.models import DuplicateFlag, Family
from families.services import MemberInput, duplicate_flag_resolve, family_update
from grievances.services import grievance_create, grievance_transition
from referrals.services import referral_create, referral_transition

# Personal data planted in every case these tests build; none of it may survive anonymisation.
HEAD = "Zarghuna"
FATHER = "Baryalai"
CHILD = "Spozhmai"
TAZKIRA = "1400-0101-77341"
PHONE = "+93700555123"
NEW_PHONE = "+93700555999"
NOTE = "lives behind the Hadda mosque"


@pytest.fixture
def staff(make_user):
    return {
        "worker": make_user("case_worker"),
        "finance": make_user("finance"),
        "finance2": make_user("finance"),
        "partner": make_user("partner", org="UNHCR"),
        "admin": make_user("admin"),
        "coordinator": make_user("coordinator"),
    }


@pytest.fixture
def full_case(register_family, staff):
    """A family with everything that carries personal data: members with documents and dates of birth, a
    changed phone, a rejected then paid payment, a referral worked and completed by a partner with notes."""

    def make(
        *,
        index: int = 0,
        pay: bool = True,
        finish_referral: bool = True,
        resolve_complaint: bool = True,
        arrival=date(2026, 11, 20),
    ):
        worker, fin, fin2, partner = staff["worker"], staff["finance"], staff["finance2"], staff["partner"]
        members = [
            MemberInput(
                given_name=f"{HEAD}{index or ''}",
                father_name=FATHER,
                family_name="Wardak",
                sex="F",
                relationship="head",
                date_of_birth=date(1988, 6, 15),
                tazkira_number=f"{TAZKIRA}{index or ''}",
                vulnerabilities=["female_headed"],
            ),
            MemberInput(
                given_name=f"{CHILD}{index or ''}",
                father_name=HEAD,
                sex="F",
                relationship="child",
                date_of_birth=date(2019, 12, 1),
                vulnerabilities=["disability"],
            ),
            MemberInput(given_name="Ahmad", father_name=HEAD, sex="M", relationship="child", age_years=3),
        ]
        family = register_family(
            members=members,
            phone=PHONE if not index else f"+9379{index:07d}",
            created_by=worker,
            arrival=arrival,
            crossing_point="TORKHAM",
        )
        for flag in DuplicateFlag.objects.filter(family=family, status="open"):  # a reviewer's note, too
            duplicate_flag_resolve(
                flag=flag, decision="distinct", resolved_by=worker, note=f"{HEAD} is not {NOTE}"
            )
        family_update(family=family, changed_by=worker, phone=NEW_PHONE if not index else f"+9378{index:07d}")
        rejected = disbursement_request(family=family, requested_by=worker)
        disbursement_reject(disbursement=rejected, rejected_by=fin, reason=f"ask {HEAD} again, {NOTE}")
        if pay:
            d = disbursement_request(family=family, requested_by=worker)
            disbursement_approve(disbursement=d, approved_by=fin2)
            batch_export(
                batch=batch_create(channel="cash", disbursement_ids=[d.pk], created_by=fin), exported_by=fin
            )
            with transaction.atomic():
                disbursement_settle(disbursement=d, paid=True, at=timezone.now(), actor=fin)
        referral = referral_create(
            family=family,
            organization_code="UNHCR",
            service_code="shelter",
            created_by=worker,
            note=f"{HEAD} {NOTE}",
        )
        referral_transition(referral=referral, target="accepted", actor=partner, note=f"called {NEW_PHONE}")
        if finish_referral:
            referral_transition(referral=referral, target="completed", actor=partner, note=f"tent for {HEAD}")
        complaint = grievance_create(
            family=family, category="wrong_data", description=f"{HEAD} says {NOTE}", created_by=worker
        )
        grievance_transition(
            grievance=complaint, actor=worker, target="in_progress", note=f"called {NEW_PHONE}"
        )
        if resolve_complaint:
            grievance_transition(
                grievance=complaint, actor=worker, target="resolved", resolution=f"{HEAD}'s name corrected"
            )
        return Family.objects.get(pk=family.pk)

    return make


def close_long_ago(family: Family, days: int = 800) -> None:
    """Move a closed case's closing date back: the retention period has passed."""
    Family.objects.filter(pk=family.pk).update(case_closed_at=timezone.now() - timedelta(days=days))

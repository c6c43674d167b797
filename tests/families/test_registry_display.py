"""Duplicate reasons and history entries, stored in English, are shown in the reader's language."""

from datetime import date

import pytest
from django.utils import translation

from families.models import DuplicateFlag
from families.templatetags.registry import audit_action, duplicate_reasons, reason_text


@pytest.mark.django_db
def test_every_reason_the_detector_writes_is_translated(register_family):
    register_family(given="Gul", father="Ahmad", phone="+93700123456", tazkira="1400-0101-12345")
    register_family(
        given="Gul", father="Ahmad", phone="+93700123456", tazkira="1400-0101-12345", birth=date(1991, 1, 1)
    )
    reasons = DuplicateFlag.objects.get().reasons
    assert len(reasons) == 4  # Tazkira, phone, names, birth year
    with translation.override("fa"):
        for reason in reasons:
            assert reason_text(reason) != reason, f"no Dari for {reason!r}"
        shown = duplicate_reasons(reasons)
    assert "شماره تلفن یکسان" in shown
    assert "۱۹۹۰" in shown  # the year in Persian digits


def test_unknown_reasons_and_actions_are_shown_as_they_are():
    with translation.override("ps"):
        assert reason_text("something new") == "something new"
        assert audit_action("family.created") == "کورنۍ ثبت شوه"
        assert audit_action("custom.thing") == "custom.thing"
    assert audit_action("duplicate.distinct") == "Possible duplicate reviewed: not the same family"

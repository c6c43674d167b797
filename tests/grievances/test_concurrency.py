"""The same verification answer recorded at the same moment from several connections opens one complaint."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from grievances.models import Grievance, PdvSample
from grievances.selectors import can_view_sensitive
from grievances.services import pdv_answer_record, pdv_round_create
from tests.concurrency import run_concurrently


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_mismatch_answers_open_one_complaint(paid_families, people):
    paid_families(2)
    today = timezone.localdate()
    pdv_round = pdv_round_create(paid_from=today, paid_to=today, created_by=people["finance"])
    sample = pdv_round.samples.first()
    callers = [people["worker"], people["worker2"], people["coordinator"], people["admin"]] * 2

    def record(i):
        return pdv_answer_record(
            sample=PdvSample.objects.get(pk=sample.pk),
            actor=callers[i],
            reached=True,
            confirmed_full_amount=False,
            amount_reported=Decimal("0") if i % 2 else Decimal("6000"),
        )

    results = run_concurrently(record, len(callers))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Grievance.objects.filter(pdv_sample=sample).count() == 1
    assert Grievance.objects.count() == 1


@pytest.mark.django_db
def test_grantsensitive_designates_and_revokes(people):
    worker = people["worker"]
    call_command("grantsensitive", "worker")
    worker = type(worker).objects.get(pk=worker.pk)
    assert can_view_sensitive(worker)
    call_command("grantsensitive", "worker", "--revoke")
    worker = type(worker).objects.get(pk=worker.pk)
    assert not can_view_sensitive(worker)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("grantsensitive", "unhcr-api")
    with pytest.raises(CommandError):
        call_command("grantsensitive", "nobody")

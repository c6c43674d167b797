"""In the field, in the real browser: a complaint about a payment shows the payment and its reconciliation; a
post-distribution round is drawn, a family answers that it got less, and that opens a complaint by itself."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from disbursements.services import (
    batch_create,
    batch_export,
    disbursement_approve,
    disbursement_request,
    disbursement_settle,
)
from grievances.models import Grievance, PdvRound


def paid_family(register_family, worker, requester, approver, index):
    family = register_family(
        given=f"Paid{index}", father="Karim", tazkira=f"1400-0202-{index:05d}", created_by=worker
    )
    payment = disbursement_request(family=family, requested_by=requester)
    disbursement_approve(disbursement=payment, approved_by=approver)
    batch = batch_create(channel="cash", disbursement_ids=[payment.pk], created_by=requester)
    batch_export(batch=batch, exported_by=requester)
    with transaction.atomic():
        disbursement_settle(disbursement=payment, paid=True, at=timezone.now(), actor=requester)
    return family, payment


def test_complaint_and_post_distribution_check(new_context, login, shot, make_user, register_family):
    worker = make_user("case_worker", username="spin-boldak-desk")
    finance, finance2 = make_user("finance", username="fin-a"), make_user("finance", username="fin-b")
    coordinator = make_user("coordinator", username="coord")
    paid = [paid_family(register_family, worker, finance, finance2, i) for i in range(1, 4)]
    family, payment = paid[0]

    # A case worker records what the family says: the payment did not arrive.
    page = login(new_context("en").new_page(), worker)
    page.goto(f"/families/{family.pk}/")
    page.get_by_role("link", name="Record a complaint").click()
    page.select_option("#id_category", "payment_not_received")
    page.fill("#id_description", "The family says the cash was not handed over at the Kandahar office.")
    page.get_by_role("button", name="Record the complaint").click()
    page.wait_for_load_state()
    complaint = Grievance.objects.get(family=family)
    assert page.url.endswith(f"/grievances/{complaint.pk}/")
    assert complaint.disbursement == payment and complaint.status == "open"
    body = page.locator("main").inner_text()
    assert payment.reference in body and "Paid" in body, "the complaint shows the payment and its status"
    shot(page, "complaint", docs_name="complaint-en")

    # A coordinator draws a verification round over this week's payments.
    page = login(new_context("en").new_page(), coordinator)
    page.goto("/verification/")
    today = timezone.localdate()
    page.fill("#id_name", "Spin Boldak, first week")
    page.fill("#id_paid_from", (today - timedelta(days=7)).isoformat())
    page.fill("#id_paid_to", today.isoformat())
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    round_ = PdvRound.objects.get()
    assert page.url.endswith(f"/verification/{round_.pk}/")
    assert round_.population_size == 3 and round_.sample_size == 3  # a tiny population is taken whole
    assert "3 of 3 paid families" in page.locator("main").inner_text()

    # The first family called says it received 5,000 AFN: the answer opens a complaint by itself.
    sample = round_.samples.order_by("position").first()
    page.goto(f"/verification/answer/{sample.pk}/")
    page.check("input[name=reached][value=yes]")
    page.select_option("#id_confirmed_full_amount", "no")
    page.fill("#id_amount_reported", "5000")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    opened = Grievance.objects.get(pdv_sample=sample)
    assert (opened.category, opened.family_id, opened.disbursement_id) == (
        "wrong_amount",
        sample.family_id,
        sample.disbursement_id,
    )
    page.goto(f"/verification/{round_.pk}/?show=all")
    report = page.locator("main").inner_text()
    assert "received 5000" in report.replace(",", "") and opened.short_id in report
    shot(page, "verification", docs_name="verification-en")

"""The main flow as people do it, in a real browser, in English and in Dari.

A case worker logs in, registers a family of five, is warned about a possible duplicate, registers it
anyway and resolves the duplicate as distinct, refers the family and requests its support payment. She cannot
approve that payment; a finance officer can, puts it in a payout batch, downloads the payout list and uploads
the provider's statement, whose result page shows the payment matched.
"""

import csv
import io
import re
from datetime import date

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from disbursements.models import Disbursement
from families.models import DuplicateFlag, Family
from referrals.models import Referral

# Five people; the Dari flow types the names in Arabic script, the English flow in Latin script.
HOUSEHOLD = {
    "en": [
        ("Gul", "Ahmad", "Khan", "F", "head", "1990-01-01"),
        ("Rahim", "Karim", "Khan", "M", "spouse", "1985-05-05"),
        ("Zarghona", "Rahim", "Khan", "F", "child", "2012-03-01"),
        ("Nabi", "Rahim", "Khan", "M", "child", "2015-07-10"),
        ("Bibi", "Yousuf", "Khan", "F", "parent", "1950-01-01"),
    ],
    "fa": [
        ("گل", "احمد", "خان", "F", "head", "1990-01-01"),
        ("رحیم", "کریم", "خان", "M", "spouse", "1985-05-05"),
        ("زرغونه", "رحیم", "خان", "F", "child", "2012-03-01"),
        ("نبی", "رحیم", "خان", "M", "child", "2015-07-10"),
        ("بی بی", "یوسف", "خان", "F", "parent", "1950-01-01"),
    ],
}
PHONE = "+93700123456"
LANGUAGE_NAME = {"en": "English", "fa": "دری", "ps": "پښتو"}


def t(lang: str, message: str) -> str:
    """The text a user of `lang` sees for `message` (and, for Dari/Pashto, a check that it is translated)."""
    with translation.override(lang):
        text = str(translation.gettext(message))
    if lang != "en":
        assert text != message, f"{message!r} is not translated into {lang}"
    return text


def choose_language(page, lang: str) -> None:
    """Use the language switcher in the header (works with and without JavaScript)."""
    page.select_option("#language", lang)
    page.locator("form.lang button[type=submit]").click()
    page.wait_for_load_state()


def assert_direction(page, lang: str) -> None:
    html = page.locator("html")
    expect(html).to_have_attribute("lang", lang)
    expect(html).to_have_attribute("dir", "rtl" if lang in ("fa", "ps") else "ltr")
    if lang in ("fa", "ps"):
        # The layout really flows right to left, not only the attribute: the brand sits on the right.
        box = page.locator(".brand").bounding_box()
        assert box["x"] > page.viewport_size["width"] / 2


def fill_member(page, index: int, member) -> None:
    given, father, family, sex, relationship, born = member
    prefix = f"#id_members-{index}-"
    page.fill(prefix + "given_name", given)
    page.fill(prefix + "father_name", father)
    page.fill(prefix + "family_name", family)
    page.select_option(prefix + "sex", sex)
    page.select_option(prefix + "relationship", relationship)
    page.fill(prefix + "date_of_birth", born)


def register_family_of_five(page, lang: str, earlier: Family, shot) -> None:
    page.get_by_role("link", name=t(lang, "Register family"), exact=True).click()
    expect(page.locator("h1")).to_have_text(t(lang, "Register a family"))
    assert_direction(page, lang)
    page.select_option("#id_crossing_point", "TORKHAM")
    page.fill("#id_arrival_date", timezone.localdate().isoformat())
    page.select_option("#id_destination_province", "AF-NAN")
    page.fill("#id_destination_district", "Jalalabad" if lang == "en" else "جلال‌آباد")
    page.fill("#id_phone", PHONE)
    page.check("#id_consent_to_share")
    members = HOUSEHOLD[lang]
    fill_member(page, 0, members[0])
    for index, member in enumerate(members[1:], start=1):
        # "Add a member" is a submit button: the server returns the form with one more row (no JavaScript).
        page.get_by_role("button", name=t(lang, "Add a member")).click()
        expect(page.locator(f"#id_members-{index}-given_name")).to_be_visible()
        fill_member(page, index, member)
    shot(page, "1-registration", docs_name=f"registration-{lang}")
    page.get_by_role("button", name=t(lang, "Check and register")).click()

    # The phone and the head's name match a family registered before: the page warns and asks.
    warning = page.locator("section.dupes")
    expect(warning).to_be_visible()
    expect(warning.locator("h2")).to_have_text(t(lang, "Possible duplicates"))
    expect(warning.get_by_role("link", name=earlier.case_number)).to_be_visible()
    shot(page, "2-possible-duplicate")
    page.check("#confirm_duplicates")
    page.get_by_role("button", name=t(lang, "Register"), exact=True).click()
    expect(page.locator("h1")).to_contain_text(members[0][0])
    expect(page.locator(".messages .success")).to_be_visible()


def resolve_duplicate(page, lang: str, family: Family, shot) -> None:
    page.get_by_role("link", name=t(lang, "Duplicates"), exact=True).click()
    card = page.locator("section.card", has_text=family.case_number)
    expect(card).to_be_visible()
    shot(page, "3-duplicate-review", docs_name=f"duplicate-review-{lang}")
    card.locator("input[value=distinct]").check()
    card.locator("textarea").fill("Different people, same phone shop" if lang == "en" else "خانواده دیگر")
    card.get_by_role("button", name=t(lang, "Save decision")).click()
    expect(page.locator(".messages .success")).to_have_text(t(lang, "Review saved."))
    assert not DuplicateFlag.objects.filter(family=family, status=DuplicateFlag.Status.OPEN).exists()


def refer_and_request_payment(page, lang: str, family: Family, shot) -> str:
    page.goto(f"/families/{family.pk}/")
    page.select_option("#id_organization", "UNHCR")
    page.select_option("#id_service", "shelter")
    page.select_option("#id_urgency", "high")
    page.get_by_role("button", name=t(lang, "Refer"), exact=True).click()
    expect(page.locator(".messages .success")).to_be_visible()
    assert Referral.objects.filter(family=family, organization__code="UNHCR").count() == 1

    page.get_by_role("button", name=t(lang, "Request the support payment")).click()
    expect(page.locator(".messages .success")).to_be_visible()
    shot(page, "4-family-page", docs_name=f"family-{lang}")
    disbursement = Disbursement.objects.get(family=family)
    assert disbursement.status == Disbursement.Status.REQUESTED
    return disbursement.reference


def case_worker_cannot_approve(page, lang: str, reference: str) -> None:
    page.get_by_role("link", name=t(lang, "Payments"), exact=True).click()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    expect(page.get_by_role("button", name=t(lang, "Approve selected"))).to_have_count(0)
    # Not only hidden: the server refuses the approval if she sends it anyway.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    disbursement = Disbursement.objects.get(reference=reference)
    response = page.request.post(
        "/payments/bulk/",
        form={"csrfmiddlewaretoken": token, "action": "approve", "ids": str(disbursement.pk)},
        headers={"Referer": page.url},
        max_redirects=0,
    )
    assert response.status == 403
    disbursement.refresh_from_db()
    assert disbursement.status == Disbursement.Status.REQUESTED


def finance_approves_batches_and_reconciles(page, lang: str, reference: str, shot) -> None:
    page.get_by_role("link", name=t(lang, "Payments"), exact=True).click()
    row = page.locator("tr", has_text=reference)
    row.locator("input[type=checkbox]").check()
    shot(page, "5-approval-queue", docs_name=f"approval-queue-{lang}")
    page.get_by_role("button", name=t(lang, "Approve selected")).click()
    expect(page.locator(".messages .success")).to_be_visible()
    assert Disbursement.objects.get(reference=reference).status == Disbursement.Status.APPROVED

    page.goto("/payments/?status=approved")
    page.select_option("#channel", "mobile_money")
    page.get_by_role("button", name=t(lang, "Create batch with the payments on this page")).click()
    expect(page.locator(".messages .success")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV").first.click()
    payout = download.value.path().read_text(encoding="utf-8-sig")
    assert reference in payout
    assert Disbursement.objects.get(reference=reference).status == Disbursement.Status.EXPORTED

    rows = list(csv.DictReader(io.StringIO(payout)))
    amount = next(r for r in rows if reference in r.values())
    amount = next(v for k, v in amount.items() if k and "amount" in k.lower())
    statement = (
        f"reference,amount,status,paid_at\n{reference},{amount},paid,{timezone.localdate().isoformat()}\n"
    )
    page.get_by_role("link", name=t(lang, "Statements"), exact=True).click()
    page.set_input_files(
        "#file", files=[{"name": "statement.csv", "mimeType": "text/csv", "buffer": statement.encode()}]
    )
    page.get_by_role("button", name=t(lang, "Upload and reconcile")).click()
    status = page.locator("[role=status]").last
    expect(status).to_contain_text(t(lang, "Done"), timeout=20_000)
    matched = page.locator(".card", has_text=t(lang, "matched, now paid")).locator("strong")
    expect(matched).to_have_text(re.compile(r"^[1۱]$"))
    shot(page, "6-statement-result", docs_name=f"reconciliation-{lang}")
    assert Disbursement.objects.get(reference=reference).status == Disbursement.Status.PAID


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_register_review_refer_approve_reconcile(lang, make_user, register_family, new_context, login, shot):
    worker = make_user("case_worker")
    finance = make_user("finance")
    # Registered earlier at the border with the same phone and head: the new registration looks like it.
    earlier = register_family(given="Gul", father="Ahmad", phone=PHONE, birth=date(1990, 1, 1))

    locale = {"en": "en-GB", "fa": "fa-AF"}[lang]
    page = new_context(locale).new_page()
    page.goto("/accounts/login/")
    if lang != "en":
        choose_language(page, lang)
    assert_direction(page, lang)
    login(page, worker)
    expect(page.locator("h1")).to_have_text(t(lang, "Today"))
    shot(page, "0-dashboard-case-worker", docs_name=f"dashboard-{lang}")

    register_family_of_five(page, lang, earlier, shot)
    family = Family.objects.exclude(pk=earlier.pk).get()
    assert family.members.count() == 5
    assert family.members.get(relationship="head").given_name == HOUSEHOLD[lang][0][0]
    assert DuplicateFlag.objects.filter(family=family, candidate=earlier, status="open").exists()

    resolve_duplicate(page, lang, family, shot)
    reference = refer_and_request_payment(page, lang, family, shot)
    case_worker_cannot_approve(page, lang, reference)

    finance_page = new_context(locale).new_page()
    finance_page.goto("/accounts/login/")
    if lang != "en":
        choose_language(finance_page, lang)
    login(finance_page, finance)
    assert_direction(finance_page, lang)
    finance_approves_batches_and_reconciles(finance_page, lang, reference, shot)

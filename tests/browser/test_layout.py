"""Phones, slow connections and no JavaScript: 360 px without sideways scrolling, light first loads, the
registration form working with JavaScript off, and live progress of a long operation."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disbursements.models import Statement
from disbursements.services import disbursement_request
from families.models import Family
from reports.models import SituationReport

PAGE_BUDGET_BYTES = 300 * 1024


@pytest.fixture
def worker_with_family(make_user, register_family):
    worker = make_user("case_worker")
    earlier = register_family(given="Gul", father="Ahmad", phone="+93700123456", created_by=worker)
    family = register_family(
        given="Gul", father="Ahmed", phone="+93700123456", birth=date(1991, 1, 1), created_by=worker
    )
    disbursement_request(family=family, requested_by=worker)
    return worker, family, earlier


def choose_language(page, lang):
    page.select_option("#language", lang)
    page.locator("form.lang button[type=submit]").click()
    page.wait_for_load_state()


def test_phone_width_has_no_horizontal_scroll(worker_with_family, make_user, new_context, login, shot):
    worker, family, _ = worker_with_family
    finance = make_user("finance")
    checked = []
    for lang in ("en", "ps"):
        for user, paths in (
            (worker, ["/", "/families/register/", f"/families/{family.pk}/", "/duplicates/", "/payments/"]),
            (finance, ["/", "/payments/", "/statements/"]),
        ):
            page = new_context("en", viewport={"width": 360, "height": 740}, is_mobile=True).new_page()
            login(page, user)
            if lang != "en":
                choose_language(page, lang)
            for path in paths:
                page.goto(path)
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{path} ({lang}) is {overflow}px wider than a 360px screen"
                checked.append(path)
            if lang == "ps" and user == worker:
                shot(page, "360px-pashto-payments", full_page=False)
            page.context.close()
    assert len(checked) == 16


def test_first_load_of_main_pages_is_under_300_kb(worker_with_family, make_user, new_context, login):
    """Every byte the browser receives on a first visit (empty cache): HTML, CSS, scripts, icons."""
    worker, family, _ = worker_with_family
    pages = [
        (None, "/accounts/login/"),
        (worker, "/"),
        (worker, "/families/register/"),
        (worker, f"/families/{family.pk}/"),
        (worker, "/duplicates/"),
        (worker, "/payments/"),
        (make_user("finance"), "/statements/"),
        (make_user("coordinator"), "/reports/"),
    ]
    sizes = {}
    contexts = {}
    for user, path in pages:
        if user not in contexts:
            contexts[user] = new_context("en")
            if user is not None:
                login(contexts[user].new_page(), user)
        page = contexts[user].new_page()
        client = page.context.new_cdp_session(page)
        client.send("Network.enable")
        client.send("Network.setCacheDisabled", {"cacheDisabled": True})  # a first visit: nothing cached
        received = {}
        client.on(
            "Network.loadingFinished", lambda event, r=received: r.__setitem__(event["requestId"], event)
        )
        page.goto(path, wait_until="networkidle")
        sizes[path] = sum(event["encodedDataLength"] for event in received.values())
        assert len(received) >= 3, f"{path}: only {len(received)} responses seen (page, CSS, icon at least)"
        page.close()
    print(sizes)
    too_heavy = {path: size for path, size in sizes.items() if size > PAGE_BUDGET_BYTES}
    assert not too_heavy, f"over {PAGE_BUDGET_BYTES} bytes on first load: {too_heavy}"


def test_registration_works_without_javascript(make_user, new_context, login, shot):
    worker = make_user("case_worker")
    page = new_context("en", java_script_enabled=False).new_page()
    login(page, worker)
    page.goto("/families/register/")
    page.select_option("#id_crossing_point", "SPIN_BOLDAK")
    page.select_option("#id_destination_province", "AF-KAN")
    page.fill("#id_phone", "+93700999888")
    page.check("#id_consent_to_share")
    page.fill("#id_members-0-given_name", "Mina")
    page.fill("#id_members-0-father_name", "Habib")
    page.select_option("#id_members-0-sex", "F")
    page.fill("#id_members-0-age_years", "34")
    page.get_by_role("button", name="Add a member").click()
    page.fill("#id_members-1-given_name", "Omid")
    page.fill("#id_members-1-father_name", "Habib")
    page.select_option("#id_members-1-sex", "M")
    page.select_option("#id_members-1-relationship", "child")
    page.fill("#id_members-1-age_years", "9")
    page.get_by_role("button", name="Check and register").click()
    expect(page.locator(".messages .success")).to_be_visible()
    family = Family.objects.get(phone="+93700999888")
    assert family.members.count() == 2
    assert family.crossing_point.code == "SPIN_BOLDAK"
    shot(page, "no-javascript-registered")


def test_reconciliation_progress_updates_without_reload(make_user, new_context, login):
    """While a statement waits for the worker, its page polls a fragment (htmx) and shows the result."""
    finance = make_user("finance")
    statement = Statement.objects.create(
        sha256="0" * 64,
        filename="slow.csv",
        file_format="csv",
        content=b"",
        uploaded_by=finance,
        status=Statement.Status.RUNNING,
    )
    page = new_context("en").new_page()
    login(page, finance)
    page.goto(f"/statements/{statement.pk}/")
    page.evaluate("() => { window.notReloaded = true; }")
    status = page.locator("#statement-progress [role=status]")
    expect(status).to_contain_text("Running")
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        pass  # one poll saw it running
    Statement.objects.filter(pk=statement.pk).update(status=Statement.Status.DONE, matched=7)
    expect(status).to_contain_text("Done", timeout=10_000)
    expect(page.locator(".card", has_text="matched, now paid").locator("strong")).to_have_text("7")
    assert page.evaluate("() => window.notReloaded") is True  # updated in place, not by a page reload
    assert page.locator("#statement-progress[hx-get]").count() == 0  # and polling stopped


def test_situation_report_progress_and_produce_now(make_user, new_context, login):
    """A report being produced shows as running and turns into download links in place; "Produce it now"
    queues one (run at once here: Celery is eager in tests) and the page shows it when done."""
    coordinator = make_user("coordinator")
    today = timezone.localdate()
    running = SituationReport.objects.create(
        kind="weekly", period_start=today - timedelta(days=30), period_end=today - timedelta(days=24)
    )
    page = new_context("en").new_page()
    login(page, coordinator)
    page.goto("/reports/")
    page.evaluate("() => { window.notReloaded = true; }")
    row = page.locator("#reports tr", has_text="Weekly")
    expect(row).to_contain_text("Running")
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        pass
    SituationReport.objects.filter(pk=running.pk).update(status="done", csv=b"x", xlsx=b"x")
    expect(row.get_by_role("link", name="CSV (HXL)")).to_be_visible(timeout=10_000)
    assert page.evaluate("() => window.notReloaded") is True

    page.select_option("#report-kind", "daily")
    page.get_by_role("button", name="Produce it now").click()
    expect(page.locator("#reports tr", has_text="Daily").get_by_role("link", name="XLSX")).to_be_visible()
    assert SituationReport.objects.get(kind="daily").status == SituationReport.Status.DONE

"""axe-core, run inside Chromium on the main pages of each role: no critical or serious violation.

axe.min.js is vendored from the npm package axe-core (tests/browser/vendor/, with its licence).
"""

from datetime import date
from pathlib import Path

import pytest

from disbursements.services import disbursement_request

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
FAILING_IMPACTS = {"critical", "serious"}


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))"""
    )
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


def choose_language(page, lang: str) -> None:
    page.select_option("#language", lang)
    page.locator("form.lang button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == lang


def check(page, path: str) -> list[str]:
    page.goto(path)
    page.wait_for_load_state()
    assert page.url.endswith(path.split("?")[0]) or "?" in path, f"{path} redirected to {page.url}"
    return [f"{path}: [{v['impact']}] {v['id']} {v['help']} at {v['targets']}" for v in axe_violations(page)]


@pytest.fixture
def registry(make_user, register_family):
    worker = make_user("case_worker")
    earlier = register_family(given="Gul", father="Ahmad", phone="+93700123456", created_by=worker)
    family = register_family(
        given="Gul", father="Ahmed", phone="+93700123456", birth=date(1991, 1, 1), created_by=worker
    )
    disbursement_request(family=family, requested_by=worker)
    return {"worker": worker, "family": family, "earlier": earlier}


def test_main_pages_have_no_serious_accessibility_violations(registry, make_user, new_context, login):
    """Every main page in English; the main screens again in Dari (right to left, Arabic script)."""
    family = registry["family"]
    main = {
        "/",
        "/families/register/",
        f"/families/{family.pk}/",
        "/duplicates/",
        "/payments/",
        "/statements/",
    }
    pages = {
        None: ["/accounts/login/"],
        registry["worker"]: [
            "/",
            "/families/register/",
            f"/families/{family.pk}/",
            "/families/?q=Gul",
            "/duplicates/",
            "/referrals/",
            "/payments/",
            "/families/import/",
        ],
        make_user("finance"): ["/", "/payments/", "/batches/", "/statements/", "/discrepancies/"],
        make_user("coordinator"): ["/reports/"],
    }
    problems = []
    for lang in ("en", "fa"):
        for user, paths in pages.items():
            paths = [p for p in paths if lang == "en" or p in main or user is None]
            if not paths:
                continue
            # The checker is injected as a script of the test's own: the pages' Content-Security-Policy
            # (scripts from this site only) would refuse it, so this context alone bypasses the policy.
            page = new_context("en", bypass_csp=True).new_page()
            if user is None:
                page.goto("/accounts/login/")
            else:
                login(page, user)
            if lang != "en":
                choose_language(page, lang)
            for path in paths:
                problems += check(page, path)
            page.context.close()
    assert not problems, "\n".join(problems)

"""The browser fixtures themselves: Chromium starts, the live server answers, a user logs in."""


def test_case_worker_logs_in_and_sees_today(make_user, new_context, login, shot):
    user = make_user("case_worker")
    page = new_context("en").new_page()
    login(page, user)
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("h1").inner_text() == "Today"
    assert shot(page, "home").exists()

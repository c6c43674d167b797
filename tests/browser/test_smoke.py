"""The browser fixtures themselves: Chromium starts, the live server answers, a user logs in."""


def test_case_worker_logs_in_and_sees_today(make_user, new_context, login, shot):
    user = make_user("case_worker")
    page = new_context("en").new_page()
    login(page, user)
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("h1").inner_text() == "Today"
    assert shot(page, "home").exists()


def test_dari_page_is_right_to_left(make_user, new_context, login):
    user = make_user("case_worker")
    page = new_context("fa-AF").new_page()
    page.set_extra_http_headers({"Accept-Language": "fa"})
    login(page, user)
    assert page.locator("html").get_attribute("lang") == "fa"
    assert page.locator("html").get_attribute("dir") == "rtl"

"""The browser fixtures themselves: Chromium starts, the live server answers, a user logs in."""


def test_case_worker_logs_in_and_sees_today(make_user, new_context, login, shot):
    user = make_user("case_worker")
    page = new_context("en").new_page()
    login(page, user)
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("h1").inner_text() == "Today"
    assert shot(page, "home").exists()


def test_keyboard_only_login_and_skip_link(make_user, new_context):
    """The login form is used with the keyboard alone; on the next page Tab reaches the skip link first,
    which moves the keyboard into the content; focus is always drawn."""
    user = make_user("case_worker")
    page = new_context("en").new_page()
    page.goto("/accounts/login/")
    assert page.evaluate("() => document.activeElement.id") == "id_username"  # autofocus
    page.keyboard.type(user.username)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "id_password"
    page.keyboard.type("pw-for-tests-1")
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Today"

    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    assert page.locator(".skip").bounding_box()["x"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.keyboard.press("Tab")
    assert page.evaluate("() => !!document.activeElement.closest('main')"), (
        "Tab after the skip link left main"
    )
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")

"""Offline registration in the real browser: the page keeps working with the network cut, registrations wait on
the device, and are sent once, with their possible duplicates shown, when the connection returns."""

from django.test import override_settings

from families.models import DuplicateFlag, Family
from tests.conftest import registration_body

OFFLINE_PAGE = "/families/register/offline/"


def fill_member(page, index, given, father, tazkira="", age=""):
    row = page.locator("#o-members .member").nth(index)
    row.locator("[name=given_name]").fill(given)
    row.locator("[name=father_name]").fill(father)
    if tazkira:
        row.locator("[name=tazkira_number]").fill(tazkira)
    if age:
        row.locator("[name=age_years]").fill(age)


def queue_item(page, given):
    return page.locator("#o-queue li", has_text=given)


def api_reachable(page) -> bool:
    return page.evaluate("() => fetch('/healthz', {cache: 'no-store'}).then(() => true, () => false)")


@override_settings(SECURE_SSL_REDIRECT=False)
def test_registrations_made_offline_are_sent_once_when_the_connection_returns(
    new_context, login, shot, make_user, api_client
):
    worker = make_user("case_worker", username="torkham-desk")
    # A family already in the registry: the second queued family is the same household, registered again.
    existing = api_client(worker).post("/api/v1/families/", registration_body(), format="json")
    assert existing.status_code == 201
    existing_case = existing.json()["case_number"]

    context = new_context("en")
    page = login(context.new_page(), worker)
    page.goto(OFFLINE_PAGE)
    # The service worker takes the page and its files; from now on they are served without the network.
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    shot(page, "online")

    context.set_offline(True)
    assert not api_reachable(page), "the network should be cut"
    response = page.reload()
    assert response is not None and response.from_service_worker, (
        "offline, the page must come from the device"
    )
    page.locator("#offline-form").wait_for()
    assert page.locator("#connection").inner_text().startswith("No connection")

    fill_member(page, 0, "Zarghuna", "Mohammad Nabi", age="34")
    page.click("#o-add-member")
    fill_member(page, 1, "Wahid", "Zarghuna", age="9")
    page.click("#offline-form button[type=submit]")
    fill_member(page, 0, "Gul", "Ahmad", tazkira="1400-0101-12345", age="36")
    page.click("#offline-form button[type=submit]")

    for given in ("Zarghuna", "Gul"):
        item = queue_item(page, given)
        assert item.get_attribute("data-state") == "waiting"
        assert "Waiting for a connection" in item.inner_text()
    # "Send now" with no connection keeps both on the device.
    page.click("#o-sync")
    page.wait_for_timeout(300)
    assert page.locator("#o-queue li[data-state=waiting]").count() == 2
    shot(page, "queued-offline", docs_name="offline-queued-en")
    assert Family.objects.count() == 1  # nothing reached the server

    context.set_offline(False)  # the browser fires "online": the page sends its queue
    page.wait_for_function("() => !document.querySelector('#o-queue li[data-state=waiting]')")
    shot(page, "sent", docs_name="offline-sent-en")

    first = queue_item(page, "Zarghuna")
    assert first.get_attribute("data-state") == "sent"
    second = queue_item(page, "Gul")
    assert second.get_attribute("data-state") == "duplicate"
    assert existing_case in second.inner_text(), "the possible duplicate is named with its case number"

    client_ids = [page.locator("#o-queue li").nth(i).get_attribute("data-client-id") for i in range(2)]
    assert Family.objects.count() == 3
    for client_id in client_ids:
        assert Family.objects.filter(client_reference=client_id).count() == 1
    registered = Family.objects.get(client_reference=first.get_attribute("data-client-id"))
    assert registered.members.count() == 2
    assert registered.created_by == worker
    flagged = Family.objects.get(client_reference=second.get_attribute("data-client-id"))
    flag = DuplicateFlag.objects.get(family=flagged)
    assert flag.candidate.case_number == existing_case and flag.status == DuplicateFlag.Status.OPEN

    # Sending the same queue again (e.g. an answer lost on the way) registers nothing twice.
    page.evaluate(
        """() => {
            const key = Object.keys(localStorage).find((k) => k.startsWith('aidcase.offline.queue.'));
            const queue = JSON.parse(localStorage.getItem(key));
            queue.forEach((item) => { item.state = 'waiting'; });
            localStorage.setItem(key, JSON.stringify(queue));
        }"""
    )
    page.click("#o-sync")
    page.wait_for_function("() => !document.querySelector('#o-queue li[data-state=waiting]')")
    assert Family.objects.count() == 3
    assert queue_item(page, "Gul").get_attribute("data-state") == "duplicate"

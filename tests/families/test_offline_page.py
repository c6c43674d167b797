"""The offline registration page and its service worker, as the server delivers them (the browser test is in
tests/browser/)."""

import pytest

pytestmark = pytest.mark.django_db


def test_page_has_the_reference_data_and_the_api_address(client, make_user):
    client.force_login(make_user("case_worker", username="amina"))
    page = client.get("/families/register/offline/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-api="/api/v1/families/"' in html and 'data-user="amina"' in html
    assert '<option value="TORKHAM">' in html and '<option value="AF-NAN">' in html
    assert 'data-sw="/families/register/offline/sw.js"' in html
    assert "js/offline-register.js" in html and "<noscript>" in html
    assert client.get("/families/register/").content.decode().count("/families/register/offline/") == 1


def test_page_is_for_registry_staff_only(client, make_user):
    assert client.get("/families/register/offline/").status_code == 302  # to the login page
    client.force_login(make_user("partner"))
    assert client.get("/families/register/offline/").status_code == 403


def test_service_worker_caches_the_page_and_its_files_under_the_page_scope(client, settings):
    settings.OFFLINE_CACHE_VERSION = "42"
    response = client.get("/families/register/offline/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    assert 'const CACHE = "aidcase-offline-42";' in script
    assert 'const PAGE = "/families/register/offline/";' in script
    assert "css/aidcase.css" in script and "js/offline-register.js" in script
    assert 'request.method !== "GET"' in script  # registrations are never answered from the cache

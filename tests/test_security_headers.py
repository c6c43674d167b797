"""Security headers, CSRF on every POST, and the cookies and HSTS of production settings."""

import secrets

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.test_settings import PRODUCTION, _manage

pytestmark = pytest.mark.django_db


def _routes(patterns=None, prefix=""):
    """Every URL of the project with its parameters filled in (any value: CSRF is checked before the view)."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            if hasattr(p.pattern, "converters") and not route.startswith("^"):
                for name, converter in p.pattern.converters.items():
                    value = {
                        "UUIDConverter": "00000000-0000-0000-0000-000000000001",
                        "IntConverter": "1",
                    }.get(type(converter).__name__, "x")
                    for kind in ("uuid", "int", "str", "slug", "path"):
                        route = route.replace(f"<{kind}:{name}>", value)
                    route = route.replace(f"<{name}>", value)
                yield "/" + route
            elif "(?P<" not in route:  # admin regex routes: their plain prefix is enough
                yield "/" + route.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")


def test_every_post_without_a_csrf_token_is_refused(make_user):
    """A logged-in browser session POSTing without the token gets 403 everywhere: pages, admin and the API
    (the API's session authentication enforces CSRF too; Bearer keys are not cookies and need none)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    routes = sorted(set(_routes()))
    assert len(routes) > 40
    accepted = {}
    for url in routes:
        response = client.post(url, {"x": "1"})
        if response.status_code != 403:
            accepted[url] = response.status_code
    assert not accepted, f"POST without a CSRF token was not refused: {accepted}"


def test_a_post_with_the_token_goes_through(make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("case_worker"))
    page = client.get("/families/register/")
    token = page.context["csrf_token"]
    response = client.post("/i18n/setlang/", {"language": "fa", "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302


@pytest.mark.parametrize("url", ["/accounts/login/", "/api/v1/families/", "/healthz", "/families/"])
def test_security_headers_on_pages_and_api(client, url):
    response = client.get(url)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self';",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ):
        assert directive in policy


def test_pages_need_no_inline_script():
    """script-src 'self' holds only while no template has an inline <script> or on* handler."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in [*root.glob("templates/**/*.html"), *root.glob("*/templates/**/*.html")]:
        text = path.read_text()
        offenders += [
            f"{path.name}: inline script"
            for _ in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text)
            if 'type="application/json"' not in _
        ]
        offenders += [f"{path.name}: {m}" for m in re.findall(r"\son[a-z]+=\"", text)]
    assert not offenders


PRODUCTION_PROBE = """
from django.conf import settings as s
from django.test import Client
print("COOKIES", s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE,
      s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.CSRF_COOKIE_SAMESITE)
from django.test import override_settings
plain = {**s.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=plain):  # no collectstatic here: the manifest storage would refuse
    response = Client(HTTP_HOST="aidcase.example.org").get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
print("STATUS", response.status_code)
print("HSTS", response.get("Strict-Transport-Security"))
print("CSRFCOOKIE", response.cookies["csrftoken"].output())
"""


def test_production_cookies_are_secure_httponly_samesite_and_hsts_is_sent():
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(60)}
    result = _manage("shell", "-c", PRODUCTION_PROBE, **env)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["COOKIES"] == "True True Lax True True Lax"
    assert lines["STATUS"] == "200"
    assert lines["HSTS"] == "max-age=31536000; includeSubDomains; preload"
    cookie = lines["CSRFCOOKIE"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

"""Settings as a deployment sees them: each case boots manage.py in a fresh process with its own environment.

`manage.py check --deploy` in production settings and the refusal to boot without SECRET_KEY are in
test_operations.py; here: what DEBUG does to HTTP, and secrets read from files.
"""

import os
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "aidcase.example.org"
PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": HOST,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/aidcase",
}
# One plain-HTTP request, one as if behind the TLS-terminating proxy, one to the probe; status and Location.
REQUESTS = f"""
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="{HOST}")
print("SECURE_SSL_REDIRECT", getattr(settings, "SECURE_SSL_REDIRECT", False))
for path, extra in [("/api/v1/families/", {{}}), ("/api/v1/families/", {{"HTTP_X_FORWARDED_PROTO": "https"}})]:
    response = client.get(path, **extra)
    print(path, extra.get("HTTP_X_FORWARDED_PROTO", "http"), response.status_code, response.get("Location", "-"))
"""


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_on_serves_plain_http_and_debug_off_redirects_to_https():
    with ThreadPoolExecutor(max_workers=2) as pool:
        debug_on, debug_off = pool.map(
            lambda debug: _manage("shell", "-c", REQUESTS, **{**PRODUCTION, "DEBUG": debug}),
            ["True", "False"],
        )
    assert debug_on.returncode == 0, debug_on.stderr
    assert debug_on.stdout.splitlines()[-3:] == [
        "SECURE_SSL_REDIRECT False",
        "/api/v1/families/ http 401 -",  # answered over plain HTTP (401: no key), never redirected
        "/api/v1/families/ https 401 -",
    ]
    assert debug_off.returncode == 0, debug_off.stderr
    assert debug_off.stdout.splitlines()[-3:] == [
        "SECURE_SSL_REDIRECT True",
        f"/api/v1/families/ http 301 https://{HOST}/api/v1/families/",
        "/api/v1/families/ https 401 -",  # the proxy said it was HTTPS: no redirect loop
    ]


def test_secret_key_can_come_from_a_file(tmp_path):
    key = secrets.token_urlsafe(60)
    (tmp_path / "secret_key").write_text(key)
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        SECRET_KEY_FILE=str(tmp_path / "secret_key"),
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == key

"""Real gunicorn processes and a small HTTP client for them (no test client: real sockets, real processes)."""

import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Gunicorn:
    """One gunicorn (one sync worker) with the given environment, on a port this process holds.

    The test binds the listening socket itself and hands it to gunicorn (`--bind fd://N`): a port picked
    as free and bound later by gunicorn could meanwhile be taken by someone else's server on this machine,
    and the readiness probe below would then be answered by that server.
    """

    START_SECONDS = 180  # a loaded machine imports Django slowly

    def __init__(self, env: dict, log_path: Path):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        full_env = {**os.environ, "DEBUG": "True", **env}
        for name in ("DATABASE_REPLICA_URL", "CELERY_TASK_ALWAYS_EAGER"):
            if name not in env:
                full_env.pop(name, None)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "aidcase.wsgi:application"]
                + ["--bind", f"fd://{listener.fileno()}", "--workers", "1", "--timeout", "120"],
                cwd=ROOT,
                env=full_env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
            )
        finally:
            listener.close()  # gunicorn has its own copy
        deadline = time.monotonic() + self.START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=5):  # noqa: S310 - local
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"gunicorn did not answer within {self.START_SECONDS} s: {log_path.read_text()[-3000:]}"
        )

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


class Client:
    """Requests to one or more servers; cookies are kept across servers, as a browser behind a balancer."""

    def __init__(self, key: str | None = None):
        self.key = key
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()
        )

    def request(self, method, url, body=None, headers=None, form=None, files=None):
        headers = dict(headers or {})
        data = None
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for name, (filename, content) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    "Content-Type: text/csv\r\n\r\n".encode()
                    + content
                    + b"\r\n"
                )
            data = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - local
        try:
            with self.opener.open(req, timeout=120) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, body=None, **kw):
        return self.request("POST", url, body=body, **kw)

    def cookie(self, name):
        return next((c.value for c in self.cookies if c.name == name), None)


class Response:
    def __init__(self, status, headers, content):
        self.status_code, self.headers, self.content = status, headers, content

    def json(self):
        return json.loads(self.content)

    @property
    def text(self):
        return self.content.decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

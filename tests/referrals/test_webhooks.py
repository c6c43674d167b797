"""Webhooks delivered to a real HTTP server on this machine: signed, retried with backoff, logged."""

import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from referrals.models import WebhookDelivery
from referrals.services import referral_transition
from referrals.tasks import webhooks_sweep_task
from referrals.webhooks import MAX_ATTEMPTS, retry_delay, webhook_deliver

pytestmark = pytest.mark.django_db


class Receiver:
    """A local webhook receiver answering with the queued status codes (then 200)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class HangingReceiver:
    """A webhook endpoint that accepts connections, reads the request and never answers (until closed)."""

    def __init__(self):
        self.connections = 0
        self.closed = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)  # kept open, never answered

    def close(self):
        self.closed.set()
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hanging(settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    endpoint = HangingReceiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = True
    created = []

    def make(statuses=()):
        r = Receiver(statuses)
        created.append(r)
        return r

    yield make
    for r in created:
        r.close()


def register(client, url):
    response = client.post("/api/v1/webhooks/", {"url": url}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_new_referral_is_delivered_signed(
    people, make_referral, receiver, django_capture_on_commit_callbacks
):
    hook = receiver()
    endpoint = register(people["unhcr"][1], hook.url)
    with django_capture_on_commit_callbacks(execute=True):
        referral = make_referral()
    assert len(hook.received) == 1
    request = hook.received[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    expected = hmac.new(
        endpoint["secret"].encode(),
        headers["x-aidcase-timestamp"].encode() + b"." + request["body"],
        hashlib.sha256,
    )
    assert headers["x-aidcase-signature"] == f"sha256={expected.hexdigest()}"
    payload = json.loads(request["body"])
    assert payload["event"] == "referral.created"
    assert payload["referral"]["id"] == str(referral.pk)
    assert "tazkira" not in request["body"].decode()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_other_organizations_hooks_get_nothing(
    people, make_referral, receiver, django_capture_on_commit_callbacks
):
    hook = receiver()
    register(people["iom"][1], hook.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_referral(org="UNHCR")
    assert hook.received == []


def test_failures_are_retried_with_backoff_until_delivered(
    people, make_referral, receiver, django_capture_on_commit_callbacks
):
    hook = receiver(statuses=[500, 503])
    register(people["unhcr"][1], hook.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_referral()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=retry_delay(1) - 5)
    assert webhook_deliver(delivery_id=delivery.pk) == "skipped"  # not due yet: nothing sent
    for expected_attempts, expected_status in [(2, "pending"), (3, "delivered")]:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())  # time passes
        webhooks_sweep_task()
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.status) == (expected_attempts, expected_status)
    assert len(hook.received) == 3
    assert retry_delay(2) == 2 * retry_delay(1) and retry_delay(3) == 4 * retry_delay(1)


def test_unreachable_endpoint_gives_up_after_max_attempts(people, make_referral, receiver):
    hook = receiver()
    register(people["unhcr"][1], hook.url)
    hook.close()  # nobody listens any more
    make_referral()
    delivery = WebhookDelivery.objects.get()
    for _ in range(MAX_ATTEMPTS):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS and delivery.last_error


def test_status_change_event_and_delivery_log(
    people, make_referral, receiver, django_capture_on_commit_callbacks
):
    hook = receiver()
    register(people["unhcr"][1], hook.url)
    referral = make_referral()
    with django_capture_on_commit_callbacks(execute=True):
        referral_transition(referral=referral, target="accepted", actor=people["unhcr"][0], note="on it")
    assert json.loads(hook.received[-1]["body"])["event"] == "referral.status_changed"
    log = people["unhcr"][1].get("/api/v1/webhooks/deliveries/").json()["results"]
    assert {d["event"] for d in log} == {"referral.created", "referral.status_changed"}
    assert people["iom"][1].get("/api/v1/webhooks/deliveries/").json()["results"] == []


def test_case_worker_is_not_blocked_by_a_dead_endpoint(
    people, register_family, receiver, django_capture_on_commit_callbacks
):
    hook = receiver(statuses=[500] * 20)
    register(people["unhcr"][1], hook.url)
    family = register_family()
    with django_capture_on_commit_callbacks(execute=True):
        response = people["worker"][1].post(
            f"/api/v1/families/{family.pk}/referrals/",
            {"organization": "UNHCR", "service": "food"},
            format="json",
        )
    assert response.status_code == 201
    assert WebhookDelivery.objects.get().status == "pending"


def test_only_https_endpoints(people):
    response = people["unhcr"][1].post("/api/v1/webhooks/", {"url": "http://example.org/hook"}, format="json")
    assert response.status_code == 400 and "url" in response.json()
    ok = people["unhcr"][1].post(
        "/api/v1/webhooks/", {"url": "https://partner.example.org/hook"}, format="json"
    )
    assert ok.status_code == 201 and len(ok.json()["secret"]) >= 32
    assert (
        people["worker"][1].post("/api/v1/webhooks/", {"url": "https://x.org"}, format="json").status_code
        == 403
    )


def test_hanging_endpoint_times_out_backs_off_exponentially_and_is_failed_after_max_attempts(
    people, make_referral, hanging, django_capture_on_commit_callbacks
):
    register(people["unhcr"][1], hanging.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_referral()  # eager here: the first attempt runs at commit and times out
    delivery = WebhookDelivery.objects.get()
    delays = []
    while delivery.status == "pending":
        assert "timed out" in delivery.last_error and delivery.last_status_code is None
        delays.append((delivery.next_attempt_at - timezone.now()).total_seconds())
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())  # time passes
        webhook_deliver(delivery_id=delivery.pk)
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    assert hanging.connections == MAX_ATTEMPTS  # every attempt reached the endpoint, none more after failing
    # Each wait doubles: 30 s, 1 min, 2 min, ... (measured from the attempt's end, so a little under)
    assert len(delays) == MAX_ATTEMPTS - 1
    for attempt, delay in enumerate(delays, start=1):
        assert retry_delay(attempt) - 10 < delay <= retry_delay(attempt)
    assert webhooks_sweep_task() == 0  # a failed delivery is not picked up again

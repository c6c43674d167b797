"""Load test: many concurrent users of every kind for a few minutes, then checks that nothing went wrong.

    python bench/loadtest.py [--duration 120] [--clients 24] [--workers 4]

Local only and bounded: it starts its own PostgreSQL cluster and Redis on free ports (tests/services.py),
migrates, creates users and API keys, runs gunicorn (DEBUG off) and drives it with `--clients` threads for
`--duration` seconds, plus one partner client per organization syncing all the time. The staff mix:

  register      new households (each with a client_id), some sent twice at once (one 201, one 200, same family),
                some replays of an acknowledged client_id (200 with the same family), some households registered
                again without client_id (possible duplicates)
  pay           a case worker requests the 10,000 AFN payment of a random family (201, or 409: it has one)
  approve       one of two finance users approves a requested payment (200, or 409: the other was first)
  refer         a case worker refers a random family to UNHCR or IOM (201, or 409)
  partner pull  incremental sync as the README tells partners: updated_since = the newest updated_at seen,
                follow `next`, de-duplicate by id

Afterwards it counts: 5xx (must be 0), unexpected statuses, every acknowledged registration present exactly
once (replays included), no family with two active payments, a consistent ledger (each payment's last ledger
row is its status, one approval row per approved payment, approvals answered 200 = approved payments), and
each partner's sync saw every referral addressed to it. Prints requests by kind, rps, p50/p99 and errors;
exits 1 when a check fails. Everything (cluster, Redis, server) is removed at the end.
"""

import argparse
import http.client
import json
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile  # noqa: E402
from tests.services import ROOT, PostgresCluster, RedisServer, free_port, manage, project_env, wait_until  # noqa: E402

SETUP = """
import json
from accounts.services import api_key_create, user_create
def key(username, role, org=None):
    user = user_create(username=username, role=role, organization_code=org, password="load-test-pw-1",
                       check_password_strength=False)
    return api_key_create(user=user)[1]
print(json.dumps({
    "workers": [key(f"worker{i}", "case_worker") for i in range(4)],
    "finance": [key("finance-a", "finance"), key("finance-b", "finance")],
    "partners": {"UNHCR": key("unhcr-api", "partner", "UNHCR"), "IOM": key("iom-api", "partner", "IOM")},
}))
"""

GIVEN = ["Gul", "Mohammad", "Zainab", "Fatima", "Ahmad", "Rahim", "Shabana", "Nasrin", "Abdul", "Karim"]
FATHER = ["Ahmad", "Karim", "Hassan", "Yusuf", "Rahman", "Nabi", "Aziz", "Samad"]
PROVINCES = ["AF-NAN", "AF-KAN", "AF-KAB", "AF-HER"]
CROSSINGS = ["TORKHAM", "SPIN_BOLDAK"]
SERVICES = ["shelter", "food", "health", "protection", "wash"]


def household(n: int) -> dict:
    rng = random.Random(n)
    return {
        "crossing_point": rng.choice(CROSSINGS),
        "arrival_date": "2026-11-20",
        "destination_province": rng.choice(PROVINCES),
        "destination_district": "District",
        "phone": f"+9370{n:07d}"[-12:],
        "consent_to_share": rng.random() < 0.9,
        "members": [
            {
                "given_name": f"{rng.choice(GIVEN)}{n}",
                "father_name": rng.choice(FATHER),
                "sex": rng.choice("MF"),
                "date_of_birth": f"{1960 + n % 40}-0{1 + n % 9}-1{n % 9}",
                "relationship": "head",
            },
            {"given_name": "Child", "father_name": "X", "sex": "F", "age_years": 5, "relationship": "child"},
        ],
    }


class State:
    """What the clients were told, to check against the database afterwards."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counter = 0
        self.acked: dict[str, str] = {}  # client_id -> family id
        self.bodies: dict[str, dict] = {}  # client_id -> body sent
        self.families: list[tuple[str, bool]] = []  # (family id, consent)
        self.extra_families: set[str] = set()  # registered again without client_id
        self.requested: list[str] = []  # payments that may still be approved
        self.approved_200 = 0
        self.replay_mismatch = 0
        self.samples: list[tuple[str, int, float]] = []  # (kind, status, seconds)

    def next_n(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter


class Client:
    def __init__(self, base: str, key: str):
        url = urlparse(base)
        self.host, self.port, self.key = url.hostname, url.port, key
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None, float]:
        headers = {"Authorization": f"Bearer {self.key}"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the server closed an idle keep-alive connection: reconnect once
                if attempt == 2:
                    raise
        elapsed = time.perf_counter() - started
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return response.status, payload, elapsed


EXPECTED = {
    "register": {201},
    "replay": {200},
    "duplicate": {201},
    "pay": {201, 409},
    "approve": {200, 409},
    "refer": {201, 409},
    "partner_page": {200},
    "no_answer": set(),  # a request that got no HTTP answer at all
}


def staff_loop(base: str, keys: dict, state: State, stop: threading.Event, seed: int) -> None:
    """A staff client; a request that fails without an HTTP answer (timeout, reset) counts as an error."""
    while not stop.is_set():
        try:
            _staff_loop(base, keys, state, stop, seed)
        except (OSError, http.client.HTTPException) as exc:
            with state.lock:
                state.samples.append(("no_answer", 0, 0.0))
            print(f"client error: {exc!r}", flush=True)
            seed += 1000


def _staff_loop(base: str, keys: dict, state: State, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    worker = Client(base, rng.choice(keys["workers"]))
    twin = Client(base, rng.choice(keys["workers"]))  # another device of the same team
    finance = [Client(base, k) for k in keys["finance"]]

    def record(kind, status, elapsed):
        with state.lock:
            state.samples.append((kind, status, elapsed))

    while not stop.is_set():
        roll = rng.random()
        with state.lock:
            have_families = len(state.families) > 20
            acked = list(state.acked.items()) if roll < 0.45 and state.acked else []
        if roll < 0.35 or not have_families:
            n = state.next_n()
            client_id = str(uuid.uuid4())
            body = {**household(n), "client_id": client_id}
            status, payload, elapsed = worker.call("POST", "/api/v1/families/", body)
            record("register", status, elapsed)
            if status == 201:
                with state.lock:
                    state.acked[client_id] = payload["id"]
                    state.bodies[client_id] = body
                    state.families.append((payload["id"], body["consent_to_share"]))
        elif roll < 0.37:
            # The same new registration sent twice at once (two tabs, or a retry racing the first send).
            n = state.next_n()
            client_id = str(uuid.uuid4())
            body = {**household(n), "client_id": client_id}
            answers: list = [None, None]

            def send(i, client, body=body, answers=answers):
                answers[i] = client.call("POST", "/api/v1/families/", body)

            racer = threading.Thread(target=send, args=(1, twin))
            racer.start()
            send(0, worker)
            racer.join()
            for status, _, elapsed in answers:
                record("register" if status == 201 else "replay", status, elapsed)
            ids = {payload["id"] for status, payload, _ in answers if status in (200, 201)}
            if sorted(a[0] for a in answers) == [200, 201] and len(ids) == 1:
                with state.lock:
                    state.acked[client_id] = ids.pop()
                    state.bodies[client_id] = body
                    state.families.append((state.acked[client_id], body["consent_to_share"]))
            else:
                with state.lock:
                    state.replay_mismatch += 1
        elif roll < 0.40 and acked:
            client_id, family_id = rng.choice(acked)
            status, payload, elapsed = worker.call("POST", "/api/v1/families/", state.bodies[client_id])
            record("replay", status, elapsed)
            if status == 200 and payload["id"] != family_id:
                with state.lock:
                    state.replay_mismatch += 1
        elif roll < 0.45 and acked:
            client_id, _ = rng.choice(acked)
            body = {**state.bodies[client_id], "client_id": None}  # the same household, typed again
            status, payload, elapsed = worker.call("POST", "/api/v1/families/", body)
            record("duplicate", status, elapsed)
            if status == 201:
                with state.lock:
                    state.extra_families.add(payload["id"])
        elif roll < 0.65:
            with state.lock:
                family_id, _ = rng.choice(state.families)
            status, payload, elapsed = worker.call("POST", f"/api/v1/families/{family_id}/disbursements/", {})
            record("pay", status, elapsed)
            if status == 201:
                with state.lock:
                    state.requested.append(payload["id"])
        elif roll < 0.85:
            with state.lock:
                if not state.requested:
                    continue
                payment = rng.choice(state.requested[-50:])  # recent ones: both finance users meet on them
            status, _, elapsed = rng.choice(finance).call("POST", f"/api/v1/disbursements/{payment}/approve/")
            record("approve", status, elapsed)
            if status == 200:
                with state.lock:
                    state.approved_200 += 1
        else:
            with state.lock:
                consenting = [f for f, consent in state.families[-200:] if consent]
            if not consenting:
                continue
            body = {
                "organization": rng.choice(["UNHCR", "IOM"]),
                "service": rng.choice(SERVICES),
                "urgency": "high",
            }
            status, _, elapsed = worker.call(
                "POST", f"/api/v1/families/{rng.choice(consenting)}/referrals/", body
            )
            record("refer", status, elapsed)


class PartnerSync:
    """A partner's client following the README: incremental sync by updated_since, de-duplicated by id."""

    def __init__(self, base: str, key: str, state: State):
        self.client, self.state = Client(base, key), state
        self.seen: set[str] = set()
        self.since: str | None = None

    def sync(self) -> None:
        path = "/api/v1/referrals/?limit=100" + (f"&updated_since={quote(self.since)}" if self.since else "")
        newest = self.since
        while path:
            status, payload, elapsed = self.client.call("GET", path)
            with self.state.lock:
                self.state.samples.append(("partner_page", status, elapsed))
            if status != 200:
                return
            for referral in payload["results"]:
                self.seen.add(referral["id"])
                if newest is None or referral["updated_at"] > newest:
                    newest = referral["updated_at"]
            path = payload["next"]
            if path and path.startswith("http"):
                parsed = urlparse(path)
                path = parsed.path + "?" + parsed.query
        self.since = newest


def partner_loop(sync: PartnerSync, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            sync.sync()
        except (OSError, http.client.HTTPException) as exc:
            with sync.state.lock:
                sync.state.samples.append(("no_answer", 0, 0.0))
            print(f"partner client error: {exc!r}", flush=True)
            sync.client.conn.close()
        stop.wait(0.5)


def check(
    cluster: PostgresCluster, state: State, partners: dict[str, PartnerSync]
) -> list[tuple[str, bool, str]]:
    def sql(query, params=None):
        return cluster.sql(query, "aidcase", params)

    results = []
    acked_ids = list(state.acked.values()) + list(state.extra_families)
    present = sql("SELECT count(*) FROM families_family WHERE id = ANY(%s::uuid[])", [acked_ids])[0][0]
    by_client = sql(
        "SELECT count(*), count(DISTINCT client_reference) FROM families_family WHERE client_reference IS NOT NULL"
    )[0]
    results.append(
        (
            "every acknowledged registration exists exactly once",
            present == len(set(acked_ids))
            and by_client[0] == by_client[1] == len(state.acked)
            and state.replay_mismatch == 0,
            f"{len(state.acked)} with client_id ({by_client[0]} in the database), {len(state.extra_families)} "
            f"registered again without one, replays answering otherwise than the first: {state.replay_mismatch}",
        )
    )
    doubled = sql(
        "SELECT count(*) FROM (SELECT family_id FROM disbursements_disbursement "
        "WHERE status NOT IN ('rejected', 'cancelled', 'failed') GROUP BY family_id HAVING count(*) > 1) x"
    )[0][0]
    results.append(("no family with two active payments", doubled == 0, f"{doubled} families"))
    out_of_step = sql(
        "SELECT count(*) FROM disbursements_disbursement d WHERE d.status IS DISTINCT FROM ("
        "SELECT t.to_status FROM disbursements_disbursementtransition t WHERE t.disbursement_id = d.id "
        "ORDER BY t.id DESC LIMIT 1)"
    )[0][0]
    double_approvals = sql(
        "SELECT count(*) FROM (SELECT disbursement_id FROM disbursements_disbursementtransition "
        "WHERE to_status = 'approved' GROUP BY 1 HAVING count(*) > 1) x"
    )[0][0]
    approved = sql("SELECT count(*) FROM disbursements_disbursement WHERE status = 'approved'")[0][0]
    results.append(
        (
            "ledger consistent",
            out_of_step == 0 and double_approvals == 0 and approved == state.approved_200,
            f"payments whose last ledger row is not their status: {out_of_step}; approved twice: "
            f"{double_approvals}; approved {approved}, approvals answered 200: {state.approved_200}",
        )
    )
    for org, sync in partners.items():
        sync.sync()  # the partner's next run after the load
        ids = {
            str(r[0])
            for r in sql(
                "SELECT r.id FROM referrals_referral r JOIN accounts_organization o ON o.id = r.organization_id "
                "WHERE o.code = %s",
                [org],
            )
        }
        missed = ids - sync.seen
        foreign = sync.seen - ids
        results.append(
            (
                f"{org}'s sync saw every referral addressed to it",
                not missed and not foreign,
                f"{len(ids)} referrals, seen {len(sync.seen & ids)}, missed {len(missed)}, not theirs {len(foreign)}",
            )
        )
    return results


def report(state: State, seconds: float) -> bool:
    by_kind: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for kind, status, elapsed in state.samples:
        by_kind[kind].append((status, elapsed))
    total = len(state.samples)
    print(f"\n{total} requests in {seconds:.0f} s: {total / seconds:.1f} req/s")
    print(f"{'kind':<14}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    server_errors = unexpected = 0
    for kind in EXPECTED:
        rows = by_kind.get(kind, [])
        if not rows:
            continue
        statuses: dict[int, int] = defaultdict(int)
        for status, _ in rows:
            statuses[status] += 1
        server_errors += sum(n for s, n in statuses.items() if s >= 500)
        unexpected += sum(n for s, n in statuses.items() if s not in EXPECTED[kind])
        times = [e * 1000 for _, e in rows]
        print(
            f"{kind:<14}{len(rows):>9}{len(rows) / seconds:>8.1f}{percentile(times, 50):>9.0f}"
            f"{percentile(times, 99):>9.0f}  {dict(sorted(statuses.items()))}"
        )
    print(f"5xx: {server_errors}; statuses not expected for their kind: {unexpected}")
    return server_errors == 0 and unexpected == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument("--clients", type=int, default=24, help="concurrent staff clients (default 24)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    args = parser.parse_args()

    with PostgresCluster() as cluster, RedisServer() as redis_server:
        url = cluster.create_database("aidcase")
        env = project_env(
            database_url=url,
            redis_url=redis_server.url(),
            debug=False,
            PARTNER_THROTTLE_RATE="1000000/min",
            PYTHONWARNINGS="ignore::UserWarning",
            LOG_LEVEL="ERROR",  # not a line per expected 409
        )
        print(
            f"PostgreSQL on port {cluster.port}, Redis on port {redis_server.port}: migrating ...", flush=True
        )
        manage("migrate", "-v", "0", env={**env, "DEBUG": "True"})
        keys = json.loads(manage("shell", "-c", SETUP, env={**env, "DEBUG": "True"}).strip().splitlines()[-1])
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "aidcase.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", str(args.workers), "--log-level", "warning", "--timeout", "60"],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _up(base), timeout=60, what="gunicorn")
            state, stop = State(), threading.Event()
            partners = {org: PartnerSync(base, key, state) for org, key in keys["partners"].items()}
            threads = [
                threading.Thread(target=staff_loop, args=(base, keys, state, stop, i))
                for i in range(args.clients)
            ] + [threading.Thread(target=partner_loop, args=(sync, stop)) for sync in partners.values()]
            print(
                f"{args.clients} staff clients + {len(partners)} partner clients against gunicorn "
                f"({args.workers} workers) for {args.duration:.0f} s ...",
                flush=True,
            )
            started = time.monotonic()
            for t in threads:
                t.start()
            time.sleep(args.duration)
            stop.set()
            for t in threads:
                t.join(timeout=120)
            seconds = time.monotonic() - started
            ok = report(state, seconds)
            for label, passed, detail in check(cluster, state, partners):
                print(f"[{'ok' if passed else 'FAILED'}] {label}: {detail}")
                ok = ok and passed
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


def _up(base: str) -> bool:
    try:
        conn = http.client.HTTPConnection(urlparse(base).hostname, urlparse(base).port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())

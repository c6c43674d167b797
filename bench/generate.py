"""Load realistic synthetic data at scale into a throw-away database, with COPY.

    .venv/bin/python bench/generate.py --scale 300000 [--db aidcase_bench] [--seed 1]

Creates (drops first) the database, migrates it, creates the bench users through the services, then writes
N families with their members (about 7 a household), payments in every state with their ledger, referrals
to every organization with their history, open duplicate flags and one audit row per registration, with
PostgreSQL COPY from several connections at once. Foreign keys and secondary indexes are dropped before the
load and created again after it (one sort per index instead of N index insertions; foreign keys checked by
one join each instead of one trigger call per row). Prints rows per second.

Names come from the project's variant table (families/data/names.csv: Latin, variants, Perso-Arabic) and are
typed as case workers type them: mostly the common Latin spelling, often a variant, sometimes in Dari. About
2% of households are registered twice under another spelling (open duplicate flags point at them). Keys
(name_key, head_name_key, tazkira_key) are computed by the app's own functions, so duplicate detection and
search work on this data as on registered data.
"""

import argparse
import csv
import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, django_setup, fresh_database  # noqa: E402

DB = "aidcase_bench"
END = date(2026, 11, 30)  # last arrival day; two years of arrivals before it
DAYS = 730
KABUL = timedelta(hours=4, minutes=30)
# Big tables: their foreign keys and secondary indexes are dropped for the load and rebuilt after it.
BIG_TABLES = [
    "families_family",
    "families_member",
    "families_duplicateflag",
    "disbursements_disbursement",
    "disbursements_disbursementtransition",
    "referrals_referral",
    "referrals_referralevent",
    "accounts_auditevent",
]
CROSSING_WEIGHTS = {
    "TORKHAM": 45, "SPIN_BOLDAK": 30, "GHULAM_KHAN": 5, "ANGOOR_ADDA": 4, "BAHRAMCHA": 4, "DAND_PATAN": 4,
    "ISLAM_QALA": 6, "MILAK": 2,
}  # fmt: skip
BUSY_PROVINCES = {
    "AF-NAN": 20,
    "AF-KAN": 14,
    "AF-KAB": 12,
    "AF-KNR": 5,
    "AF-LAG": 5,
    "AF-HEL": 5,
    "AF-HER": 5,
}
FAMILY_NAMES = ["Khan", "Ahmadzai", "Popalzai", "Shinwari", "Safi", "Mohmand", "Niazi", "Stanikzai", "Hotak",
                "Sadat", "Barakzai", "Achakzai", "Wardak", "Durrani", "Noorzai", "Alizai", "Kakar", "Zadran"]  # fmt: skip
DISTRICTS = ["Jalalabad", "Behsud", "Surkh Rod", "Kandahar", "Daman", "Kabul", "Paghman", "Asadabad",
             "Mihtarlam", "Lashkar Gah", "Herat", "Injil", "Khost", "Gardez", "Ghazni", ""]  # fmt: skip
ORIGINS = ["Peshawar", "Karachi", "Quetta", "Islamabad", "Lahore", "Rawalpindi", "Haripur", "Mardan", ""]
SIZE_CUM = list(accumulate([3, 4, 6, 8, 10, 12, 12, 11, 9, 8, 6, 4, 3, 2, 2]))  # sizes 1..15, mean 7.3
CROSSINGS, CROSSING_CUM = list(CROSSING_WEIGHTS), list(accumulate(CROSSING_WEIGHTS.values()))
URGENCIES, URGENCY_CUM = ["low", "medium", "high", "emergency"], [30, 75, 95, 100]
CHILD_VULNERABILITIES = ["disability", "chronic_illness", "unaccompanied_child", "separated_child"]
ADULT_VULNERABILITIES = ["disability", "chronic_illness", "serious_medical_condition"]
# Payment states of a family's support payment (None: not requested yet).
PAYMENT_MIX = {None: 8, "paid": 55, "exported": 12, "approved": 5, "requested": 7, "rejected": 3,
               "cancelled": 3, "failed": 7}  # fmt: skip
PAYMENT_PATHS = {
    "requested": ["requested"],
    "approved": ["requested", "approved"],
    "rejected": ["requested", "rejected"],
    "cancelled": ["requested", "approved", "cancelled"],
    "exported": ["requested", "approved", "exported"],
    "paid": ["requested", "approved", "exported", "paid"],
    "failed": ["requested", "approved", "exported", "failed"],
}
REFERRAL_MIX = {"sent": 25, "accepted": 15, "in_progress": 15, "completed": 25, "declined": 10, "closed": 10}
REFERRAL_PATHS = {
    "sent": ["sent"],
    "accepted": ["sent", "accepted"],
    "in_progress": ["sent", "accepted", "in_progress"],
    "completed": ["sent", "accepted", "in_progress", "completed"],
    "declined": ["sent", "declined"],
    "closed": ["sent", "accepted", "closed"],
}
ORG_WEIGHTS = {"UNHCR": 30, "IOM": 20, "WFP": 15, "UNICEF": 12, "NRC": 8}  # others: 4 each
CHANNELS = ["hawala", "mobile_money", "cash"]
BATCH_SIZE = 1000
N = r"\N"


# --- households, as case workers type them --------------------------------------------------------


@dataclass
class Person:
    given_name: str
    father_name: str
    family_name: str
    sex: str
    relationship: str
    date_of_birth: date | None
    age_years: int | None
    tazkira_number: str = ""
    vulnerabilities: list[str] = field(default_factory=list)


@dataclass
class Household:
    crossing_point: str
    arrival_date: date
    province: str
    district: str
    phone: str
    consent: bool
    origin: str
    documentation_status: str
    return_type: str
    members: list[Person]


class Names:
    """Spellings of each name from the variant table: Latin, its variants, Perso-Arabic."""

    def __init__(self, path: Path = ROOT / "families" / "data" / "names.csv") -> None:
        self.male, self.female = [], []
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                variants = [v.strip() for v in (row["variants"] or "").split("|") if v.strip()]
                entry = (row["latin"], variants, row["arabic_script"])
                (self.female if row["sex"] == "F" else self.male).append(entry)
        # The first names of the table are the more common ones.
        self.male_w = list(accumulate(1 / (i + 10) for i in range(len(self.male))))
        self.female_w = list(accumulate(1 / (i + 10) for i in range(len(self.female))))

    @staticmethod
    def spell(rng: random.Random, entry) -> str:
        """A Latin spelling: mostly the common one, often a variant."""
        latin, variants, _arabic = entry
        if variants and rng.random() < 0.3:
            return rng.choice(variants)
        return latin

    def pick(self, rng: random.Random, sex: str):
        table, weights = (self.female, self.female_w) if sex == "F" else (self.male, self.male_w)
        return rng.choices(table, cum_weights=weights)[0]

    def given(self, rng: random.Random, sex: str) -> tuple:
        """A (possibly compound, e.g. Gul Ahmad, Noor Mohammad) name as its table entries."""
        if sex == "M" and rng.random() < 0.85:
            return (self.pick(rng, "M"), self.pick(rng, "M"))
        return (self.pick(rng, sex),)

    def typed(self, rng: random.Random, parts: tuple) -> str:
        if rng.random() < 0.15:  # typed in Dari/Pashto script, every part of the name
            return " ".join(p[2] or p[0] for p in parts)
        return " ".join(self.spell(rng, p) for p in parts)


class HouseholdMaker:
    def __init__(self, seed: int = 1, end: date = END) -> None:
        self.rng = random.Random(seed)
        self.names = Names()
        self.end = end
        self.tazkira = (seed * 7919 % 449) * 10**8  # documents of different seeds never collide

    def _age(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def _person(self, sex, relationship, given, father_parts, family_name, age, arrival) -> Person:
        rng = self.rng
        dob = None
        if age < 18 and rng.random() < 0.35:  # children often have a date of birth, adults an estimate
            dob = arrival - timedelta(days=365 * age + rng.randrange(0, 365))
        tazkira = ""
        if age >= 18 and rng.random() < 0.4:
            self.tazkira += 1
            t, rest = self.tazkira % 45, self.tazkira // 45
            tazkira = f"{1380 + t}-{rest // 100000 % 10000:04d}-{rest % 100000:05d}"
        vulns = []
        pool = CHILD_VULNERABILITIES if age < 18 else ADULT_VULNERABILITIES
        if rng.random() < 0.06:
            vulns.append(rng.choice(pool))
        if sex == "F" and 16 <= age <= 45 and relationship in ("head", "spouse") and rng.random() < 0.2:
            vulns.append("pregnant_lactating")
        if age >= 60 and rng.random() < 0.3:
            vulns.append("older_person_at_risk")
        return Person(
            given_name=self.names.typed(rng, given),
            father_name=self.names.typed(rng, father_parts),
            family_name=family_name,
            sex=sex,
            relationship=relationship,
            date_of_birth=dob,
            age_years=None if dob else age,
            tazkira_number=tazkira,
            vulnerabilities=sorted(set(vulns)),
        )

    def household(self, arrival: date) -> Household:
        rng = self.rng
        size = rng.choices(range(1, 16), cum_weights=SIZE_CUM)[0]
        family_name = rng.choice(FAMILY_NAMES) if rng.random() < 0.5 else ""
        head_sex = "F" if rng.random() < 0.12 else "M"
        head_age = self._age(20, 70)
        head_given = self.names.given(rng, head_sex)
        head = self._person(
            head_sex, "head", head_given, self.names.given(rng, "M"), family_name, head_age, arrival
        )
        if head_sex == "F":
            head.vulnerabilities = sorted({*head.vulnerabilities, "female_headed"})
        if head_age >= 60 and rng.random() < 0.5:
            head.vulnerabilities = sorted({*head.vulnerabilities, "elderly_headed"})
        members = [head]
        father_of_children = head_given if head_sex == "M" else self.names.given(rng, "M")
        if size > 1 and head_sex == "M":
            members.append(
                self._person("F", "spouse", self.names.given(rng, "F"), self.names.given(rng, "M"), family_name,
                             max(16, head_age - self._age(0, 10)), arrival)
            )  # fmt: skip
        while len(members) < size:
            r = rng.random()
            if r < 0.82:
                sex = rng.choice("MF")
                age = self._age(0, max(0, min(25, head_age - 16)))
                members.append(
                    self._person(sex, "child", self.names.given(rng, sex), father_of_children, family_name, age,
                                 arrival)
                )  # fmt: skip
            else:
                sex = rng.choice("MF")
                rel = rng.choice(["parent", "sibling", "grandchild", "other_relative"])
                age = {"parent": self._age(max(40, head_age + 16), 95), "grandchild": self._age(0, 8)}.get(
                    rel, self._age(10, 60)
                )
                members.append(
                    self._person(sex, rel, self.names.given(rng, sex), self.names.given(rng, "M"), family_name,
                                 age, arrival)
                )  # fmt: skip
        cp = rng.choices(CROSSINGS, cum_weights=CROSSING_CUM)[0]
        return Household(
            crossing_point=cp,
            arrival_date=arrival,
            province=rng.choices(self.province_codes, cum_weights=self.province_weights)[0],
            district=rng.choice(DISTRICTS),
            phone=f"+937{rng.choice('02789')}{rng.randrange(10**7):07d}" if rng.random() < 0.7 else "",
            consent=rng.random() < 0.85,
            origin=rng.choice(ORIGINS),
            documentation_status=rng.choices(["undocumented", "por_card", "acc", ""], [55, 25, 15, 5])[0],
            return_type=rng.choices(["deported", "spontaneous", ""], [60, 35, 5])[0],
            members=members,
        )

    def respelled(self, original: Household, arrival: date) -> Household:
        """The same household registered again elsewhere: names typed another way, same phone (often)."""
        rng = self.rng
        members = []
        for p in original.members:
            members.append(
                Person(**{**p.__dict__, "given_name": self._respell(p.given_name),
                          "father_name": self._respell(p.father_name), "tazkira_number": p.tazkira_number
                          if rng.random() < 0.5 else ""})
            )  # fmt: skip
        return Household(**{**original.__dict__, "arrival_date": arrival, "members": members,
                            "phone": original.phone if rng.random() < 0.6 else "",
                            "crossing_point": rng.choice(list(CROSSING_WEIGHTS))})  # fmt: skip

    def _respell(self, name: str) -> str:
        words = []
        for word in name.split(" "):
            entry = self._by_spelling().get(word)
            words.append(self.names.spell(self.rng, entry) if entry else word)
        return " ".join(words)

    def _by_spelling(self) -> dict:
        if not hasattr(self, "_spellings"):
            self._spellings = {}
            for entry in self.names.male + self.names.female:
                for s in [entry[0], *entry[1], entry[2]]:
                    self._spellings.setdefault(s, entry)
        return self._spellings

    def arrivals(self, n: int) -> list[date]:
        """n arrival days over two years, sorted, more of them recently (expulsions grew)."""
        days = sorted(int(DAYS * self.rng.random() ** 0.6) for _ in range(n))
        return [self.end - timedelta(days=DAYS - 1 - d) for d in days]

    def set_provinces(self, codes: list[str]) -> None:
        self.province_codes = codes
        self.province_weights = list(accumulate(BUSY_PROVINCES.get(c, 1) for c in codes))


# --- loading ----------------------------------------------------------------------------------------


def uid(tag: int, i: int) -> str:
    """Deterministic, ascending UUIDs (index-friendly appends); tag tells the tables apart."""
    return f"{i:08x}-{tag:04x}-4000-8000-00000000b0b0"


def ts(moment: datetime) -> str:
    return moment.isoformat()


def jsonb(value) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\\", "\\\\")


def text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


class Copier:
    """One COPY per table, each on its own connection so PostgreSQL parses them while Python generates."""

    def __init__(self, dsn: str, tables: dict[str, list[str]], flush_bytes: int = 1 << 20) -> None:
        import psycopg
        from psycopg.copy import QueuedLibpqWriter

        self.conns, self.copies, self.buffers, self.rows = {}, {}, {}, {}
        self.flush_bytes = flush_bytes
        for table, columns in tables.items():
            conn = psycopg.connect(dsn)
            conn.execute("SET synchronous_commit = off")
            cur = conn.cursor()
            # A queued writer sends from its own thread: Python goes on generating while the server parses.
            cm = cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN", writer=QueuedLibpqWriter(cur))
            self.conns[table], self.copies[table] = conn, (cm, cm.__enter__())
            self.buffers[table], self.rows[table] = [], 0

    def add(self, table: str, *values) -> None:
        buf = self.buffers[table]
        buf.append("\t".join(N if v is None else str(v) for v in values))
        self.rows[table] += 1
        if len(buf) >= 5000:
            self._flush(table)

    def _flush(self, table: str) -> None:
        buf = self.buffers[table]
        if buf:
            self.copies[table][1].write(("\n".join(buf) + "\n").encode())
            buf.clear()

    def close(self) -> None:
        for table, (cm, _copy) in self.copies.items():
            self._flush(table)
            cm.__exit__(None, None, None)
        for conn in self.conns.values():
            conn.commit()
            conn.close()


def _drop_constraints_and_indexes(cur) -> list[str]:
    """Drop foreign keys, unique constraints and secondary indexes of the big tables; return how to rebuild."""
    rebuild = []
    cur.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype "
        "FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('f', 'u') "
        "ORDER BY c.contype DESC",  # unique first on rebuild (foreign keys may need them)
        [BIG_TABLES],
    )
    constraints = cur.fetchall()
    for table, name, _definition, _kind in constraints:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cur.execute(
        "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [BIG_TABLES],
    )
    indexes = cur.fetchall()
    for _table, name, _definition in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    rebuild += [definition for _t, _n, definition in indexes]
    rebuild += [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition, kind in sorted(constraints, key=lambda c: c[3] != "u")
    ]
    return rebuild


FAMILY_COLUMNS = ["id", "case_number", "status", "duplicate_of_id", "crossing_point_id", "arrival_date",
                  "origin_location", "documentation_status", "return_type", "destination_province_id",
                  "destination_district", "phone", "consent_to_share", "consent_recorded_at",
                  "consent_recorded_by_id", "vulnerabilities", "household_size", "head_name", "head_name_key",
                  "head_birth_year", "created_by_id", "created_at", "updated_at", "import_fingerprint"]  # fmt: skip
MEMBER_COLUMNS = ["id", "family_id", "given_name", "father_name", "family_name", "sex", "date_of_birth",
                  "age_years", "birth_year", "relationship", "tazkira_number", "tazkira_key", "vulnerabilities",
                  "name_key", "position"]  # fmt: skip


def family_rows(
    h: Household,
    family_id: str,
    case_number: str,
    refs: dict,
    creator: int,
    created: datetime,
    first_member: int,
):
    """The families_family and families_member rows of a household, computed as the app computes them."""
    from families.names import clean_script, digits_key, head_key, person_key

    head = h.members[0]
    year = h.arrival_date.year

    def birth_year(p: Person):
        return p.date_of_birth.year if p.date_of_birth else year - p.age_years

    vulns = sorted({v for p in h.members for v in p.vulnerabilities})
    family = (
        family_id, case_number, "active", None, refs["cp"][h.crossing_point], h.arrival_date, text(h.origin),
        h.documentation_status, h.return_type, refs["province"][h.province], text(h.district), h.phone,
        "t" if h.consent else "f", ts(created), creator, jsonb(vulns), len(h.members),
        text(" ".join(p for p in (clean_script(head.given_name), clean_script(head.father_name)) if p)),
        head_key(head.given_name, head.father_name), birth_year(head), creator, ts(created), ts(created), "",
    )  # fmt: skip
    members = [
        (
            uid(7, first_member + position),
            family_id,
            text(clean_script(p.given_name)),
            text(clean_script(p.father_name)),
            text(clean_script(p.family_name)),
            p.sex,
            p.date_of_birth,
            p.age_years,
            birth_year(p),
            p.relationship,
            text(clean_script(p.tazkira_number)),
            digits_key(p.tazkira_number),
            jsonb(p.vulnerabilities),
            person_key(p.given_name, p.father_name, p.family_name),
            position,
        )  # fmt: skip
        for position, p in enumerate(h.members)
    ]
    return family, members


def generate(
    scale: int,
    *,
    db: str = DB,
    seed: int = 1,
    referrals_per_family: float = 1.2,
    duplicate_share: float = 0.02,
    verbose: bool = True,
) -> dict:
    """Create `db` with `scale` families and everything around them; return the environment and counts."""

    def say(msg: str) -> None:
        if verbose:
            print(msg, flush=True)

    started = time.perf_counter()
    env = fresh_database(db)
    django_setup(env)
    from accounts.models import Organization
    from accounts.services import user_create
    from families.models import CaseNumberCounter, CrossingPoint, Province

    users = {
        "cw": [user_create(username=f"bench-cw{i:02d}", role="case_worker") for i in range(20)],
        "fin": [user_create(username=f"bench-fin{i}", role="finance") for i in (1, 2)],
        "coord": user_create(username="bench-coord", role="coordinator"),
        "partner": {
            o.code: user_create(username=f"bench-{o.code.lower()}", role="partner", organization_code=o.code)
            for o in Organization.objects.all()
        },
    }
    orgs = {o.code: o.pk for o in Organization.objects.all()}
    from referrals.models import ServiceType

    services = list(ServiceType.objects.values_list("pk", flat=True))
    refs = {
        "cp": {c.code: c.pk for c in CrossingPoint.objects.all()},
        "prefix": {c.code: c.case_prefix for c in CrossingPoint.objects.all()},
        "province": {p.code: p.pk for p in Province.objects.all()},
    }
    say(f"database {db} migrated, users created in {time.perf_counter() - started:.1f} s")

    import psycopg

    dsn = env["DATABASE_URL"]
    admin = psycopg.connect(dsn, autocommit=True)
    rebuild = _drop_constraints_and_indexes(admin.cursor())

    maker = HouseholdMaker(seed)
    maker.set_provinces(sorted(refs["province"]))
    rng = maker.rng
    fin_ids = [u.pk for u in users["fin"]]
    cw_ids = [u.pk for u in users["cw"]]
    cw_names = {u.pk: u.username for u in users["cw"]}
    org_codes = sorted(orgs)
    org_weights = list(accumulate(ORG_WEIGHTS.get(c, 4) for c in org_codes))
    partner_ids = {c: users["partner"][c].pk for c in org_codes}

    # Payout batches: exported lists of BATCH_SIZE payments each (the payments point at them).
    header = b"reference,case_number,head_name,phone,amount,currency\n"
    copier = Copier(
        dsn,
        {
            "families_family": FAMILY_COLUMNS,
            "families_member": MEMBER_COLUMNS,
            "disbursements_disbursement": [
                "id", "reference", "family_id", "amount", "currency", "status", "legal_basis", "requested_by_id",
                "requested_at", "approved_by_id", "approved_at", "decision_reason", "batch_id", "exported_at",
                "paid_at", "recipient_confirmation", "recipient_code_hash", "failure_reason", "updated_at"],
            "disbursements_disbursementtransition": [
                "disbursement_id", "from_status", "to_status", "actor_id", "reason", "data", "created_at"],
            "disbursements_payoutbatch": [
                "id", "reference", "channel", "status", "created_by_id", "created_at", "exported_by_id",
                "exported_at", "export_csv", "export_sha256"],
            "referrals_referral": [
                "id", "family_id", "organization_id", "service_id", "urgency", "note", "status", "status_note",
                "created_by_id", "created_at", "updated_at"],
            "referrals_referralevent": ["referral_id", "from_status", "to_status", "actor_id", "note", "created_at"],
            "families_duplicateflag": [
                "id", "family_id", "candidate_id", "score", "reasons", "status", "note", "created_at"],
            "accounts_auditevent": [
                "uuid", "created_at", "actor_id", "actor_username", "action", "target_type", "target_id", "data"],
        },
    )  # fmt: skip
    counters: dict[tuple[str, int], int] = {}
    exported_count = 0
    batch_rows: dict[int, tuple] = {}
    payment_states = list(PAYMENT_MIX)
    payment_weights = list(accumulate(PAYMENT_MIX.values()))
    referral_states = list(REFERRAL_MIX)
    referral_weights = list(accumulate(REFERRAL_MIX.values()))
    recent: list[tuple[str, str, Household]] = []  # for re-registrations under another spelling
    referral_no = event_count = 0
    member_no = 1
    load_started = time.perf_counter()
    for i, arrival in enumerate(maker.arrivals(scale), start=1):
        if recent and rng.random() < duplicate_share:
            original_id, original_case, original = rng.choice(recent)
            h = maker.respelled(original, arrival)
        else:
            original_id = None
            h = maker.household(arrival)
        prefix = refs["prefix"][h.crossing_point]
        seq = counters[(prefix, arrival.year)] = counters.get((prefix, arrival.year), 0) + 1
        case_number = f"{prefix}-{arrival.year}-{seq:06d}"
        family_id = uid(1, i)
        creator = rng.choice(cw_ids)
        created = (
            datetime.combine(arrival, datetime.min.time(), UTC)
            - KABUL
            + timedelta(seconds=rng.randrange(7 * 3600, 18 * 3600))
        )
        family, members = family_rows(h, family_id, case_number, refs, creator, created, member_no)
        member_no += len(members)
        copier.add("families_family", *family)
        for m in members:
            copier.add("families_member", *m)
        copier.add(
            "accounts_auditevent", uid(2, i), ts(created), creator, cw_names[creator], "family.created",
            "families.family", family_id,
            jsonb({"case_number": case_number, "crossing_point": h.crossing_point, "household_size": len(members),
                   "consent_to_share": h.consent, "possible_duplicates": [original_case] if original_id else []}),
        )  # fmt: skip
        if original_id:
            copier.add(
                "families_duplicateflag", uid(3, i), family_id, original_id, 90,
                jsonb(["head's name and father's name similar (95/100)"]), "open", "", ts(created),
            )  # fmt: skip
        elif len(recent) < 5000:
            recent.append((family_id, case_number, h))
        elif rng.random() < 0.05:
            recent[rng.randrange(len(recent))] = (family_id, case_number, h)

        # The support payment, with its ledger.
        state = rng.choices(payment_states, cum_weights=payment_weights)[0]
        if state:
            when = created + timedelta(minutes=rng.randrange(5, 600))
            path = PAYMENT_PATHS[state]
            times = {"requested": when}
            for step in path[1:]:
                when += timedelta(hours=rng.randrange(1, 72))
                times[step] = when
            batch = None
            if "exported" in times:
                exported_count += 1
                b = exported_count // BATCH_SIZE
                batch = uid(5, b)
                if b not in batch_rows:
                    fin = fin_ids[b % 2]
                    batch_rows[b] = (batch, f"B-BENCH-{b:06d}", CHANNELS[b % 3], "exported", fin,
                                     ts(times["exported"]), fin, ts(times["exported"]))  # fmt: skip
            requester = creator
            approver = fin_ids[i % 2] if "approved" in times else None
            pid = uid(4, i)
            copier.add(
                "disbursements_disbursement", pid, f"{case_number}-P1", family_id, "10000.00", "AFN", state,
                "vital_interests", requester, ts(times["requested"]), approver,
                ts(times["approved"]) if approver else None,
                "Not eligible: already assisted." if state == "rejected" else "", batch,
                ts(times["exported"]) if "exported" in times else None,
                ts(times["paid"]) if state == "paid" else None, "", "",
                "Failed according to the provider's statement." if state == "failed" else "", ts(when),
            )  # fmt: skip
            previous = ""
            for step in path:
                actor = requester if step == "requested" else fin_ids[i % 2]
                copier.add(
                    "disbursements_disbursementtransition", pid, previous, step, actor, "",
                    jsonb({"amount": "10000.00"}) if step == "requested" else "{}", ts(times[step]),
                )  # fmt: skip
                previous = step

        # Referrals (only with consent), to every organization, with their history.
        if h.consent:
            count = int(referrals_per_family) + (rng.random() < referrals_per_family % 1)
            for _ in range(count):
                referral_no += 1
                org = rng.choices(org_codes, cum_weights=org_weights)[0]
                status = rng.choices(referral_states, cum_weights=referral_weights)[0]
                rid = uid(6, referral_no)
                when = created + timedelta(minutes=rng.randrange(10, 3000))
                sent_at, previous, note = when, "", ""
                events = []
                for step in REFERRAL_PATHS[status]:
                    if step != "sent":
                        when += timedelta(hours=rng.randrange(2, 240))
                    actor = creator if step in ("sent", "closed") else partner_ids[org]
                    note = "No capacity in this district." if step == "declined" else ""
                    events.append((rid, previous, step, actor, note, ts(when)))
                    previous = step
                copier.add(
                    "referrals_referral", rid, family_id, orgs[org], rng.choice(services),
                    rng.choices(URGENCIES, cum_weights=URGENCY_CUM)[0], "", status, note,
                    creator, ts(sent_at), ts(when),
                )  # fmt: skip
                for e in events:
                    copier.add("referrals_referralevent", *e)
                event_count += len(events)
    for row in batch_rows.values():
        copier.add(
            "disbursements_payoutbatch", *row, "\\\\x" + header.hex(), hashlib.sha256(header).hexdigest()
        )
    copier.close()
    load_seconds = time.perf_counter() - load_started
    rows = dict(copier.rows)
    total = sum(rows.values())
    say(f"COPY: {total:,} rows in {load_seconds:.1f} s, {total / load_seconds:,.0f} rows/s")
    for table, count in rows.items():
        say(f"  {table:<40} {count:>11,}")

    index_started = time.perf_counter()
    cur = admin.cursor()
    cur.execute("SET maintenance_work_mem = '256MB'")
    for statement in rebuild:
        cur.execute(statement)
    with admin.cursor() as cur:
        for (prefix, year), last in counters.items():
            cur.execute(
                "INSERT INTO families_casenumbercounter (prefix, year, last) VALUES (%s, %s, %s) "
                "ON CONFLICT (prefix, year) DO UPDATE SET last = EXCLUDED.last",
                [prefix, year, last],
            )
        cur.execute("VACUUM ANALYZE")
    index_seconds = time.perf_counter() - index_started
    admin.close()
    say(f"indexes and constraints ({len(rebuild)}) rebuilt, VACUUM ANALYZE: {index_seconds:.1f} s")
    elapsed = time.perf_counter() - started
    say(f"total {elapsed:.1f} s for {scale:,} families: {total / elapsed:,.0f} rows/s end to end")
    del CaseNumberCounter
    return {"env": env, "rows": rows, "seconds": elapsed, "load_seconds": load_seconds, "db": db}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=300_000, help="number of families")
    parser.add_argument(
        "--db", default=DB, help="database to (re)create; its name must start with aidcase_bench"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--referrals-per-family", type=float, default=1.2)
    args = parser.parse_args()
    if not args.db.startswith("aidcase_bench"):
        parser.error("the database name must start with aidcase_bench (it is dropped and created)")
    generate(args.scale, db=args.db, seed=args.seed, referrals_per_family=args.referrals_per_family)


if __name__ == "__main__":
    main()

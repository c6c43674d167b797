"""Demo users and data for the quick start (scripts/demo.sh); adds only what is missing. It lives in aidcase/
(the wiring) because it seeds every app."""

import csv
import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import User, UserAPIKey
from accounts.services import api_key_create, user_create
from families.models import CrossingPoint, DocumentationStatus, DuplicateFlag, Family, Province, ReturnType
from families.names import NAMES_CSV
from families.services import MemberInput, family_register
from referrals.services import referral_create

DEMO_PASSWORD = "aidcase-demo"  # noqa: S105 - a published demo password, printed on purpose
DEMO_URL = "http://127.0.0.1:8000/"
# Two finance users: whoever requests a payment may never approve it.
DEMO_USERS = [
    ("caseworker", "case_worker", None),
    ("finance", "finance", None),
    ("finance2", "finance", None),
    ("coordinator", "coordinator", None),
    ("unhcr", "partner", "UNHCR"),
    ("iom", "partner", "IOM"),
    ("admin", "admin", None),
]
API_KEY_USER = "unhcr"
FAMILIES = 40
# Every REREGISTER_EVERY-th family is an earlier household registered again under another spelling.
REREGISTER_EVERY = 6
# Most returns from Pakistan cross at Torkham and Spin Boldak; the weights make the dashboard look like it.
CROSSING_WEIGHTS = {"TORKHAM": 8, "SPIN_BOLDAK": 5, "GHULAM_KHAN": 2, "ANGOOR_ADDA": 1, "BAHRAMCHA": 1}
ORIGINS = {
    "PK": ["Peshawar", "Karachi", "Quetta", "Islamabad", "Lahore", "Rawalpindi"],
    "IR": ["Tehran", "Mashhad"],
}
SERVICES = ["shelter", "food", "health", "protection", "wash", "transport", "cash"]
REFERRAL_ORGS = ["UNHCR", "UNHCR", "IOM", "IOM", "WFP", "UNICEF", "NRC"]


class Command(BaseCommand):
    help = f"Create the demo users (password '{DEMO_PASSWORD}') and ~{FAMILIES} demo families if missing."

    def handle(self, *args, **options):
        for username, role, org in DEMO_USERS:
            if not User.objects.filter(username__iexact=username).exists():
                user_create(
                    username=username,
                    role=role,
                    organization_code=org,
                    password=DEMO_PASSWORD,
                    check_password_strength=False,
                )
        api_key = _api_key_if_none(User.objects.get(username__iexact=API_KEY_USER))
        if not Family.objects.exists():
            worker = User.objects.get(username__iexact="caseworker")
            _register_families(created_by=worker, rng=random.Random(42))  # same data on every machine
            _refer_families(created_by=worker, rng=random.Random(7))
        self._print_summary(api_key)

    def _print_summary(self, api_key: str | None) -> None:
        users = {u.username.lower(): u for u in User.objects.select_related("organization")}
        rows = [("username", "role", "organization", "password")]
        for username, _role, _org in DEMO_USERS:
            user = users[username]
            org = user.organization.code if user.organization else ""
            rows.append((user.username, user.role, org, DEMO_PASSWORD))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write("\nDemo users:")
        for i, row in enumerate(rows):
            self.stdout.write("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
            if i == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
        if api_key:
            self.stdout.write(f"\nAPI key for {API_KEY_USER} (shown once, keep it): {api_key}")
        else:
            self.stdout.write(
                f"\n{API_KEY_USER} already has an API key; a new one: python manage.py createapikey {API_KEY_USER}"
            )
        open_reviews = DuplicateFlag.objects.filter(status=DuplicateFlag.Status.OPEN).count()
        self.stdout.write(
            f"{Family.objects.count()} families registered, {open_reviews} possible duplicates to review."
        )
        self.stdout.write(f"\nOpen {DEMO_URL}\n")


def _api_key_if_none(user: User) -> str | None:
    """A new plain key for `user` when it has no usable one yet (keys are stored hashed: shown only now)."""
    if UserAPIKey.objects.filter(user=user, revoked=False).exists():
        return None
    return api_key_create(user=user, name="demo")[1]


def _load_names() -> tuple[list[dict], list[dict]]:
    with NAMES_CSV.open(encoding="utf-8") as fh:
        names = list(csv.DictReader(fh))
    return [n for n in names if n["sex"] == "M"], [n for n in names if n["sex"] == "F"]


def _other_spelling(name: dict, rng: random.Random) -> str:
    """The same name as a different clerk might type it: a Latin variant or the Dari script."""
    return rng.choice([v for v in name["variants"].split("|") if v] + [name["arabic_script"]])


def _tazkira(rng: random.Random) -> str:
    return f"{rng.randrange(1390, 1403)}-{rng.randrange(100, 9999):04d}-{rng.randrange(10000, 99999)}"


def _household(
    *, head: MemberInput, head_age: int, size: int, men: list[dict], women: list[dict], rng: random.Random
) -> list[MemberInput]:
    members = [head]
    if head.sex == "M" and size > 1 and head_age >= 20:
        wife = rng.choice(women)
        pregnant = ["pregnant_lactating"] if head_age < 45 and rng.random() < 0.3 else []
        members.append(
            MemberInput(
                given_name=wife["latin"],
                father_name=rng.choice(men)["latin"],
                sex="F",
                relationship="spouse",
                age_years=max(18, head_age - rng.randrange(0, 8)),
                vulnerabilities=pregnant,
            )
        )
    father_name = head.given_name if head.sex == "M" else rng.choice(men)["latin"]
    while len(members) < size:
        child = rng.choice(men + women)
        members.append(
            MemberInput(
                given_name=child["latin"],
                father_name=father_name,
                family_name=head.family_name,
                sex=child["sex"],
                relationship="child",
                age_years=rng.randrange(0, min(18, max(1, head_age - 16))),
                vulnerabilities=["disability"] if rng.random() < 0.05 else [],
            )
        )
    return members


def _register_families(*, created_by: User, rng: random.Random) -> None:
    men, women = _load_names()
    points = {p.code: p for p in CrossingPoint.objects.filter(code__in=CROSSING_WEIGHTS)}
    point_codes = [code for code in CROSSING_WEIGHTS if code in points]
    provinces = list(Province.objects.order_by("code"))
    today = timezone.localdate()
    registered: list[dict] = []  # what a later re-registration of the same household repeats
    for i in range(FAMILIES):
        if i % REREGISTER_EVERY == REREGISTER_EVERY - 1 and registered:
            earlier = rng.choice(registered)
            head_given = _other_spelling(earlier["given"], rng)
            head_father, head_sex, head_age = earlier["father"]["latin"], earlier["sex"], earlier["age"]
            # Half of them show the same Tazkira again, the others only a similar name and age.
            tazkira = earlier["tazkira"] if rng.random() < 0.5 else ""
        else:
            head_sex = "F" if rng.random() < 0.15 else "M"
            given = rng.choice(women if head_sex == "F" else men)
            father = rng.choice(men)
            head_age = rng.randrange(20, 75)
            tazkira = _tazkira(rng) if rng.random() < 0.6 else ""
            registered.append(
                {"given": given, "father": father, "sex": head_sex, "age": head_age, "tazkira": tazkira}
            )
            head_given, head_father = given["latin"], father["latin"]
        head = MemberInput(
            given_name=head_given,
            father_name=head_father,
            family_name=rng.choice(["", "", "Khan", "Ahmadzai", "Safi", "Popal", "Hotak"]),
            sex=head_sex,
            relationship="head",
            age_years=head_age,
            tazkira_number=tazkira,
            vulnerabilities=["chronic_illness"] if rng.random() < 0.08 else [],
        )
        members = _household(
            head=head, head_age=head_age, size=rng.randint(1, 9), men=men, women=women, rng=rng
        )
        point = points[rng.choices(point_codes, weights=[CROSSING_WEIGHTS[c] for c in point_codes])[0]]
        province = rng.choice(provinces)
        family_register(
            created_by=created_by,
            crossing_point=point,
            arrival_date=today - timedelta(days=rng.randrange(30)),
            destination_province=province,
            destination_district=province.capital,
            phone=f"+9370{rng.randrange(1000000, 9999999)}" if rng.random() < 0.75 else "",
            consent_to_share=rng.random() < 0.8,
            members=members,
            origin_location=rng.choice(ORIGINS.get(point.border, [""])),
            documentation_status=rng.choice(DocumentationStatus.values),
            return_type=rng.choice(ReturnType.values),
            vulnerabilities=_household_vulnerabilities(head=head),
        )


def _household_vulnerabilities(*, head: MemberInput) -> list[str]:
    codes = []
    if head.sex == "F":
        codes.append("female_headed")
    if head.age_years is not None and head.age_years >= 60:
        codes.append("elderly_headed")
    return codes


def _refer_families(*, created_by: User, rng: random.Random) -> None:
    """Send some of the consenting families to partners, so partner users and the API have data to show."""
    families = Family.objects.filter(consent_to_share=True, duplicate_of__isnull=True).order_by("case_number")
    for family in families[:20]:
        referral_create(
            family=family,
            organization_code=rng.choice(REFERRAL_ORGS),
            service_code=rng.choice(SERVICES),
            urgency=rng.choice(["low", "medium", "medium", "high", "emergency"]),
            note="Registered at the reception centre; please contact the family.",
            created_by=created_by,
        )

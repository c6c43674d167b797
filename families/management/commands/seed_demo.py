"""Demo users and families for the quick start. Safe to run again: it adds only what is missing."""

import csv
import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import User, UserAPIKey
from accounts.services import api_key_create, user_create
from families.models import CrossingPoint, Family, Province
from families.names import NAMES_CSV
from families.services import MemberInput, family_register

DEMO_PASSWORD = "aidcase-demo"  # noqa: S105 - printed for the demo on purpose
DEMO_USERS = [
    ("caseworker", "case_worker", None),
    ("caseworker2", "case_worker", None),
    ("finance", "finance", None),
    ("finance2", "finance", None),
    ("coordinator", "coordinator", None),
    ("unhcr", "partner", "UNHCR"),
    ("iom", "partner", "IOM"),
    ("admin", "admin", None),
]
FAMILIES = 40


class Command(BaseCommand):
    help = "Create the demo users (password 'aidcase-demo') and demo families, if they do not exist yet."

    def handle(self, *args, **options):
        for username, role, org in DEMO_USERS:
            if not User.objects.filter(username=username).exists():
                user_create(
                    username=username,
                    role=role,
                    organization_code=org,
                    password=DEMO_PASSWORD,
                    check_password_strength=False,
                )
        keys = {}
        for username in ("unhcr", "caseworker"):
            user = User.objects.get(username=username)
            if not UserAPIKey.objects.filter(user=user, revoked=False).exists():
                keys[username] = api_key_create(user=user, name="demo")[1]
        if not Family.objects.exists():
            self._families(User.objects.get(username="caseworker"))
            self._referrals(User.objects.get(username="caseworker"))

        self.stdout.write(f"\nDemo users (password for all: {DEMO_PASSWORD})\n")
        self.stdout.write(f"  {'username':<13}{'role':<13}organization")
        for username, role, org in DEMO_USERS:
            self.stdout.write(f"  {username:<13}{role:<13}{org or ''}")
        for username, key in keys.items():
            self.stdout.write(f"API key for {username} (shown once): {key}")
        self.stdout.write(f"\n{Family.objects.count()} families registered. Open http://127.0.0.1:8000/\n")

    def _referrals(self, worker: User) -> None:
        from referrals.services import referral_create

        rng = random.Random(7)
        services = ["shelter", "food", "health", "protection", "wash", "transport"]
        for family in Family.objects.filter(consent_to_share=True, duplicate_of__isnull=True).order_by(
            "case_number"
        )[:25]:
            referral_create(
                family=family,
                organization_code=rng.choice(["UNHCR", "UNHCR", "IOM", "WFP", "UNICEF", "NRC"]),
                service_code=rng.choice(services),
                urgency=rng.choice(["low", "medium", "high", "emergency"]),
                note="Registered at the reception centre; please contact the family.",
                created_by=worker,
            )

    def _families(self, worker: User) -> None:
        rng = random.Random(42)  # the same demo data on every machine
        with NAMES_CSV.open(encoding="utf-8") as fh:
            names = list(csv.DictReader(fh))
        men = [n for n in names if n["sex"] == "M"]
        women = [n for n in names if n["sex"] == "F"]
        points = list(CrossingPoint.objects.filter(border="PK"))
        provinces = list(Province.objects.all())
        today = timezone.localdate()
        heads = []
        for i in range(FAMILIES):
            if i % 8 == 7 and heads:
                # A returning family registered again under another spelling: the review queue has work.
                given, father, age = heads[rng.randrange(len(heads))]
                variants = [v for v in given["variants"].split("|") if v] or [given["arabic_script"]]
                given_name = rng.choice(variants)
            else:
                given, father, age = rng.choice(men), rng.choice(men), rng.randrange(22, 70)
                given_name = given["latin"]
                heads.append((given, father, age))
            arrival = today - timedelta(days=rng.randrange(30))
            members = [
                MemberInput(
                    given_name=given_name,
                    father_name=father["latin"],
                    sex="M",
                    relationship="head",
                    age_years=age,
                    tazkira_number=f"1400-{rng.randrange(1000, 9999)}-{rng.randrange(10000, 99999)}"
                    if rng.random() < 0.5
                    else "",
                )
            ]
            for _ in range(rng.randrange(0, 8)):
                child = rng.choice(men + women)
                members.append(
                    MemberInput(
                        given_name=child["latin"],
                        father_name=given_name,
                        sex=child["sex"],
                        relationship="child",
                        age_years=rng.randrange(0, 18),
                    )
                )
            family_register(
                created_by=worker,
                crossing_point=rng.choice(points),
                arrival_date=arrival,
                destination_province=rng.choice(provinces),
                destination_district="",
                phone=f"+9370{rng.randrange(1000000, 9999999)}" if rng.random() < 0.7 else "",
                consent_to_share=rng.random() < 0.85,
                members=members,
                vulnerabilities=["female_headed"] if rng.random() < 0.1 else [],
            )

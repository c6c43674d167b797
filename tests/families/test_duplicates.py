import csv
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import AuditEvent
from families.models import DuplicateFlag, Family
from tests.conftest import registration_body

pytestmark = pytest.mark.django_db
NAMES = [
    r
    for r in csv.DictReader(
        (Path(__file__).resolve().parents[2] / "families/data/names.csv").open(encoding="utf-8")
    )
    if r["variants"]
]


def _post(client, given, father, **member):
    head = {
        **registration_body()["members"][0],
        "given_name": given,
        "father_name": father,
        "tazkira_number": "",
        **member,
    }
    body = registration_body(phone="", members=[head])
    response = client.post("/api/v1/families/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.parametrize("row", NAMES[:20], ids=[r["latin"] for r in NAMES[:20]])
def test_variant_and_arabic_spellings_are_reported_as_duplicates(make_user, api_client, row):
    client = api_client(make_user("case_worker"))
    first = _post(client, row["latin"], "Karim")
    for spelling in [
        row["variants"].split("|")[0],
        row["arabic_script"],
        row["arabic_script"].replace("ی", "ي").replace("ک", "ك"),
    ]:
        body = _post(client, spelling, "Kareem")
        matches = {m["case_number"]: m for m in body["possible_duplicates"]}
        assert first["case_number"] in matches, spelling
        match = matches[first["case_number"]]
        assert match["score"] >= settings.DUPLICATE_SCORE_THRESHOLD
        assert match["id"] == first["id"]
        assert any("name" in reason for reason in match["reasons"])


def test_same_tazkira_in_persian_digits_scores_100(make_user, api_client):
    client = api_client(make_user("case_worker"))
    first = _post(client, "Rahim", "Nasir", tazkira_number="1400-0101-12345")
    second = _post(client, "Karim", "Omar", tazkira_number="۱۴۰۰ ۰۱۰۱ ۱۲۳۴۵")
    assert second["possible_duplicates"][0]["case_number"] == first["case_number"]
    assert second["possible_duplicates"][0]["score"] == 100
    assert "same Tazkira number" in second["possible_duplicates"][0]["reasons"]


def test_same_phone_is_reported(make_user, api_client):
    client = api_client(make_user("case_worker"))
    first = client.post("/api/v1/families/", registration_body(), format="json").json()
    other_head = {
        **registration_body()["members"][0],
        "given_name": "Zainab",
        "father_name": "Omar",
        "tazkira_number": "",
    }
    body = client.post(
        "/api/v1/families/", registration_body(members=[other_head], phone="0700123456"), format="json"
    ).json()
    match = next(m for m in body["possible_duplicates"] if m["id"] == first["id"])
    assert "same phone number" in match["reasons"]


def test_different_people_are_not_reported(make_user, api_client):
    client = api_client(make_user("case_worker"))
    _post(client, "Mohammad", "Karim")
    assert _post(client, "Fatima", "Hassan")["possible_duplicates"] == []
    assert _post(client, "Mohammad", "Zahir")["possible_duplicates"] == []


def test_birth_years_far_apart_lower_the_score(register_family):
    register_family(given="Ahmad", father="Wali", birth=date(1960, 1, 1))
    close = register_family(given="Ahmed", father="Walee", birth=date(1960, 6, 1))
    far = register_family(given="Ahmed", father="Walee", birth=date(2001, 6, 1))
    close_score = max(m.score for m in close.possible_duplicates)
    far_scores = [m.score for m in far.possible_duplicates if m.family.head_birth_year == 1960]
    assert close_score >= 95
    assert far_scores == []  # 41 years apart: not the same man


def test_flags_are_stored_for_review_and_the_audit_names_them(register_family):
    first = register_family(given="Gul", father="Ahmad")
    second = register_family(given="گل", father="احمد")
    flag = DuplicateFlag.objects.get(family=second)
    assert flag.candidate == first and flag.status == "open" and flag.score >= 85
    event = AuditEvent.objects.get(action="family.created", target_id=str(second.pk))
    assert event.data["possible_duplicates"] == [first.case_number]


def test_merged_family_keeps_records_and_history(register_family, make_user):
    from families.services import duplicate_flag_resolve

    first = register_family(given="Gul", father="Ahmad")
    second = register_family(given="Gol", father="Ahmed")
    reviewer = make_user("case_worker")
    duplicate_flag_resolve(
        flag=DuplicateFlag.objects.get(family=second), decision="merged", resolved_by=reviewer
    )
    second.refresh_from_db()
    assert second.duplicate_of == first and second.status == Family.Status.MERGED
    assert second.members.count() == 1
    assert AuditEvent.objects.filter(
        action="family.merged", target_id=str(second.pk), actor=reviewer
    ).exists()
    assert AuditEvent.objects.filter(action="family.created", target_id=str(second.pk)).exists()

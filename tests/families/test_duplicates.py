import csv
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import AuditEvent
from families.models import DuplicateFlag, Family
from families.services import MemberInput
from tests.conftest import registration_body
from tests.factories import FamilyFactory, MemberInputFactory, UserFactory

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


# Through the API for a sample of names; every row of names.csv is checked through the service below.
@pytest.mark.parametrize("row", NAMES[::8], ids=[r["latin"] for r in NAMES[::8]])
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


ALL_NAMES = list(
    csv.DictReader((Path(__file__).resolve().parents[2] / "families/data/names.csv").open(encoding="utf-8"))
)


def _spellings(row: dict) -> list[str]:
    """Every other way to type the name: listed variants, Perso-Arabic script, and the same with ي/ك."""
    arabic_codepoints = row["arabic_script"].replace("ی", "ي").replace("ک", "ك")
    return [v for v in row["variants"].split("|") if v] + [row["arabic_script"], arabic_codepoints]


def _head(given: str, father: str, **extra) -> list[MemberInput]:
    return [MemberInputFactory(given_name=given, father_name=father, **extra)]


@pytest.mark.parametrize("row", ALL_NAMES, ids=[r["latin"] for r in ALL_NAMES])
def test_every_spelling_in_names_csv_finds_the_first_registration(row):
    worker = UserFactory()
    first = FamilyFactory(created_by=worker, members=_head(row["latin"], "Ahmad"))
    for spelling in _spellings(row):
        family = FamilyFactory(created_by=worker, members=_head(spelling, "Ahmad"))
        match = next((m for m in family.possible_duplicates if m.family == first), None)
        assert match is not None, spelling
        assert match.score >= settings.DUPLICATE_SCORE_THRESHOLD, (spelling, match.score)
        assert match.reasons, spelling
    flags = DuplicateFlag.objects.filter(candidate=first)
    assert flags.count() == len(_spellings(row))
    assert all(f.status == "open" and f.score >= settings.DUPLICATE_SCORE_THRESHOLD for f in flags)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Gul", "Gol"),
        ("Abdul Rahman", "Abd-ul-Rahman"),
        ("Abdul Rahman", "Abdulrahman"),
        ("Abd-ul-Rahman", "عبدالرحمن"),
        ("Mohammad", "Muhammed"),
        ("Mohammad", "محمد"),
    ],
)
def test_known_transliterations_through_the_api(make_user, api_client, first, second):
    client = api_client(make_user("case_worker"))
    registered = _post(client, first, "Ahmad")
    match = next(
        m for m in _post(client, second, "Ahmed")["possible_duplicates"] if m["id"] == registered["id"]
    )
    assert match["case_number"] == registered["case_number"]
    assert match["score"] >= settings.DUPLICATE_SCORE_THRESHOLD
    assert any(r.startswith("head's name and father's name similar") for r in match["reasons"])


@pytest.mark.parametrize("typed", ["1400 0101 12345", "1400/0101/12345", "14000101-12345", "١٤٠٠-٠١٠١-١٢٣٤٥"])
def test_tazkira_separators_and_digits_do_not_matter(typed):
    first = FamilyFactory(members=_head("Rahim", "Nasir", tazkira_number="1400-0101-12345"))
    second = FamilyFactory(members=_head("Zainab", "Omar", tazkira_number=typed))
    [match] = second.possible_duplicates
    assert (match.family, match.score, match.reasons) == (first, 100, ["same Tazkira number"])
    assert DuplicateFlag.objects.get(family=second).score == 100


def test_phone_and_document_matches_are_reported_whatever_the_threshold(settings):
    settings.DUPLICATE_SCORE_THRESHOLD = 101  # no name match can reach it
    first = FamilyFactory(phone="+93700123456", members=_head("Gul", "Ahmad", tazkira_number="1400-1"))
    by_name = FamilyFactory(members=_head("Gol", "Ahmed"))
    by_phone = FamilyFactory(phone="0700 123 456", members=_head("Zainab", "Omar"))
    by_tazkira = FamilyFactory(members=_head("Karim", "Wali", tazkira_number="14001"))
    assert by_name.possible_duplicates == []
    assert [(m.family, m.score) for m in by_phone.possible_duplicates] == [(first, 70)]
    assert [(m.family, m.score) for m in by_tazkira.possible_duplicates] == [(first, 100)]


def test_same_name_and_same_phone_scores_higher_than_the_name_alone():
    FamilyFactory(phone="+93700123456", members=_head("Karim", "Nasir", date_of_birth=date(1970, 1, 1)))
    name_only = FamilyFactory(members=_head("Kareem", "Naseer", date_of_birth=date(1973, 1, 1)))
    both = FamilyFactory(
        phone="+93700123456", members=_head("Kareem", "Naseer", date_of_birth=date(1973, 1, 1))
    )
    name_score = name_only.possible_duplicates[0].score
    both_match = next(m for m in both.possible_duplicates if m.family.phone == "+93700123456")
    assert both_match.score > name_score
    assert "same phone number" in both_match.reasons


def test_merging_into_a_merged_family_follows_it_to_the_kept_one():
    from families.services import duplicate_flag_resolve

    reviewer = UserFactory()
    kept = FamilyFactory(members=_head("Gul", "Ahmad"))
    second = FamilyFactory(members=_head("Gol", "Ahmed"))
    third = FamilyFactory(members=_head("گل", "احمد"))
    assert set(DuplicateFlag.objects.filter(family=third).values_list("candidate", flat=True)) == {
        kept.pk,
        second.pk,
    }
    duplicate_flag_resolve(
        flag=DuplicateFlag.objects.get(family=second), decision="merged", resolved_by=reviewer
    )
    duplicate_flag_resolve(
        flag=DuplicateFlag.objects.get(family=third, candidate=second),
        decision="merged",
        resolved_by=reviewer,
    )
    third.refresh_from_db()
    assert third.duplicate_of == kept  # never a chain: merged records point at the one that is kept
    # Its other flag says the same thing: closing it as merged agrees and changes nothing else.
    last = duplicate_flag_resolve(
        flag=DuplicateFlag.objects.get(family=third, candidate=kept), decision="merged", resolved_by=reviewer
    )
    assert last.status == "merged"
    assert not DuplicateFlag.objects.filter(status="open").exists()
    assert AuditEvent.objects.filter(action="family.merged", target_id=str(third.pk)).count() == 1


def test_merging_a_family_already_merged_elsewhere_is_a_conflict():
    from aidcase.core.exceptions import Conflict
    from families.services import duplicate_flag_resolve

    reviewer = UserFactory()
    first = FamilyFactory(members=_head("Gul", "Ahmad"))
    second = FamilyFactory(members=_head("Gol", "Ahmed"))
    third = FamilyFactory(members=_head("گل", "احمد"))
    duplicate_flag_resolve(
        flag=DuplicateFlag.objects.get(family=third, candidate=first), decision="merged", resolved_by=reviewer
    )
    other = DuplicateFlag.objects.get(family=third, candidate=second)
    with pytest.raises(Conflict, match="already merged into another family"):
        duplicate_flag_resolve(flag=other, decision="merged", resolved_by=reviewer)
    other.refresh_from_db()
    assert other.status == "open"
    third.refresh_from_db()
    assert third.duplicate_of == first

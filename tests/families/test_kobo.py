"""KoBoToolbox/ODK intake: recorded exports and a local server that speaks the KoBo API; nothing outside."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from families.kobo import KoboUnavailable, export_take, form_pull
from families.models import DuplicateFlag, Family, KoboForm, KoboSubmission
from families.tasks import kobo_pull_task

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "kobo"
EXPORT = (FIXTURES / "returnees_export.xlsx").read_bytes()
UUID = "a1b2c3d4-{:04d}-4000-8000-{:012d}"
TOKEN = "recorded-token-0123456789"


@pytest.fixture
def kobo_form(make_user):
    return KoboForm.objects.create(
        asset_uid="aX7kP2returnees",
        name="Returnee registration",
        members_group="group_members",
        household_fields={
            "crossing_point": "border_point", "arrival_date": "arrival", "destination_province": "dest_province",
            "destination_district": "dest_district", "phone": "phone", "consent_to_share": "consent",
        },
        member_fields={
            "given_name": "m_name", "father_name": "m_father", "sex": "m_sex", "relationship": "m_rel",
            "age_years": "m_age", "tazkira_number": "m_tazkira", "vulnerabilities": "m_vuln",
        },
        value_maps={"crossing_point": {"torkham": "TORKHAM", "spin_boldak": "SPIN_BOLDAK"}},
        import_as=make_user("case_worker", username="kobo-intake"),
    )  # fmt: skip


def _submission(n):
    return KoboSubmission.objects.get(uuid=UUID.format(n, n))


def test_export_registers_approved_submissions_with_their_members(kobo_form):
    counts = export_take(form=kobo_form, content=EXPORT)
    assert counts == {"registered": 2, "rejected": 1, "not_approved": 1}

    shir = _submission(1).family
    assert shir.head_name == "Shir Ahmad" and shir.household_size == 2 and shir.phone == "+93700111222"
    assert shir.crossing_point.code == "TORKHAM" and shir.destination_district == "Behsud"
    assert shir.consent_to_share is True and shir.created_by.username == "kobo-intake"
    assert sorted(shir.vulnerabilities) == ["chronic_illness", "disability"]
    assert shir.members.get(relationship="head").tazkira_key == "1399020277701"
    gul = _submission(2).family
    assert gul.head_name == "گل زلمی" and gul.crossing_point.code == "SPIN_BOLDAK"
    assert gul.members.get(relationship="head").age_years == 35 and gul.consent_to_share is False
    rejected = _submission(4)
    assert rejected.status == "rejected" and rejected.family is None
    assert rejected.errors[0].startswith("crossing_point: Unknown crossing point 'NOWHERE'")
    assert not KoboSubmission.objects.filter(uuid=UUID.format(3, 3)).exists()  # "On Hold": not taken
    assert Family.objects.count() == 2


def test_each_submission_is_taken_once_however_often_it_comes(kobo_form):
    export_take(form=kobo_form, content=EXPORT)
    again = export_take(form=kobo_form, content=EXPORT)
    # the two registered are skipped; the rejected one is tried again (it may have been corrected)
    assert again == {"taken_before": 2, "rejected": 1, "not_approved": 1}
    assert Family.objects.count() == 2 and KoboSubmission.objects.count() == 3
    assert not DuplicateFlag.objects.exists()


def test_all_submissions_when_approval_is_not_required(kobo_form):
    kobo_form.approved_only = False
    kobo_form.save()
    counts = export_take(form=kobo_form, content=EXPORT)
    assert counts == {"registered": 3, "rejected": 1}
    assert _submission(3).family.head_name == "Karim Rahim"


def test_a_file_that_is_not_a_kobo_export_is_refused(kobo_form):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["name", "age"])
    book.active.append(["Gul", 3])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(Exception, match="not a KoBo/ODK XLSX export"):
        export_take(form=kobo_form, content=buffer.getvalue())
    assert not KoboSubmission.objects.exists()


# --- the API ----------------------------------------------------------------------------------------


class _KoboServer(BaseHTTPRequestHandler):
    pages: dict = {}
    requests: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        if self.headers.get("Authorization") != f"Token {TOKEN}":
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"detail": "Invalid token."}')
            return
        page = "api_page2.json" if "start=2" in self.path else "api_page1.json"
        if not self.path.startswith("/api/v2/assets/aX7kP2returnees/data/"):
            self.send_response(404)
            self.end_headers()
            return
        server = f"http://127.0.0.1:{self.server.server_address[1]}"
        body = (FIXTURES / page).read_text(encoding="utf-8").replace("{server}", server).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def kobo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KoboServer)
    _KoboServer.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_api_pull_follows_pages_and_takes_each_approved_submission_once(kobo_form, kobo_server):
    kobo_form.server_url, kobo_form.api_token = kobo_server, TOKEN
    kobo_form.save()
    assert form_pull(form=kobo_form) == {"registered": 2, "not_approved": 1}
    assert len(_KoboServer.requests) == 2 and "limit=1000" in _KoboServer.requests[0]
    assert _submission(1).family.head_name == "Shir Ahmad"
    assert _submission(2).family.members.count() == 2
    # the scheduled task pulls again: nothing new
    assert kobo_pull_task.delay().get() == {"aX7kP2returnees": {"taken_before": 2, "not_approved": 1}}
    assert Family.objects.count() == 2
    kobo_form.refresh_from_db()
    assert kobo_form.last_pulled_at is not None and kobo_form.last_pull_error == ""


def test_the_same_submission_through_export_and_api_is_registered_once(kobo_form, kobo_server):
    export_take(form=kobo_form, content=EXPORT)
    kobo_form.server_url, kobo_form.api_token = kobo_server, TOKEN
    kobo_form.save()
    assert form_pull(form=kobo_form) == {"taken_before": 2, "not_approved": 1}
    assert Family.objects.count() == 2


def test_a_refused_or_unreachable_server_is_recorded_and_changes_nothing(kobo_form, kobo_server):
    kobo_form.server_url, kobo_form.api_token = kobo_server, "wrong-token"
    kobo_form.save()
    with pytest.raises(KoboUnavailable, match="HTTP 401"):
        form_pull(form=kobo_form)
    kobo_form.refresh_from_db()
    assert "HTTP 401" in kobo_form.last_pull_error
    kobo_form.server_url = "http://127.0.0.1:1"
    kobo_form.save()
    result = kobo_pull_task.delay().get()
    assert "error" in result["aX7kP2returnees"]
    assert not Family.objects.exists() and not KoboSubmission.objects.exists()


def test_commands(kobo_form, kobo_server, tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(EXPORT)
    out = io.StringIO()
    call_command("importkobo", str(path), "--form", "aX7kP2returnees", stdout=out)
    assert out.getvalue().strip() == "not_approved 1, registered 2, rejected 1"
    with pytest.raises(CommandError, match="No KoBo form 'nope'"):
        call_command("importkobo", str(path), "--form", "nope")
    kobo_form.server_url, kobo_form.api_token = kobo_server, TOKEN
    kobo_form.save()
    out = io.StringIO()
    call_command("pullkobo", stdout=out)
    assert out.getvalue().strip() == "aX7kP2returnees: not_approved 1, taken_before 2"
    kobo_form.api_token = "wrong"
    kobo_form.save()
    with pytest.raises(CommandError, match="Some forms could not be pulled"):
        call_command("pullkobo", stderr=io.StringIO())


def test_recorded_api_fixture_is_what_the_mapping_expects():
    page = json.loads((FIXTURES / "api_page1.json").read_text(encoding="utf-8"))
    first = page["results"][0]
    assert first["_validation_status"]["uid"] == "validation_status_approved"
    assert first["group_members"][0]["group_members/m_name"] == "Shir"


def test_admin_keeps_the_stored_token_when_left_empty_and_never_shows_it(kobo_form, client, make_user):
    kobo_form.api_token = TOKEN
    kobo_form.save()
    client.force_login(make_user("admin"))
    url = f"/admin/families/koboform/{kobo_form.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and TOKEN not in page.content.decode()
    data = {
        "asset_uid": kobo_form.asset_uid, "name": "Renamed", "server_url": "kf.example.org", "api_token": "",
        "members_group": "group_members", "household_fields": json.dumps(kobo_form.household_fields),
        "member_fields": json.dumps(kobo_form.member_fields), "value_maps": "{}", "approved_only": "on",
        "import_as": kobo_form.import_as_id, "is_active": "on",
    }  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    kobo_form.refresh_from_db()
    assert (kobo_form.name, kobo_form.api_token, kobo_form.server_url) == (
        "Renamed",
        TOKEN,
        "https://kf.example.org",
    )


def test_export_uploaded_on_the_import_page(kobo_form, client, make_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(make_user("case_worker"))
    page = client.get("/families/import/")
    assert "KoBo/ODK form export" in page.content.decode()
    response = client.post(
        "/families/import/kobo/",
        {"kobo_form": kobo_form.pk, "file": SimpleUploadedFile("returnees.xlsx", EXPORT)},
        follow=True,
    )
    assert response.status_code == 200
    assert (
        "2 submissions registered, 1 with errors (see the form&#x27;s submissions), 0 taken before, 1 not"
        in (response.content.decode())
    )
    assert Family.objects.count() == 2
    bad = client.post(
        "/families/import/kobo/", {"kobo_form": kobo_form.pk, "file": SimpleUploadedFile("r.csv", b"a,b")}
    )
    assert bad.status_code == 400 and bad.context["kobo_form"].errors["file"] == [
        "Upload the .xlsx export of the form."
    ]

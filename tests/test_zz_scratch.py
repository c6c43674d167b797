import json
from datetime import date
import pytest
from families.models import DuplicateFlag, Family, Province
from families.services import duplicate_flag_resolve, family_update, normalize_phone
from accounts.models import AuditEvent
pytestmark = pytest.mark.django_db

def test_probe(make_user, api_client, register_family, capsys):
    w = make_user("case_worker")
    c = api_client(w)
    t = register_family(given="Mohammad", father="Hussain", phone="+93700111222", tazkira="1401-5555-12345")
    with capsys.disabled():
        for q in ["۰۷۰۰۱۱۱۲۲۲", "٠٧٠٠١١١٢٢٢", " ", "۱۴۰۱/۵۵۵۵/۱۲۳۴۵", t.case_number.lower(), "mohammad", "MUHAMMAD", "حسین", "Hussein"]:
            r = c.get("/api/v1/families/", {"search": q})
            print(repr(q), r.status_code, [f["case_number"] for f in r.json()["results"]])
        for tz in ["1401/5555/12345", "1401.5555.12345", "١٤٠١-٥٥٥٥-١٢٣٤٥", "14015555 12345"]:
            f = register_family(given="Zainab", father="Omar", tazkira=tz)
            print(tz, [(m.family.case_number, m.score, m.reasons) for m in f.possible_duplicates])
        print(normalize_phone("٠٧٠٠١٢٣٤٥٦"), normalize_phone("۰۷۰۰۱۲۳۴۵۶"))
        a = register_family(given="Gul", father="Ahmad")
        b = register_family(given="Gol", father="Ahmed")
        cc = register_family(given="گل", father="احمد")
        print([(str(f.family.case_number), f.candidate.case_number) for f in DuplicateFlag.objects.all()])
        duplicate_flag_resolve(flag=DuplicateFlag.objects.get(family=b), decision="merged", resolved_by=w)
        fl = DuplicateFlag.objects.get(family=cc, candidate=b)
        duplicate_flag_resolve(flag=fl, decision="merged", resolved_by=w)
        cc.refresh_from_db(); print("root", cc.duplicate_of.case_number, a.case_number)
        fl2 = DuplicateFlag.objects.get(family=cc, candidate=a)
        try:
            duplicate_flag_resolve(flag=fl2, decision="merged", resolved_by=w)
        except Exception as e: print("E", type(e), e)
        r = c.get("/api/v1/duplicates/", {"status": "bogus"}); print(r.status_code, r.json())
        r = c.get("/api/v1/duplicates/", {"status": "merged"}); print(r.status_code, len(r.json()["results"]))
        family_update(family=a, changed_by=w, destination_province=Province.objects.get(code="AF-KAB"))
        print(AuditEvent.objects.filter(action="family.changed").first().data)
        old = register_family(given="Karim", father="Nasir", birth=None, members=None)

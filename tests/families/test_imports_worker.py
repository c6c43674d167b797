"""A household list imported by a real Celery worker, against the real Redis and PostgreSQL."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from families.models import Family, FamilyImport
from tests.celery_worker import celery_worker, wait_for  # noqa: F401 - fixture
from tests.families.test_imports import GOOD, _csv

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_large_list_is_imported_by_the_worker_and_a_redelivery_registers_nothing_twice(
    celery_worker,  # noqa: F811
    client,
    make_user,
    settings,
):
    settings.FAMILY_IMPORT_INLINE_BYTES = 10
    client.force_login(make_user("case_worker"))
    response = client.post("/families/import/", {"file": SimpleUploadedFile("big.csv", _csv(GOOD))})
    assert response.status_code == 302
    upload = wait_for(lambda: FamilyImport.objects.filter(status__in=["done", "failed"]).first())
    assert upload.status == "done", upload.error
    assert upload.summary["registered"] == 2 and Family.objects.count() == 2

    # The broker redelivers the task (as after a worker crash): the import resumes and finds all done.
    from families.imports import family_import_run

    FamilyImport.objects.filter(pk=upload.pk).update(status="running")
    again = family_import_run(upload_id=upload.pk, resume=True)
    assert again.summary["registered"] == 0 and again.summary["already_imported"] == 2
    assert Family.objects.count() == 2

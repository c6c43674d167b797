"""The project's URLs plus two views that crash with personal data in the exception (tests only)."""

from django.urls import path

from aidcase.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401

SECRET_TAZKIRA = "1400-7777-31337"
SECRET_PHONE = "+93799313370"


def crash(request):
    raise ValueError(f"could not match tazkira {SECRET_TAZKIRA} and phone {SECRET_PHONE}")


urlpatterns = [path("api/v1/test-crash/", crash), path("test-crash/", crash), *urlpatterns]

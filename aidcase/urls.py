from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from aidcase.core.health import healthz
from reports.views import home

api_v1 = [
    path("", include("families.urls")),
    path("", include("disbursements.urls")),
    path("", include("referrals.urls")),
    path("", include("reports.urls")),
    path("", include("grievances.urls")),
    path("", include("privacy.urls")),
]

# Never a traceback; 503 with Retry-After while the database is unreachable (aidcase/core/errors.py).
handler500 = "aidcase.core.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),
    path("", home, name="home"),
    path("", include("families.web_urls")),
    path("", include("disbursements.web_urls")),
    path("", include("referrals.web_urls")),
    path("", include("reports.web_urls")),
    path("", include("grievances.web_urls")),
    path("", include("privacy.web_urls")),
]

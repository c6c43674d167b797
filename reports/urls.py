from django.urls import path

from reports import apis

urlpatterns = [
    path("reports/summary/", apis.ReportSummaryApi.as_view(), name="api-report-summary"),
]

from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.dashboard, name="report-dashboard"),
    path("reports/produce/", views.report_produce, name="report-produce"),
    path("reports/<uuid:report_id>.<str:fmt>", views.report_download, name="report-download"),
]

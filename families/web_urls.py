from django.urls import path

from families import views

urlpatterns = [
    path("families/", views.family_search, name="family-search"),
    path("families/register/", views.family_register_view, name="family-register"),
    path("families/register/offline/", views.family_register_offline, name="family-register-offline"),
    path(
        "families/register/offline/sw.js", views.family_register_offline_sw, name="family-register-offline-sw"
    ),
    path("families/<uuid:family_id>/", views.family_detail, name="family-detail"),
    path("families/<uuid:family_id>/edit/", views.family_edit, name="family-edit"),
    path("families/import/", views.family_import_view, name="family-import"),
    path("families/import/kobo/", views.kobo_export_import, name="kobo-export-import"),
    path("families/import/template.csv", views.family_import_template, name="family-import-template"),
    path("families/import/<uuid:import_id>/", views.family_import_detail, name="family-import-detail"),
    path(
        "families/import/<uuid:import_id>/report.csv", views.family_import_report, name="family-import-report"
    ),
    path("families/import/<uuid:import_id>/apply/", views.family_import_apply, name="family-import-apply"),
    path("duplicates/", views.duplicate_queue, name="duplicate-queue"),
    path("duplicates/<uuid:flag_id>/resolve/", views.duplicate_resolve, name="duplicate-resolve"),
]

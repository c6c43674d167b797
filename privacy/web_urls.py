from django.urls import path

from privacy import views

urlpatterns = [
    path(
        "families/<uuid:family_id>/export.<str:export_format>", views.family_export_view, name="family-export"
    ),
    path(
        "families/<uuid:family_id>/consent/withdraw/",
        views.family_consent_withdraw_view,
        name="family-consent-withdraw",
    ),
    path("families/<uuid:family_id>/close/", views.family_case_close_view, name="family-case-close"),
]

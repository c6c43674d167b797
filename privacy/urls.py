from django.urls import path

from privacy import apis

urlpatterns = [
    path(
        "families/<uuid:family_id>/consent/withdraw/",
        apis.FamilyConsentWithdrawApi.as_view(),
        name="api-family-consent-withdraw",
    ),
    path("families/<uuid:family_id>/export/", apis.FamilyExportApi.as_view(), name="api-family-export"),
    path("families/<uuid:family_id>/close/", apis.FamilyCaseCloseApi.as_view(), name="api-family-close"),
]

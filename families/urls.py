from django.urls import path

from families import apis

urlpatterns = [
    path("families/", apis.FamilyListCreateApi.as_view(), name="api-families"),
    path("families/<uuid:family_id>/", apis.FamilyDetailApi.as_view(), name="api-family-detail"),
    path("duplicates/", apis.DuplicateFlagListApi.as_view(), name="api-duplicates"),
    path(
        "duplicates/<uuid:flag_id>/resolve/",
        apis.DuplicateFlagResolveApi.as_view(),
        name="api-duplicate-resolve",
    ),
]

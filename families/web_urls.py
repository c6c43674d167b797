from django.urls import path

from families import views

urlpatterns = [
    path("families/", views.family_search, name="family-search"),
    path("families/register/", views.family_register_view, name="family-register"),
    path("families/<uuid:family_id>/", views.family_detail, name="family-detail"),
    path("families/<uuid:family_id>/edit/", views.family_edit, name="family-edit"),
    path("duplicates/", views.duplicate_queue, name="duplicate-queue"),
    path("duplicates/<uuid:flag_id>/resolve/", views.duplicate_resolve, name="duplicate-resolve"),
]

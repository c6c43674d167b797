from django.urls import path

from referrals import views

urlpatterns = [
    path("referrals/", views.referral_overview, name="referral-overview"),
    path("families/<uuid:family_id>/refer/", views.referral_create_view, name="referral-create"),
    path("referrals/<uuid:referral_id>/close/", views.referral_close_view, name="referral-close"),
]

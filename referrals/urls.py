from django.urls import path

from referrals import apis

urlpatterns = [
    path(
        "families/<uuid:family_id>/referrals/", apis.ReferralCreateApi.as_view(), name="api-family-referrals"
    ),
    path("referrals/", apis.ReferralListApi.as_view(), name="api-referrals"),
    path("referrals/<uuid:referral_id>/", apis.ReferralDetailApi.as_view(), name="api-referral-detail"),
    path(
        "referrals/<uuid:referral_id>/status/", apis.ReferralStatusApi.as_view(), name="api-referral-status"
    ),
    path("webhooks/", apis.WebhookListCreateApi.as_view(), name="api-webhooks"),
    path("webhooks/deliveries/", apis.WebhookDeliveryListApi.as_view(), name="api-webhook-deliveries"),
    path("webhooks/<uuid:endpoint_id>/", apis.WebhookDeleteApi.as_view(), name="api-webhook-detail"),
]

import logging

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from redis.exceptions import RedisError
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.models import Role, UserAPIKey
from accounts.permissions import HasRole
from aidcase.core.pagination import CursorPagination
from aidcase.core.replica import replica_reads
from families.selectors import family_list
from referrals.models import Referral, Urgency, WebhookDelivery
from referrals.selectors import (
    STAFF_READERS,
    partner_reads_record,
    referral_list,
    webhook_delivery_list,
    webhook_endpoint_list,
)
from referrals.serializers import PartnerReferralSerializer, StaffReferralSerializer
from referrals.services import (
    referral_create,
    referral_transition,
    webhook_endpoint_create,
    webhook_endpoint_deactivate,
)

logger = logging.getLogger(__name__)
CanReadReferrals = HasRole.of(Role.PARTNER, *STAFF_READERS)
CanRefer = HasRole.of(Role.CASE_WORKER, Role.ADMIN)
IsPartner = HasRole.of(Role.PARTNER)
IsPartnerOrAdmin = HasRole.of(Role.PARTNER, Role.ADMIN)

PARTNER_REFERRAL_EXAMPLE = {
    "id": "6f1c2a7e-3b4d-4e5f-9a8b-7c6d5e4f3a2b",
    "organization": "UNHCR",
    "status": "sent",
    "service": "shelter",
    "urgency": "high",
    "note": "Family of six sleeping in the open at the transit centre.",
    "status_note": "",
    "created_at": "2026-11-20T09:12:44+04:30",
    "updated_at": "2026-11-20T09:12:44+04:30",
    "family": {
        "case_number": "TKM-2026-000123",
        "head_name": "Gul Ahmad",
        "household_size": 6,
        "phone": "+93700123456",
        "destination_province": "AF-NAN",
        "destination_district": "Jalalabad",
        "vulnerabilities": ["female_headed"],
    },
}


class PartnerKeyThrottle(SimpleRateThrottle):
    """Partner calls are rate-limited per API key (per user for session use); 429 with Retry-After."""

    scope = "partner"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except RedisError as exc:  # the counters live in Redis: while it is down, serve partners unthrottled
            logger.warning("partner throttle skipped, cache unavailable: %s", exc)
            return True

    def get_cache_key(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.role == Role.PARTNER):
            return None
        ident = request.auth.prefix if isinstance(request.auth, UserAPIKey) else f"user-{user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _serializer_for(user):
    return PartnerReferralSerializer if user.role == Role.PARTNER else StaffReferralSerializer


class ReferralCreateApi(APIView):
    permission_classes = [CanRefer]

    class InputSerializer(serializers.Serializer):
        organization = serializers.CharField(max_length=32)
        service = serializers.CharField(max_length=32)
        urgency = serializers.ChoiceField(choices=Urgency.choices, required=False, default=Urgency.MEDIUM)
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="families_referrals_create",
        request=InputSerializer,
        responses={
            201: StaffReferralSerializer,
            409: OpenApiResponse(description="The family has not agreed to share its data with partners."),
        },
        examples=[
            OpenApiExample(
                "Shelter referral",
                value={
                    "organization": "UNHCR",
                    "service": "shelter",
                    "urgency": "high",
                    "note": "Family of six.",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, family_id) -> Response:
        family = get_object_or_404(family_list(actor=request.user), pk=family_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        referral = referral_create(
            family=family,
            organization_code=data["organization"],
            service_code=data["service"],
            urgency=data["urgency"],
            note=data["note"],
            created_by=request.user,
        )
        return Response(StaffReferralSerializer(referral).data, status=status.HTTP_201_CREATED)


class ReferralListApi(APIView):
    permission_classes = [CanReadReferrals]
    throttle_classes = [PartnerKeyThrottle]
    pagination_ordering = ("updated_at", "id")

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Referral.Status.choices, required=False)
        service = serializers.SlugField(required=False)
        updated_since = serializers.CharField(required=False)

        def validate_updated_since(self, value):
            parsed = parse_datetime(value.replace(" ", "+"))
            if parsed is None:
                raise serializers.ValidationError(
                    "Use an ISO 8601 date-time, e.g. 2026-11-20T09:00:00+04:30."
                )
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed)
            return parsed

    @extend_schema(
        operation_id="referrals_list",
        parameters=[
            OpenApiParameter("status", str, enum=Referral.Status.values),
            OpenApiParameter("service", str, description="A service type code, e.g. `shelter`."),
            OpenApiParameter(
                "updated_since",
                str,
                description="ISO 8601 date-time: only referrals changed at or after it (incremental sync).",
            ),
        ],
        responses={200: PartnerReferralSerializer(many=True)},
        examples=[
            OpenApiExample(
                "A page",
                value=PARTNER_REFERRAL_EXAMPLE,
                response_only=True,
            )
        ],
    )
    @replica_reads
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = CursorPagination()
        page = paginator.paginate_queryset(
            referral_list(actor=request.user, **filters.validated_data), request, view=self
        )
        partner_reads_record(actor=request.user, referrals=page, endpoint="referrals_list")
        return paginator.get_paginated_response(_serializer_for(request.user)(page, many=True).data)


class ReferralDetailApi(APIView):
    permission_classes = [CanReadReferrals]
    throttle_classes = [PartnerKeyThrottle]

    @extend_schema(
        operation_id="referrals_retrieve",
        responses={
            200: PartnerReferralSerializer,
            404: OpenApiResponse(description="Not one of your referrals."),
        },
        examples=[OpenApiExample("A referral", value=PARTNER_REFERRAL_EXAMPLE, response_only=True)],
    )
    @replica_reads
    def get(self, request: Request, referral_id) -> Response:
        referral = get_object_or_404(referral_list(actor=request.user), pk=referral_id)
        partner_reads_record(actor=request.user, referrals=[referral], endpoint="referrals_retrieve")
        return Response(_serializer_for(request.user)(referral).data)


class ReferralStatusApi(APIView):
    permission_classes = [CanReadReferrals]
    throttle_classes = [PartnerKeyThrottle]

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Referral.Status.choices)
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="referrals_status",
        request=InputSerializer,
        responses={
            200: PartnerReferralSerializer,
            400: OpenApiResponse(description="`declined` without a note, or an unknown status."),
            403: OpenApiResponse(description="Your role never makes this move."),
            404: OpenApiResponse(description="Not one of your referrals."),
            409: OpenApiResponse(description="The lifecycle forbids this move from the current status."),
        },
        examples=[
            OpenApiExample(
                "Accept", value={"status": "accepted", "note": "Assessment on 22 Nov."}, request_only=True
            ),
            OpenApiExample(
                "Decline", value={"status": "declined", "note": "Outside our area."}, request_only=True
            ),
        ],
    )
    def post(self, request: Request, referral_id) -> Response:
        referral = get_object_or_404(referral_list(actor=request.user), pk=referral_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = referral_transition(
            referral=referral,
            target=serializer.validated_data["status"],
            note=serializer.validated_data["note"],
            actor=request.user,
        )
        partner_reads_record(actor=request.user, referrals=[referral], endpoint="referrals_status")
        return Response(_serializer_for(request.user)(referral).data)


class WebhookEndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(help_text="HMAC-SHA256 key for X-Aidcase-Signature. Shown only here.")


class WebhookListCreateApi(APIView):
    permission_classes = [IsPartnerOrAdmin]
    pagination_ordering = ("-created_at", "id")

    class InputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=500)

    def get_permissions(self):
        return [IsPartner() if self.request.method == "POST" else IsPartnerOrAdmin()]

    @extend_schema(
        operation_id="webhooks_list",
        responses=WebhookEndpointOutputSerializer(many=True),
        examples=[
            OpenApiExample(
                "Your endpoints",
                response_only=True,
                value={
                    "id": "0b7e3c52-1f0a-4d1e-9d55-3f1c2a9b8e71",
                    "url": "https://partner.example.org/aidcase",
                    "is_active": True,
                    "created_at": "2026-11-20T09:00:00+04:30",
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(webhook_endpoint_list(actor=request.user), request, view=self)
        return paginator.get_paginated_response(WebhookEndpointOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        request=InputSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample(
                "Register", request_only=True, value={"url": "https://partner.example.org/aidcase"}
            ),
            OpenApiExample(
                "Registered (the secret is shown only here)",
                response_only=True,
                value={
                    "id": "0b7e3c52-1f0a-4d1e-9d55-3f1c2a9b8e71",
                    "url": "https://partner.example.org/aidcase",
                    "is_active": True,
                    "created_at": "2026-11-20T09:00:00+04:30",
                    "secret": "q4V0n9...store-it-now",
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(actor=request.user, url=serializer.validated_data["url"])
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDeleteApi(APIView):
    permission_classes = [IsPartnerOrAdmin]

    @extend_schema(operation_id="webhooks_deactivate", request=None, responses={204: None})
    def delete(self, request: Request, endpoint_id) -> Response:
        endpoint = get_object_or_404(webhook_endpoint_list(actor=request.user), pk=endpoint_id)
        webhook_endpoint_deactivate(endpoint=endpoint, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint = serializers.URLField(source="endpoint.url")
    event = serializers.CharField()
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookDeliveryListApi(APIView):
    permission_classes = [IsPartnerOrAdmin]
    pagination_ordering = ("-created_at", "id")

    @extend_schema(
        operation_id="webhooks_deliveries",
        responses=WebhookDeliveryOutputSerializer(many=True),
        examples=[
            OpenApiExample(
                "A retried delivery",
                response_only=True,
                value={
                    "id": "5c1d0e8a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
                    "endpoint": "https://partner.example.org/aidcase",
                    "event": "referral.status_changed",
                    "status": "pending",
                    "attempts": 2,
                    "last_status_code": 503,
                    "last_error": "HTTP 503",
                    "next_attempt_at": "2026-11-20T09:02:30+04:30",
                    "delivered_at": None,
                    "created_at": "2026-11-20T09:00:00+04:30",
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(webhook_delivery_list(actor=request.user), request, view=self)
        return paginator.get_paginated_response(WebhookDeliveryOutputSerializer(page, many=True).data)

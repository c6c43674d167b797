from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import HasRole
from aidcase.core.replica import replica_reads
from reports.summary import summary

CanReadReports = HasRole.of(Role.COORDINATOR, Role.FINANCE, Role.ADMIN)


class ReportSummaryApi(APIView):
    permission_classes = [CanReadReports]

    class FilterSerializer(serializers.Serializer):
        date_from = serializers.DateField(required=False)
        date_to = serializers.DateField(required=False)

        def validate(self, attrs):
            today = timezone.localdate()
            attrs["date_to"] = attrs.get("date_to") or today
            attrs["date_from"] = attrs.get("date_from") or attrs["date_to"] - timedelta(days=6)
            if attrs["date_from"] > attrs["date_to"]:
                raise serializers.ValidationError({"from": ["`from` must not be after `to`."]})
            if (attrs["date_to"] - attrs["date_from"]).days > 3660:
                raise serializers.ValidationError({"from": ["At most ten years at once."]})
            return attrs

    @extend_schema(
        operation_id="reports_summary",
        parameters=[
            OpenApiParameter(
                "from", str, description="First day, YYYY-MM-DD, inclusive (default: `to` minus 6 days)."
            ),
            OpenApiParameter(
                "to", str, description="Last day, YYYY-MM-DD, inclusive (default: today in TIME_ZONE)."
            ),
        ],
        responses=inline_serializer(
            "ReportSummary",
            {
                "from": serializers.DateField(),
                "to": serializers.DateField(),
                "arrivals": serializers.DictField(),
                "disbursements": serializers.DictField(),
                "referrals": serializers.DictField(),
            },
        ),
        examples=[
            OpenApiExample(
                "A week",
                response_only=True,
                value={
                    "from": "2026-11-14",
                    "to": "2026-11-20",
                    "arrivals": {
                        "families": 2,
                        "individuals": 9,
                        "by_crossing_point": {"TORKHAM": {"families": 2, "individuals": 9}},
                        "by_province": {"AF-NAN": {"families": 2, "individuals": 9}},
                    },
                    "disbursements": {"by_status": {"paid": {"count": 1, "amount": "10000.00"}}},
                    "referrals": {"by_organization": {"UNHCR": {"sent": 1, "accepted": 0}}},
                },
            )
        ],
    )
    @replica_reads
    def get(self, request: Request) -> Response:
        params = {"date_from": request.query_params.get("from"), "date_to": request.query_params.get("to")}
        filters = self.FilterSerializer(data={k: v for k, v in params.items() if v is not None})
        if not filters.is_valid():
            errors = {
                ("from" if k == "date_from" else "to" if k == "date_to" else k): v
                for k, v in filters.errors.items()
            }
            return Response(errors, status=400)
        return Response(
            summary(date_from=filters.validated_data["date_from"], date_to=filters.validated_data["date_to"])
        )

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasRole
from families.selectors import family_list
from families.services import family_case_close
from privacy.services import DATA_PROTECTION_ROLES, family_consent_withdraw, family_export

IsDataProtectionStaff = HasRole.of(*DATA_PROTECTION_ROLES)


class FamilyConsentWithdrawApi(APIView):
    """The family withdrew its consent to share its data with partners (the support payment is unaffected)."""

    permission_classes = [IsDataProtectionStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        case_number = serializers.CharField()
        consent_to_share = serializers.BooleanField()
        consent_recorded_at = serializers.DateTimeField()
        consent_recorded_by = serializers.CharField(source="consent_recorded_by.username")
        referrals_closed = serializers.IntegerField(source="withheld_counts.referrals_closed")
        webhooks_cancelled = serializers.IntegerField(source="withheld_counts.webhooks_cancelled")

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request, family_id) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        family = get_object_or_404(family_list(actor=request.user), pk=family_id)
        family = family_consent_withdraw(
            family=family, recorded_by=request.user, note=data.validated_data["note"]
        )
        return Response(self.OutputSerializer(family).data)


class FamilyExportApi(APIView):
    """Subject access: everything held about the family (members, documents, payments, referrals and their
    history, the audit trail about it). The export is itself recorded in the audit trail."""

    permission_classes = [IsDataProtectionStaff]

    @extend_schema(
        responses={200: inline_serializer("FamilyExport", {"family": serializers.DictField()})},
    )
    def get(self, request: Request, family_id) -> Response:
        family = get_object_or_404(family_list(actor=request.user), pk=family_id)
        return Response(family_export(family=family, exported_by=request.user, export_format="json"))


class FamilyCaseCloseApi(APIView):
    """Close a case by hand (nothing may be in progress); the retention period runs from now."""

    permission_classes = [IsDataProtectionStaff]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        case_number = serializers.CharField()
        case_closed_at = serializers.DateTimeField()
        case_closed_by = serializers.CharField(source="case_closed_by.username")

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request, family_id) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        family = get_object_or_404(family_list(actor=request.user), pk=family_id)
        family = family_case_close(
            family=family, closed_by=request.user, reason=data.validated_data["reason"]
        )
        return Response(self.OutputSerializer(family).data)

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsDuplicateReviewer, IsRegistryStaff
from accounts.services import audit_record
from aidcase.core.pagination import CursorPagination
from families.models import (
    CrossingPoint,
    DocumentationStatus,
    DuplicateFlag,
    Family,
    Province,
    Relationship,
    ReturnType,
    Sex,
    Vulnerability,
)
from families.selectors import duplicate_flag_queue, family_list
from families.services import MemberInput, duplicate_flag_resolve, family_register, match_as_dict

REGISTRATION_EXAMPLE = {
    "crossing_point": "TORKHAM",
    "arrival_date": "2026-11-20",
    "destination_province": "AF-NAN",
    "destination_district": "Jalalabad",
    "phone": "+93700123456",
    "consent_to_share": True,
    "members": [
        {
            "given_name": "Gul",
            "father_name": "Ahmad",
            "family_name": "Khan",
            "sex": "F",
            "date_of_birth": "1990-01-01",
            "relationship": "head",
            "tazkira_number": "1400-0101-12345",
            "vulnerabilities": ["female_headed"],
        },
        {"given_name": "Ali", "father_name": "Rahim", "sex": "M", "age_years": 7, "relationship": "child"},
    ],
}


class MatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    case_number = serializers.CharField()
    score = serializers.IntegerField(min_value=0, max_value=100)
    reasons = serializers.ListField(child=serializers.CharField())


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    given_name = serializers.CharField()
    father_name = serializers.CharField()
    family_name = serializers.CharField()
    sex = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    age_years = serializers.IntegerField(allow_null=True)
    relationship = serializers.CharField()
    tazkira_number = serializers.CharField()
    vulnerabilities = serializers.ListField(child=serializers.CharField())


class FamilyOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    case_number = serializers.CharField()
    status = serializers.CharField()
    duplicate_of = serializers.UUIDField(source="duplicate_of_id", allow_null=True)
    crossing_point = serializers.CharField(source="crossing_point.code")
    arrival_date = serializers.DateField()
    origin_location = serializers.CharField()
    documentation_status = serializers.CharField()
    return_type = serializers.CharField()
    destination_province = serializers.CharField(source="destination_province.code")
    destination_district = serializers.CharField()
    phone = serializers.CharField()
    consent_to_share = serializers.BooleanField()
    vulnerabilities = serializers.ListField(child=serializers.CharField())
    household_size = serializers.IntegerField()
    head_name = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FamilyDetailOutputSerializer(FamilyOutputSerializer):
    client_id = serializers.UUIDField(source="client_reference", allow_null=True)
    members = MemberOutputSerializer(many=True)
    possible_duplicates = serializers.SerializerMethodField()

    @extend_schema_field(MatchSerializer(many=True))
    def get_possible_duplicates(self, family: Family) -> list[dict]:
        matches = getattr(family, "possible_duplicates", None)
        if matches is not None:
            return [match_as_dict(m) for m in matches]
        flags = family.duplicate_flags.filter(status=DuplicateFlag.Status.OPEN).select_related("candidate")
        return [
            {
                "id": f.candidate_id,
                "case_number": f.candidate.case_number,
                "score": f.score,
                "reasons": f.reasons,
            }
            for f in flags
        ]


class MemberInputSerializer(serializers.Serializer):
    given_name = serializers.CharField(max_length=100)
    father_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    sex = serializers.ChoiceField(choices=Sex.choices)
    date_of_birth = serializers.DateField(required=False, allow_null=True, default=None)
    age_years = serializers.IntegerField(
        min_value=0, max_value=120, required=False, allow_null=True, default=None
    )
    relationship = serializers.ChoiceField(choices=Relationship.choices)
    tazkira_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    vulnerabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=Vulnerability.choices), required=False, default=list
    )

    def validate(self, attrs):
        if attrs.get("date_of_birth") is None and attrs.get("age_years") is None:
            raise serializers.ValidationError({"date_of_birth": "Give date_of_birth or age_years."})
        return attrs


class FamilyListCreateApi(APIView):
    permission_classes = [IsRegistryStaff]
    pagination_ordering = ("-created_at", "id")

    class InputSerializer(serializers.Serializer):
        crossing_point = serializers.SlugRelatedField(
            slug_field="code", queryset=CrossingPoint.objects.filter(is_active=True)
        )
        arrival_date = serializers.DateField()
        origin_location = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        documentation_status = serializers.ChoiceField(
            choices=DocumentationStatus.choices, required=False, allow_blank=True, default=""
        )
        return_type = serializers.ChoiceField(
            choices=ReturnType.choices, required=False, allow_blank=True, default=""
        )
        destination_province = serializers.SlugRelatedField(
            slug_field="code", queryset=Province.objects.all()
        )
        destination_district = serializers.CharField(
            max_length=100, required=False, allow_blank=True, default=""
        )
        phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
        consent_to_share = serializers.BooleanField()
        vulnerabilities = serializers.ListField(
            child=serializers.ChoiceField(choices=Vulnerability.choices), required=False, default=list
        )
        members = MemberInputSerializer(many=True, min_length=1, max_length=40)
        client_id = serializers.UUIDField(
            required=False,
            allow_null=True,
            default=None,
            help_text="An id the sending device made for this registration (e.g. an offline queue). Sent again, "
            "the same id registers nothing new: 200 with the family registered the first time.",
        )

    @extend_schema(
        operation_id="families_list",
        parameters=[
            OpenApiParameter(
                "search", str, description="Case number, phone, Tazkira number or a name in any spelling."
            )
        ],
        responses={200: FamilyOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        paginator = CursorPagination()
        families = paginator.paginate_queryset(
            family_list(actor=request.user, search=request.query_params.get("search", "")).select_related(
                "created_by"
            ),
            request,
            view=self,
        )
        return paginator.get_paginated_response(FamilyOutputSerializer(families, many=True).data)

    @extend_schema(
        operation_id="families_create",
        request=InputSerializer,
        responses={201: FamilyDetailOutputSerializer, 200: FamilyDetailOutputSerializer},
        examples=[OpenApiExample("Family of two", value=REGISTRATION_EXAMPLE, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        data["members"] = [MemberInput(**member) for member in data["members"]]
        data["client_reference"] = data.pop("client_id")
        family = family_register(created_by=request.user, **data)
        return Response(
            FamilyDetailOutputSerializer(family).data,
            status=status.HTTP_200_OK if family.replayed else status.HTTP_201_CREATED,
        )


class FamilyDetailApi(APIView):
    permission_classes = [IsRegistryStaff]

    @extend_schema(operation_id="families_retrieve", responses={200: FamilyDetailOutputSerializer})
    def get(self, request: Request, family_id) -> Response:
        family = get_object_or_404(family_list(actor=request.user).prefetch_related("members"), pk=family_id)
        audit_record(actor=request.user, action="family.viewed", target=family, data={"via": "api"})
        return Response(FamilyDetailOutputSerializer(family).data)


class DuplicateFlagOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    family = serializers.CharField(source="family.case_number")
    family_id = serializers.UUIDField()
    candidate = serializers.CharField(source="candidate.case_number")
    candidate_id = serializers.UUIDField()
    score = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    note = serializers.CharField()
    resolved_by = serializers.CharField(source="resolved_by.username", allow_null=True, default=None)
    resolved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class DuplicateFlagListApi(APIView):
    permission_classes = [IsDuplicateReviewer]
    pagination_ordering = ("-created_at", "id")

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=DuplicateFlag.Status.choices, required=False, default="open")

    @extend_schema(
        operation_id="duplicates_list",
        parameters=[FilterSerializer],
        responses={200: DuplicateFlagOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = CursorPagination()
        flags = paginator.paginate_queryset(
            duplicate_flag_queue(actor=request.user, status=filters.validated_data["status"]).select_related(
                "resolved_by"
            ),
            request,
            view=self,
        )
        return paginator.get_paginated_response(DuplicateFlagOutputSerializer(flags, many=True).data)


class DuplicateFlagResolveApi(APIView):
    permission_classes = [IsDuplicateReviewer]

    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(
            choices=[DuplicateFlag.Status.DISTINCT, DuplicateFlag.Status.MERGED]
        )
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    @extend_schema(
        operation_id="duplicates_resolve",
        request=InputSerializer,
        responses={200: DuplicateFlagOutputSerializer},
    )
    def post(self, request: Request, flag_id) -> Response:
        flag = get_object_or_404(duplicate_flag_queue(actor=request.user, status=None), pk=flag_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flag = duplicate_flag_resolve(flag=flag, resolved_by=request.user, **serializer.validated_data)
        return Response(DuplicateFlagOutputSerializer(flag).data)

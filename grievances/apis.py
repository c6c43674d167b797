"""Complaints and post-distribution verification under /api/v1/. Partners get 403 on every call."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import HasRole
from aidcase.core.pagination import CursorPagination
from disbursements.selectors import disbursement_list
from families.selectors import family_list
from grievances.models import Grievance
from grievances.selectors import (
    PDV_ANSWER_ROLES,
    PDV_CREATE_ROLES,
    PDV_READ_ROLES,
    READ_ROLES,
    details_visible,
    grievance_events,
    grievance_list,
    payment_reconciliation,
    pdv_report,
    pdv_round_list,
    pdv_sample_list,
)
from grievances.services import (
    _UNSET,
    grievance_create,
    grievance_transition,
    grievance_update,
    pdv_answer_record,
    pdv_round_create,
)

CanReadGrievances = HasRole.of(*READ_ROLES)
CanCreatePdv = HasRole.of(*PDV_CREATE_ROLES)
CanReadPdv = HasRole.of(*PDV_READ_ROLES)
CanAnswerPdv = HasRole.of(*PDV_ANSWER_ROLES)

GRIEVANCE_EXAMPLE = {
    "id": "2d0c1f8e-8a43-4b0e-9a61-0b2f0d9c7e11",
    "family": "6f1c2a7e-3b4d-4e5f-9a8b-7c6d5e4f3a2b",
    "case_number": "TKM-2026-000123",
    "category": "payment_not_received",
    "channel": "hotline",
    "priority": "high",
    "status": "open",
    "sensitive": False,
    "details_hidden": False,
    "description": "The hawala agent in Jalalabad says the list has not arrived.",
    "resolution": None,
    "assigned_to": "finance2",
    "due_at": "2026-11-24T10:00:00+04:30",
    "overdue": False,
    "created_by": "caseworker",
    "created_at": "2026-11-21T10:00:00+04:30",
    "resolved_at": None,
    "closed_at": None,
    "disbursement": "9a3c2b1d-0e4f-4a5b-8c7d-6e5f4a3b2c1d",
}


def _user_by_name(username: str | None) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise serializers.ValidationError({"assigned_to": [_("No active user with this username.")]})
    return user


class GrievanceOutputSerializer(serializers.Serializer):
    """A complaint. For a sensitive one, `description`, `resolution` and notes are null unless the caller is
    designated staff (`grievances.view_sensitive`); `details_hidden` says so."""

    id = serializers.UUIDField()
    family = serializers.UUIDField(source="family_id")
    case_number = serializers.CharField(source="family.case_number")
    category = serializers.ChoiceField(choices=Grievance.Category.choices)
    channel = serializers.ChoiceField(choices=Grievance.Channel.choices)
    priority = serializers.ChoiceField(choices=Grievance.Priority.choices)
    status = serializers.ChoiceField(choices=Grievance.Status.choices)
    sensitive = serializers.BooleanField()
    details_hidden = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    resolution = serializers.SerializerMethodField()
    assigned_to = serializers.CharField(source="assigned_to.username", allow_null=True, default=None)
    due_at = serializers.DateTimeField()
    overdue = serializers.BooleanField(source="is_overdue")
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    disbursement = serializers.UUIDField(source="disbursement_id", allow_null=True)

    def _visible(self, obj) -> bool:
        return details_visible(grievance=obj, user=self.context["request"].user)

    def get_details_hidden(self, obj) -> bool:
        return not self._visible(obj)

    def get_description(self, obj) -> str | None:
        return obj.description if self._visible(obj) else None

    def get_resolution(self, obj) -> str | None:
        return (obj.resolution or None) if self._visible(obj) else None


class GrievanceEventSerializer(serializers.Serializer):
    action = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    changes = serializers.DictField()
    note = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class StatementLineSerializer(serializers.Serializer):
    statement = serializers.UUIDField()
    filename = serializers.CharField()
    line_no = serializers.IntegerField()
    outcome = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField()


class DiscrepancySerializer(serializers.Serializer):
    kind = serializers.CharField()
    details = serializers.CharField()
    resolved = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class PaymentSerializer(serializers.Serializer):
    disbursement = serializers.UUIDField()
    reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    failure_reason = serializers.CharField()
    reconciliation = serializers.CharField(
        help_text="The statement line's outcome (`matched`, `failed`, `amount_mismatch`, ...), "
        "`confirmed_in_person` (cash), `missing` or `not_on_a_statement`."
    )
    statement_line = StatementLineSerializer(allow_null=True)
    discrepancies = DiscrepancySerializer(many=True)
    open_discrepancies = serializers.IntegerField()


class GrievanceDetailSerializer(GrievanceOutputSerializer):
    payment = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    @extend_schema_field(PaymentSerializer(allow_null=True))
    def get_payment(self, obj) -> dict | None:
        if obj.disbursement is None:
            return None
        return PaymentSerializer(payment_reconciliation(disbursement=obj.disbursement)).data

    @extend_schema_field(GrievanceEventSerializer(many=True))
    def get_history(self, obj) -> list:
        visible = self._visible(obj)
        data = GrievanceEventSerializer(grievance_events(grievance=obj), many=True).data
        for row in data:
            if not visible:
                row["note"] = None
        return data


class GrievanceListCreateApi(APIView):
    permission_classes = [CanReadGrievances]
    pagination_ordering = ("done", "due_at", "id")

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Grievance.Status.choices, required=False)
        category = serializers.ChoiceField(choices=Grievance.Category.choices, required=False)
        family = serializers.UUIDField(required=False)
        overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
        active = serializers.BooleanField(required=False, allow_null=True, default=None)
        assigned_to_me = serializers.BooleanField(required=False, default=False)

    class InputSerializer(serializers.Serializer):
        family = serializers.UUIDField()
        category = serializers.ChoiceField(choices=Grievance.Category.choices)
        description = serializers.CharField(max_length=5000)
        channel = serializers.ChoiceField(
            choices=[Grievance.Channel.IN_PERSON, Grievance.Channel.HOTLINE],
            required=False,
            default=Grievance.Channel.IN_PERSON,
        )
        priority = serializers.ChoiceField(choices=Grievance.Priority.choices, required=False)
        sensitive = serializers.BooleanField(required=False, default=False)
        disbursement = serializers.UUIDField(required=False, allow_null=True)
        assigned_to = serializers.CharField(required=False, allow_null=True, allow_blank=True)

    @extend_schema(
        operation_id="grievances_list",
        parameters=[FilterSerializer],
        responses=GrievanceOutputSerializer(many=True),
        examples=[OpenApiExample("A complaint", value=GRIEVANCE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        qs = grievance_list(
            actor=request.user,
            status=data.get("status"),
            category=data.get("category"),
            family_id=data.get("family"),
            overdue=data.get("overdue"),
            active=data.get("active"),
            assigned_to=request.user if data.get("assigned_to_me") else None,
        )
        paginator = CursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            GrievanceOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="grievances_create",
        request=InputSerializer,
        responses={201: GrievanceDetailSerializer},
        examples=[
            OpenApiExample(
                "Hotline call",
                request_only=True,
                value={
                    "family": "6f1c2a7e-3b4d-4e5f-9a8b-7c6d5e4f3a2b",
                    "category": "payment_not_received",
                    "channel": "hotline",
                    "description": "The hawala agent in Jalalabad says the list has not arrived.",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        family = family_list(actor=request.user).filter(pk=data["family"]).first()
        if family is None:
            raise serializers.ValidationError({"family": [_("No such family.")]})
        disbursement = None
        if data.get("disbursement"):
            disbursement = disbursement_list(actor=request.user).filter(pk=data["disbursement"]).first()
            if disbursement is None:
                raise serializers.ValidationError({"disbursement": [_("No such payment.")]})
        grievance = grievance_create(
            family=family,
            category=data["category"],
            description=data["description"],
            channel=data["channel"],
            priority=data.get("priority"),
            sensitive=data["sensitive"],
            disbursement=disbursement,
            assigned_to=_user_by_name(data.get("assigned_to")),
            created_by=request.user,
        )
        grievance = grievance_list(actor=request.user).get(pk=grievance.pk)
        return Response(
            GrievanceDetailSerializer(grievance, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class GrievanceDetailApi(APIView):
    permission_classes = [CanReadGrievances]

    class UpdateSerializer(serializers.Serializer):
        priority = serializers.ChoiceField(choices=Grievance.Priority.choices, required=False)
        assigned_to = serializers.CharField(required=False, allow_null=True, allow_blank=True)
        sensitive = serializers.BooleanField(required=False)
        note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="grievances_retrieve",
        responses={200: GrievanceDetailSerializer},
        examples=[OpenApiExample("A complaint", value=GRIEVANCE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, grievance_id) -> Response:
        grievance = get_object_or_404(grievance_list(actor=request.user), pk=grievance_id)
        return Response(GrievanceDetailSerializer(grievance, context={"request": request}).data)

    @extend_schema(
        operation_id="grievances_update",
        request=UpdateSerializer,
        responses={
            200: GrievanceDetailSerializer,
            403: OpenApiResponse(description="Not a handler, or a sensitive complaint and not designated."),
        },
        examples=[
            OpenApiExample(
                "Assign", request_only=True, value={"assigned_to": "finance2", "priority": "urgent"}
            )
        ],
    )
    def patch(self, request: Request, grievance_id) -> Response:
        grievance = get_object_or_404(grievance_list(actor=request.user), pk=grievance_id)
        serializer = self.UpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        grievance_update(
            grievance=grievance,
            actor=request.user,
            priority=data.get("priority", _UNSET),
            assigned_to=_user_by_name(data["assigned_to"]) if "assigned_to" in data else _UNSET,
            sensitive=data.get("sensitive", _UNSET),
            note=data["note"],
        )
        grievance = grievance_list(actor=request.user).get(pk=grievance.pk)
        return Response(GrievanceDetailSerializer(grievance, context={"request": request}).data)


class GrievanceStatusApi(APIView):
    permission_classes = [CanReadGrievances]

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Grievance.Status.choices)
        note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
        resolution = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="grievances_status",
        request=InputSerializer,
        responses={
            200: GrievanceDetailSerializer,
            400: OpenApiResponse(description="`resolved` without a resolution, reopening without a note."),
            403: OpenApiResponse(description="Not a handler, or a sensitive complaint and not designated."),
            409: OpenApiResponse(description="The lifecycle forbids this move from the current status."),
        },
        examples=[
            OpenApiExample(
                "Resolve",
                request_only=True,
                value={"status": "resolved", "resolution": "Re-issued as AFN-2026-000812, paid on 28 Nov."},
            ),
            OpenApiExample("Reopen", request_only=True, value={"status": "open", "note": "Still not paid."}),
        ],
    )
    def post(self, request: Request, grievance_id) -> Response:
        grievance = get_object_or_404(grievance_list(actor=request.user), pk=grievance_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grievance_transition(
            grievance=grievance,
            actor=request.user,
            target=serializer.validated_data["status"],
            note=serializer.validated_data["note"],
            resolution=serializer.validated_data["resolution"],
        )
        grievance = grievance_list(actor=request.user).get(pk=grievance.pk)
        return Response(GrievanceDetailSerializer(grievance, context={"request": request}).data)


# --- post-distribution verification ---------------------------------------------------------------


class PdvRoundOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    paid_from = serializers.DateField()
    paid_to = serializers.DateField()
    confidence = serializers.DecimalField(max_digits=4, decimal_places=3)
    margin = serializers.DecimalField(max_digits=4, decimal_places=3)
    seed = serializers.IntegerField()
    population_size = serializers.IntegerField()
    sample_size = serializers.IntegerField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()


class PdvReportSerializer(serializers.Serializer):
    sampled = serializers.IntegerField()
    answered = serializers.IntegerField()
    pending = serializers.IntegerField()
    reached = serializers.IntegerField()
    not_reached = serializers.IntegerField()
    verified = serializers.IntegerField()
    mismatches = serializers.IntegerField()
    grievances = serializers.IntegerField()
    verified_rate = serializers.FloatField(allow_null=True, help_text="verified / reached")
    interval_low = serializers.FloatField(
        allow_null=True, help_text="Wilson interval at the round's confidence"
    )
    interval_high = serializers.FloatField(allow_null=True)


class PdvRoundDetailSerializer(PdvRoundOutputSerializer):
    report = serializers.SerializerMethodField()

    @extend_schema_field(PdvReportSerializer)
    def get_report(self, obj) -> dict:
        return PdvReportSerializer(pdv_report(pdv_round=obj)).data


class PdvSampleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    family = serializers.UUIDField(source="family_id")
    case_number = serializers.CharField(source="family.case_number")
    head_name = serializers.CharField(source="family.head_name")
    phone = serializers.CharField(source="family.phone")
    disbursement = serializers.UUIDField(source="disbursement_id")
    reference = serializers.CharField(source="disbursement.reference")
    amount_paid = serializers.DecimalField(source="disbursement.amount", max_digits=12, decimal_places=2)
    reached = serializers.BooleanField(allow_null=True)
    confirmed_full_amount = serializers.BooleanField(allow_null=True)
    amount_reported = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    notes = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username", allow_null=True, default=None)
    recorded_at = serializers.DateTimeField(allow_null=True)
    grievance = serializers.SerializerMethodField()

    def get_grievance(self, obj) -> str | None:
        grievance = getattr(obj, "grievance", None)
        return str(grievance.pk) if grievance else None


class PdvRoundListCreateApi(APIView):
    permission_classes = [CanReadPdv]
    pagination_ordering = ("-created_at", "id")

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
        paid_from = serializers.DateField()
        paid_to = serializers.DateField()
        confidence = serializers.DecimalField(max_digits=4, decimal_places=3, required=False, default="0.950")
        margin = serializers.DecimalField(max_digits=4, decimal_places=3, required=False, default="0.050")
        seed = serializers.IntegerField(required=False, min_value=0, max_value=2**62)

    def get_permissions(self):
        return [CanCreatePdv() if self.request.method == "POST" else CanReadPdv()]

    @extend_schema(operation_id="pdv_rounds_list", responses=PdvRoundOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(pdv_round_list(actor=request.user), request, view=self)
        return paginator.get_paginated_response(PdvRoundOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="pdv_rounds_create",
        request=InputSerializer,
        responses={201: PdvRoundDetailSerializer},
        examples=[
            OpenApiExample(
                "November, 95 % / 5 %",
                request_only=True,
                value={"name": "November", "paid_from": "2026-11-01", "paid_to": "2026-11-30"},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pdv_round = pdv_round_create(created_by=request.user, **serializer.validated_data)
        return Response(PdvRoundDetailSerializer(pdv_round).data, status=status.HTTP_201_CREATED)


class PdvRoundDetailApi(APIView):
    permission_classes = [CanReadPdv]

    @extend_schema(operation_id="pdv_rounds_retrieve", responses={200: PdvRoundDetailSerializer})
    def get(self, request: Request, round_id) -> Response:
        pdv_round = get_object_or_404(pdv_round_list(actor=request.user), pk=round_id)
        return Response(PdvRoundDetailSerializer(pdv_round).data)


class PdvSampleListApi(APIView):
    permission_classes = [CanReadPdv]
    pagination_ordering = ("position", "id")

    @extend_schema(operation_id="pdv_rounds_samples", responses=PdvSampleSerializer(many=True))
    def get(self, request: Request, round_id) -> Response:
        pdv_round = get_object_or_404(pdv_round_list(actor=request.user), pk=round_id)
        paginator = CursorPagination()
        page = paginator.paginate_queryset(
            pdv_sample_list(actor=request.user, pdv_round=pdv_round), request, view=self
        )
        return paginator.get_paginated_response(PdvSampleSerializer(page, many=True).data)


class PdvAnswerApi(APIView):
    permission_classes = [CanAnswerPdv]

    class InputSerializer(serializers.Serializer):
        reached = serializers.BooleanField()
        confirmed_full_amount = serializers.BooleanField(required=False, allow_null=True, default=None)
        amount_reported = serializers.DecimalField(
            max_digits=12, decimal_places=2, required=False, allow_null=True, default=None
        )
        notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="pdv_samples_answer",
        request=InputSerializer,
        responses={200: PdvSampleSerializer},
        examples=[
            OpenApiExample(
                "Confirmed", request_only=True, value={"reached": True, "confirmed_full_amount": True}
            ),
            OpenApiExample(
                "Received less",
                request_only=True,
                value={"reached": True, "confirmed_full_amount": False, "amount_reported": "8000.00"},
            ),
            OpenApiExample("Not reached", request_only=True, value={"reached": False, "notes": "Phone off."}),
        ],
    )
    def post(self, request: Request, sample_id) -> Response:
        sample = get_object_or_404(pdv_sample_list(actor=request.user), pk=sample_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pdv_answer_record(sample=sample, actor=request.user, **serializer.validated_data)
        sample = pdv_sample_list(actor=request.user).get(pk=sample.pk)
        return Response(PdvSampleSerializer(sample).data)

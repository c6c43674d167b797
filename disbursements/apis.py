import hashlib

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import HasRole
from aidcase.core.idempotency import idempotent
from aidcase.core.pagination import CursorPagination
from disbursements.models import Channel, Disbursement, Discrepancy, LegalBasis, Statement
from disbursements.reconciliation import TOO_LARGE, PayloadTooLarge, discrepancy_resolve, statement_upload
from disbursements.selectors import READ_ROLES, batch_list, disbursement_list
from disbursements.services import (
    batch_create,
    batch_export,
    batch_xlsx,
    disbursement_approve,
    disbursement_cancel,
    disbursement_confirm_cash,
    disbursement_reissue,
    disbursement_reject,
    disbursement_request,
)
from families.selectors import family_list

CanRequest = HasRole.of(Role.CASE_WORKER, Role.FINANCE)
IsFinance = HasRole.of(Role.FINANCE)
CanRead = HasRole.of(*READ_ROLES)
IsFinanceOrAdmin = HasRole.of(Role.FINANCE, Role.ADMIN)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retries with the same key (same user, method and path) replay the first response for 24 hours "
    "or more; the same key with a different body is 422; while the first request still runs, 409.",
)


class DisbursementOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    family = serializers.UUIDField(source="family_id")
    case_number = serializers.CharField(source="family.case_number")
    reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Disbursement.Status.choices)
    legal_basis = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username")
    requested_at = serializers.DateTimeField()
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    batch = serializers.UUIDField(source="batch_id", allow_null=True)
    exported_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    failure_reason = serializers.CharField()
    reissue_of = serializers.UUIDField(source="reissue_of_id", allow_null=True)


class DisbursementCreatedSerializer(DisbursementOutputSerializer):
    recipient_code = serializers.CharField(
        help_text="One-time code for the family to confirm a cash payment. Shown only in this response."
    )


class DisbursementRequestApi(APIView):
    permission_classes = [CanRequest]

    class InputSerializer(serializers.Serializer):
        amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
        currency = serializers.CharField(max_length=3, required=False)
        legal_basis = serializers.ChoiceField(
            choices=LegalBasis.choices, required=False, default=LegalBasis.VITAL_INTERESTS
        )

    @extend_schema(
        operation_id="families_disbursements_create",
        parameters=[IDEMPOTENCY_HEADER],
        request=InputSerializer,
        responses={
            201: DisbursementCreatedSerializer,
            409: OpenApiResponse(
                description="The family already has a support payment, or is a merged duplicate."
            ),
            422: OpenApiResponse(description="Idempotency-Key reused with a different body."),
        },
        examples=[OpenApiExample("Programme amount", value={}, request_only=True)],
    )
    @idempotent
    def post(self, request: Request, family_id) -> Response:
        family = get_object_or_404(family_list(actor=request.user), pk=family_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        disbursement = disbursement_request(
            family=family, requested_by=request.user, **serializer.validated_data
        )
        return Response(DisbursementCreatedSerializer(disbursement).data, status=status.HTTP_201_CREATED)


class DisbursementListApi(APIView):
    permission_classes = [CanRead]
    pagination_ordering = ("-requested_at", "id")

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Disbursement.Status.choices, required=False)

    @extend_schema(
        operation_id="disbursements_list",
        parameters=[FilterSerializer],
        responses=DisbursementOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = CursorPagination()
        page = paginator.paginate_queryset(
            disbursement_list(actor=request.user, status=filters.validated_data.get("status")),
            request,
            view=self,
        )
        return paginator.get_paginated_response(DisbursementOutputSerializer(page, many=True).data)


class DisbursementDetailApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(operation_id="disbursements_retrieve", responses=DisbursementOutputSerializer)
    def get(self, request: Request, disbursement_id) -> Response:
        disbursement = get_object_or_404(disbursement_list(actor=request.user), pk=disbursement_id)
        return Response(DisbursementOutputSerializer(disbursement).data)


class DisbursementApproveApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="disbursements_approve",
        request=None,
        responses={
            200: DisbursementOutputSerializer,
            403: OpenApiResponse(description="Not finance, or the requester (four-eyes)."),
            409: OpenApiResponse(description="Not requested any more."),
        },
    )
    def post(self, request: Request, disbursement_id) -> Response:
        disbursement = get_object_or_404(disbursement_list(actor=request.user), pk=disbursement_id)
        disbursement = disbursement_approve(disbursement=disbursement, approved_by=request.user)
        return Response(DisbursementOutputSerializer(disbursement).data)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class DisbursementRejectApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="disbursements_reject",
        request=ReasonSerializer,
        responses={
            200: DisbursementOutputSerializer,
            409: OpenApiResponse(description="Not requested any more."),
        },
    )
    def post(self, request: Request, disbursement_id) -> Response:
        disbursement = get_object_or_404(disbursement_list(actor=request.user), pk=disbursement_id)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        disbursement = disbursement_reject(
            disbursement=disbursement, rejected_by=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class DisbursementCancelApi(APIView):
    permission_classes = [CanRequest]

    @extend_schema(
        operation_id="disbursements_cancel", request=ReasonSerializer, responses=DisbursementOutputSerializer
    )
    def post(self, request: Request, disbursement_id) -> Response:
        disbursement = get_object_or_404(disbursement_list(actor=request.user), pk=disbursement_id)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        disbursement = disbursement_cancel(
            disbursement=disbursement, cancelled_by=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class DisbursementReissueApi(APIView):
    permission_classes = [CanRequest]

    @extend_schema(
        operation_id="disbursements_reissue",
        parameters=[IDEMPOTENCY_HEADER],
        request=None,
        responses={201: DisbursementCreatedSerializer},
    )
    @idempotent
    def post(self, request: Request, disbursement_id) -> Response:
        failed = get_object_or_404(disbursement_list(actor=request.user), pk=disbursement_id)
        disbursement = disbursement_reissue(failed=failed, requested_by=request.user)
        return Response(DisbursementCreatedSerializer(disbursement).data, status=status.HTTP_201_CREATED)


class DisbursementConfirmCashApi(APIView):
    permission_classes = [IsFinance]

    class InputSerializer(serializers.Serializer):
        recipient_code = serializers.CharField(required=False, allow_blank=True, max_length=12)
        signature_reference = serializers.CharField(required=False, allow_blank=True, max_length=80)

    @extend_schema(
        operation_id="disbursements_confirm_cash",
        request=InputSerializer,
        responses=DisbursementOutputSerializer,
    )
    def post(self, request: Request, disbursement_id) -> Response:
        disbursement = get_object_or_404(disbursement_list(actor=request.user), pk=disbursement_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        disbursement = disbursement_confirm_cash(
            disbursement=disbursement, paid_by=request.user, **serializer.validated_data
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class BatchOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    count = serializers.IntegerField(source="item_count")
    total = serializers.DecimalField(source="item_total", max_digits=14, decimal_places=2)
    currency = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    exported_at = serializers.DateTimeField(allow_null=True)
    checksum_sha256 = serializers.CharField(source="export_sha256")

    def get_currency(self, batch) -> str:
        return "AFN"


class BatchListCreateApi(APIView):
    pagination_ordering = ("-created_at", "id")

    def get_permissions(self):
        # Administrators may look at batches; only finance staff create them.
        return [IsFinance() if self.request.method == "POST" else IsFinanceOrAdmin()]

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=Channel.choices)
        disbursements = serializers.ListField(
            child=serializers.UUIDField(), allow_empty=False, max_length=10000
        )

    @extend_schema(operation_id="batches_list", responses=BatchOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(batch_list(actor=request.user), request, view=self)
        return paginator.get_paginated_response(BatchOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="batches_create",
        request=InputSerializer,
        responses={
            201: BatchOutputSerializer,
            409: OpenApiResponse(description="An item is not approved or already in a batch."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = batch_create(
            channel=serializer.validated_data["channel"],
            disbursement_ids=serializer.validated_data["disbursements"],
            created_by=request.user,
        )
        return Response(
            BatchOutputSerializer(batch_list(actor=request.user).get(pk=batch.pk)).data, status=201
        )


class BatchDetailApi(APIView):
    permission_classes = [IsFinanceOrAdmin]

    @extend_schema(operation_id="batches_retrieve", responses=BatchOutputSerializer)
    def get(self, request: Request, batch_id) -> Response:
        batch = get_object_or_404(batch_list(actor=request.user), pk=batch_id)
        return Response(BatchOutputSerializer(batch).data)


class BatchExportApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="batches_export",
        request=None,
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="The payout list; `X-Checksum-SHA256` holds the hex SHA-256 of the body.",
            ),
            409: OpenApiResponse(description="Empty batch or an item that is not approved."),
        },
    )
    def post(self, request: Request, batch_id) -> HttpResponse:
        batch = get_object_or_404(batch_list(actor=request.user), pk=batch_id)
        batch = batch_export(batch=batch, exported_by=request.user)
        response = HttpResponse(bytes(batch.export_csv), content_type="text/csv; charset=utf-8")
        response["X-Checksum-SHA256"] = batch.export_sha256
        response["Content-Disposition"] = f'attachment; filename="{batch.reference}.csv"'
        return response


class BatchExportXlsxApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="batches_export_xlsx",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The exported payout list as XLSX."
            )
        },
    )
    def get(self, request: Request, batch_id) -> HttpResponse:
        batch = get_object_or_404(batch_list(actor=request.user), pk=batch_id)
        content = batch_xlsx(batch=batch)
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{batch.reference}.xlsx"'
        response["X-Checksum-SHA256"] = hashlib.sha256(content).hexdigest()
        return response


class StatementOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Statement.Status.choices)
    filename = serializers.CharField()
    lines_total = serializers.IntegerField()
    matched = serializers.IntegerField()
    amount_mismatch = serializers.IntegerField()
    unknown_reference = serializers.IntegerField()
    duplicate_line = serializers.IntegerField()
    failed = serializers.IntegerField()
    missing = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class StatementQueuedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()


class ReconciliationUploadApi(APIView):
    permission_classes = [IsFinance]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()

    @extend_schema(
        operation_id="reconciliations_create",
        request={"multipart/form-data": InputSerializer},
        responses={
            202: StatementQueuedSerializer,
            200: OpenApiResponse(
                StatementQueuedSerializer, description="The same bytes were uploaded before."
            ),
            400: OpenApiResponse(
                description="Not a CSV/XLSX with the header reference,amount,status,paid_at."
            ),
            413: OpenApiResponse(description="Over RECONCILIATION_MAX_UPLOAD_BYTES (default 20 MB)."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > settings.RECONCILIATION_MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(
                TOO_LARGE.format(limit=settings.RECONCILIATION_MAX_UPLOAD_BYTES // (1024 * 1024))
            )
        statement, created = statement_upload(
            content=upload.read(), filename=upload.name, uploaded_by=request.user
        )
        return Response(
            {"id": statement.pk, "status": statement.status},
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )


class ReconciliationDetailApi(APIView):
    permission_classes = [IsFinanceOrAdmin]

    @extend_schema(operation_id="reconciliations_retrieve", responses=StatementOutputSerializer)
    def get(self, request: Request, statement_id) -> Response:
        statement = get_object_or_404(Statement.objects.defer("content"), pk=statement_id)
        return Response(StatementOutputSerializer(statement).data)


class DiscrepancyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    statement = serializers.UUIDField(source="statement_id", allow_null=True)
    disbursement = serializers.CharField(source="disbursement.reference", allow_null=True, default=None)
    details = serializers.CharField()
    resolved_by = serializers.CharField(source="resolved_by.username", allow_null=True, default=None)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution_note = serializers.CharField()
    created_at = serializers.DateTimeField()


class DiscrepancyListApi(APIView):
    permission_classes = [IsFinanceOrAdmin]
    pagination_ordering = ("created_at", "id")

    class FilterSerializer(serializers.Serializer):
        resolved = serializers.BooleanField(required=False, allow_null=True, default=None)
        kind = serializers.ChoiceField(choices=Discrepancy.Kind.choices, required=False)

    @extend_schema(
        operation_id="discrepancies_list",
        parameters=[FilterSerializer],
        responses=DiscrepancyOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = Discrepancy.objects.select_related("disbursement", "resolved_by")
        if filters.validated_data.get("resolved") is not None:
            qs = qs.filter(resolved_at__isnull=not filters.validated_data["resolved"])
        if filters.validated_data.get("kind"):
            qs = qs.filter(kind=filters.validated_data["kind"])
        paginator = CursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(DiscrepancyOutputSerializer(page, many=True).data)


class DiscrepancyResolveApi(APIView):
    permission_classes = [IsFinance]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=2000)

    @extend_schema(
        operation_id="discrepancies_resolve", request=InputSerializer, responses=DiscrepancyOutputSerializer
    )
    def post(self, request: Request, discrepancy_id: int) -> Response:
        discrepancy = get_object_or_404(Discrepancy, pk=discrepancy_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        discrepancy = discrepancy_resolve(
            discrepancy=discrepancy, resolved_by=request.user, note=serializer.validated_data["note"]
        )
        return Response(DiscrepancyOutputSerializer(discrepancy).data)

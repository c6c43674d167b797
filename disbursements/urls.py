from django.urls import path

from disbursements import apis

urlpatterns = [
    path(
        "families/<uuid:family_id>/disbursements/",
        apis.DisbursementRequestApi.as_view(),
        name="api-family-disbursements",
    ),
    path("disbursements/", apis.DisbursementListApi.as_view(), name="api-disbursements"),
    path(
        "disbursements/<uuid:disbursement_id>/",
        apis.DisbursementDetailApi.as_view(),
        name="api-disbursement-detail",
    ),
    path(
        "disbursements/<uuid:disbursement_id>/approve/",
        apis.DisbursementApproveApi.as_view(),
        name="api-disbursement-approve",
    ),
    path(
        "disbursements/<uuid:disbursement_id>/reject/",
        apis.DisbursementRejectApi.as_view(),
        name="api-disbursement-reject",
    ),
    path(
        "disbursements/<uuid:disbursement_id>/cancel/",
        apis.DisbursementCancelApi.as_view(),
        name="api-disbursement-cancel",
    ),
    path(
        "disbursements/<uuid:disbursement_id>/reissue/",
        apis.DisbursementReissueApi.as_view(),
        name="api-disbursement-reissue",
    ),
    path(
        "disbursements/<uuid:disbursement_id>/confirm-cash/",
        apis.DisbursementConfirmCashApi.as_view(),
        name="api-disbursement-confirm-cash",
    ),
    path("reconciliations/", apis.ReconciliationUploadApi.as_view(), name="api-reconciliations"),
    path(
        "reconciliations/<uuid:statement_id>/",
        apis.ReconciliationDetailApi.as_view(),
        name="api-reconciliation-detail",
    ),
    path("discrepancies/", apis.DiscrepancyListApi.as_view(), name="api-discrepancies"),
    path(
        "discrepancies/<int:discrepancy_id>/resolve/",
        apis.DiscrepancyResolveApi.as_view(),
        name="api-discrepancy-resolve",
    ),
    path("batches/", apis.BatchListCreateApi.as_view(), name="api-batches"),
    path("batches/<uuid:batch_id>/", apis.BatchDetailApi.as_view(), name="api-batch-detail"),
    path("batches/<uuid:batch_id>/export/", apis.BatchExportApi.as_view(), name="api-batch-export"),
    path(
        "batches/<uuid:batch_id>/export.xlsx", apis.BatchExportXlsxApi.as_view(), name="api-batch-export-xlsx"
    ),
]

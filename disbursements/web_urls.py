from django.urls import path

from disbursements import views

urlpatterns = [
    path("payments/", views.payment_queue, name="payment-queue"),
    path("payments/bulk/", views.payment_bulk_action, name="payment-bulk"),
    path("payments/<uuid:disbursement_id>/", views.payment_detail, name="payment-detail"),
    path("families/<uuid:family_id>/request-payment/", views.payment_request, name="payment-request"),
    path("statements/", views.statement_index, name="statement-index"),
    path("statements/<uuid:statement_id>/", views.statement_detail, name="statement-detail"),
    path("discrepancies/", views.discrepancy_index, name="discrepancy-index"),
    path("batches/", views.batch_index, name="batch-index"),
    path("batches/<uuid:batch_id>/export/", views.batch_export_view, name="batch-export"),
]

"""Finance pages: approval queue (bulk, each item still four-eyes), payout batches, one payment's ledger."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import Role
from aidcase.core.exceptions import DomainError
from disbursements.models import Channel, Disbursement, Discrepancy, Statement
from disbursements.reconciliation import discrepancy_resolve, statement_upload
from disbursements.selectors import READ_ROLES, batch_list, disbursement_list
from disbursements.services import (
    batch_create,
    batch_export,
    batch_xlsx,
    disbursement_approve,
    disbursement_confirm_cash,
    disbursement_reject,
    disbursement_request,
)
from families.models import CrossingPoint
from families.selectors import family_list


def _error_text(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    raise exc


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), choices=Disbursement.Status.choices, required=False, initial="requested"
    )
    crossing_point = forms.ModelChoiceField(
        label=gettext_lazy("Crossing point"),
        queryset=CrossingPoint.objects.all(),
        to_field_name="code",
        required=False,
    )
    requested_from = forms.DateField(
        label=gettext_lazy("Requested from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    requested_to = forms.DateField(
        label=gettext_lazy("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


@role_required(*READ_ROLES)
def payment_queue(request):
    form = QueueFilterForm(request.GET or {"status": "requested"})
    qs = disbursement_list(actor=request.user)
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data["crossing_point"]:
            qs = qs.filter(family__crossing_point=data["crossing_point"])
        # Local calendar days as a timestamp range (not `requested_at__date`): the index on requested_at applies.
        if data["requested_from"]:
            qs = qs.filter(requested_at__gte=_local_midnight(data["requested_from"]))
        if data["requested_to"]:
            qs = qs.filter(requested_at__lt=_local_midnight(data["requested_to"] + timedelta(days=1)))
    totals = qs.aggregate(count=Count("id"), amount=Sum("amount"))
    page = Paginator(qs.order_by("requested_at", "id"), 50).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "totals": totals,
        "is_finance": request.user.has_role(Role.FINANCE),
        "channels": Channel.choices,
    }
    return render(request, "disbursements/queue.html", context)


@role_required(Role.FINANCE)
@require_POST
def payment_bulk_action(request):
    """Approve or reject the ticked payments. Each goes through the service: four-eyes holds per item."""
    action = request.POST.get("action")
    ids = request.POST.getlist("ids")
    reason = request.POST.get("reason", "")
    if action not in ("approve", "reject") or not ids:
        messages.error(request, _("Tick at least one payment and choose approve or reject."))
        return redirect("payment-queue")
    done, failed = 0, []
    for disbursement in disbursement_list(actor=request.user).filter(pk__in=ids):
        try:
            if action == "approve":
                disbursement_approve(disbursement=disbursement, approved_by=request.user)
            else:
                disbursement_reject(disbursement=disbursement, rejected_by=request.user, reason=reason)
            done += 1
        except (DomainError, ValidationError) as exc:
            failed.append(f"{disbursement.reference}: {_error_text(exc)}")
    if done:
        messages.success(request, _("%(count)d payment(s) updated.") % {"count": done})
    for problem in failed:
        messages.error(request, problem)
    return redirect(request.META.get("HTTP_REFERER") or "payment-queue")


@role_required(Role.CASE_WORKER, Role.FINANCE)
@require_POST
def payment_request(request, family_id):
    family = get_object_or_404(family_list(actor=request.user), pk=family_id)
    try:
        disbursement = disbursement_request(family=family, requested_by=request.user)
    except (DomainError, ValidationError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _(
                "Support payment %(reference)s requested. Give the family this one-time code for the cash pay-out: %(code)s"
            )
            % {"reference": disbursement.reference, "code": disbursement.recipient_code},
        )
    return redirect("family-detail", family_id=family.pk)


@role_required(*READ_ROLES)
def payment_detail(request, disbursement_id):
    disbursement = get_object_or_404(disbursement_list(actor=request.user), pk=disbursement_id)
    if request.method == "POST" and request.user.has_role(Role.FINANCE):
        try:
            disbursement_confirm_cash(
                disbursement=disbursement,
                paid_by=request.user,
                recipient_code=request.POST.get("recipient_code", ""),
                signature_reference=request.POST.get("signature_reference", ""),
            )
        except (DomainError, ValidationError) as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Cash payment recorded."))
        return redirect("payment-detail", disbursement_id=disbursement.pk)
    context = {
        "d": disbursement,
        "transitions": disbursement.transitions.select_related("actor"),
        "can_confirm_cash": request.user.has_role(Role.FINANCE)
        and disbursement.status == Disbursement.Status.EXPORTED
        and disbursement.batch
        and disbursement.batch.channel == Channel.CASH,
    }
    return render(request, "disbursements/detail.html", context)


@role_required(Role.FINANCE, Role.ADMIN)
def batch_index(request):
    if request.method == "POST":
        if not request.user.has_role(Role.FINANCE):
            return HttpResponse(status=403)
        try:
            batch = batch_create(
                channel=request.POST.get("channel", ""),
                disbursement_ids=request.POST.getlist("ids"),
                created_by=request.user,
            )
        except (DomainError, ValidationError) as exc:
            messages.error(request, _error_text(exc))
            return redirect(request.META.get("HTTP_REFERER") or "batch-index")
        messages.success(request, _("Batch %(ref)s created.") % {"ref": batch.reference})
        return redirect("batch-index")
    page = Paginator(batch_list(actor=request.user).order_by("-created_at"), 30).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "disbursements/batches.html",
        {"page": page, "is_finance": request.user.has_role(Role.FINANCE)},
    )


@role_required(Role.FINANCE)
@require_POST
def batch_export_view(request, batch_id):
    batch = get_object_or_404(batch_list(actor=request.user), pk=batch_id)
    try:
        batch = batch_export(batch=batch, exported_by=request.user)
    except (DomainError, ValidationError) as exc:
        messages.error(request, _error_text(exc))
        return redirect("batch-index")
    if request.POST.get("format") == "xlsx":
        response = HttpResponse(
            batch_xlsx(batch=batch),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{batch.reference}.xlsx"'
        return response
    response = HttpResponse(bytes(batch.export_csv), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.reference}.csv"'
    response["X-Checksum-SHA256"] = batch.export_sha256
    return response


@role_required(Role.FINANCE, Role.ADMIN)
def statement_index(request):
    """Upload a provider statement and see the recent ones with their outcome."""
    if request.method == "POST":
        if not request.user.has_role(Role.FINANCE):
            raise PermissionDenied
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose the statement file (CSV or XLSX)."))
            return redirect("statement-index")
        if upload.size > settings.RECONCILIATION_MAX_UPLOAD_BYTES:
            messages.error(request, _("The file is too large."))
            return redirect("statement-index")
        try:
            statement, created = statement_upload(
                content=upload.read(), filename=upload.name, uploaded_by=request.user
            )
        except (DomainError, ValidationError) as exc:
            messages.error(request, _error_text(exc))
            return redirect("statement-index")
        if not created:
            messages.info(request, _("This exact file was uploaded before; nothing was changed."))
        return redirect("statement-detail", statement_id=statement.pk)
    statements = Statement.objects.defer("content").select_related("uploaded_by")[:50]
    return render(
        request,
        "disbursements/statements.html",
        {"statements": statements, "is_finance": request.user.has_role(Role.FINANCE)},
    )


@role_required(Role.FINANCE, Role.ADMIN)
def statement_detail(request, statement_id):
    statement = get_object_or_404(Statement.objects.defer("content"), pk=statement_id)
    running = statement.status in (Statement.Status.QUEUED, Statement.Status.RUNNING)
    return render(request, "disbursements/statement_detail.html", {"s": statement, "running": running})


@role_required(Role.FINANCE, Role.ADMIN)
def discrepancy_index(request):
    show = request.GET.get("show", "open")
    qs = Discrepancy.objects.select_related("disbursement", "resolved_by", "statement").order_by(
        "created_at", "id"
    )
    qs = qs.filter(resolved_at__isnull=(show == "open"))
    if request.method == "POST":
        item = get_object_or_404(Discrepancy, pk=request.POST.get("id"))
        try:
            discrepancy_resolve(discrepancy=item, resolved_by=request.user, note=request.POST.get("note", ""))
        except (DomainError, ValidationError) as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Resolved."))
        return redirect("discrepancy-index")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "disbursements/discrepancies.html",
        {"page": page, "show": show, "is_finance": request.user.has_role(Role.FINANCE)},
    )

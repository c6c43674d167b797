"""Pages for complaints and post-distribution verification. Views parse forms and call the services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.decorators import role_required
from accounts.models import User
from aidcase.core.exceptions import DomainError
from families.selectors import family_list
from grievances.forms import (
    GrievanceFilterForm,
    GrievanceForm,
    PdvAnswerForm,
    PdvRoundForm,
    StatusForm,
    TriageForm,
)
from grievances.selectors import (
    PDV_ANSWER_ROLES,
    PDV_CREATE_ROLES,
    PDV_READ_ROLES,
    READ_ROLES,
    assignable_users,
    can_view_sensitive,
    details_visible,
    grievance_events,
    grievance_list,
    payment_reconciliation,
    pdv_report,
    pdv_round_list,
    pdv_sample_list,
)
from grievances.services import (
    TRANSITIONS,
    can_handle,
    grievance_create,
    grievance_transition,
    grievance_update,
    pdv_answer_record,
    pdv_round_create,
)


def _params(request) -> str:
    """The page's query string without `page`, for the pager links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _change_text(changes: dict) -> str:
    """{"priority": ["low", "high"], "category": "other"} -> "priority low → high; category other"."""

    def show(value) -> str:
        return "—" if value in (None, "") else str(value)

    parts = []
    for field, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{field} {show(value[0])} → {show(value[1])}")
        else:
            parts.append(f"{field} {show(value)}")
    return "; ".join(parts)


def _apply_errors(exc: Exception, form) -> None:
    if isinstance(exc, DomainError):
        form.add_error(None, exc.message)
    elif hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        form.add_error(None, " ".join(exc.messages))


@role_required(*READ_ROLES)
def grievance_index(request):
    form = GrievanceFilterForm(request.GET or {"show": "active"})
    form.is_valid()
    show = form.cleaned_data.get("show") or "active"
    filters = {
        "active": {"active": True},
        "overdue": {"overdue": True},
        "mine": {"assigned_to": request.user, "active": True},
        "done": {"active": False},
        "all": {},
    }[show]
    qs = grievance_list(actor=request.user, category=form.cleaned_data.get("category") or None, **filters)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "grievances/index.html", {"form": form, "page": page, "params": _params(request)})


@role_required(*READ_ROLES)
@require_http_methods(["GET", "POST"])
def grievance_new(request, family_id):
    family = get_object_or_404(family_list(actor=request.user), pk=family_id)
    form = GrievanceForm(request.POST or None, family=family)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        disbursement = (
            family.disbursements.filter(pk=data["disbursement"]).first() if data["disbursement"] else None
        )
        try:
            grievance = grievance_create(
                family=family,
                category=data["category"],
                channel=data["channel"],
                priority=data["priority"] or None,
                description=data["description"],
                sensitive=data["sensitive"],
                disbursement=disbursement,
                created_by=request.user,
            )
        except (DomainError, ValidationError) as exc:
            _apply_errors(exc, form)
        else:
            messages.success(request, _("Complaint %(id)s recorded.") % {"id": grievance.short_id})
            return redirect("grievance-detail", grievance_id=grievance.pk)
    return render(
        request, "grievances/new.html", {"family": family, "form": form}, status=400 if form.errors else 200
    )


@role_required(*READ_ROLES)
@require_http_methods(["GET", "POST"])
def grievance_detail(request, grievance_id):
    grievance = get_object_or_404(grievance_list(actor=request.user), pk=grievance_id)
    users = assignable_users(sensitive=grievance.sensitive)
    triage = TriageForm(
        initial={
            "priority": grievance.priority,
            "assigned_to": grievance.assigned_to.username if grievance.assigned_to else "",
            "sensitive": grievance.sensitive,
        },
        users=users,
    )
    status_form = StatusForm(allowed=TRANSITIONS[grievance.status])
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "triage":
                triage = TriageForm(request.POST, users=users)
                if triage.is_valid():
                    data = triage.cleaned_data
                    assignee = (
                        User.objects.filter(username=data["assigned_to"]).first()
                        if data["assigned_to"]
                        else None
                    )
                    grievance_update(
                        grievance=grievance,
                        actor=request.user,
                        priority=data["priority"],
                        assigned_to=assignee,
                        sensitive=data["sensitive"],
                        note=data["note"],
                    )
                    messages.success(request, _("Changes saved."))
                    return redirect("grievance-detail", grievance_id=grievance.pk)
            elif action == "status":
                status_form = StatusForm(request.POST, allowed=TRANSITIONS[grievance.status])
                if status_form.is_valid():
                    data = status_form.cleaned_data
                    grievance_transition(
                        grievance=grievance,
                        actor=request.user,
                        target=data["status"],
                        note=data["note"],
                        resolution=data["resolution"],
                    )
                    messages.success(request, _("Status changed."))
                    return redirect("grievance-detail", grievance_id=grievance.pk)
        except (DomainError, ValidationError) as exc:
            _apply_errors(exc, status_form if action == "status" else triage)
    context = {
        "g": grievance,
        "visible": details_visible(grievance=grievance, user=request.user),
        "designated": can_view_sensitive(request.user),
        "can_handle": can_handle(grievance=grievance, actor=request.user),
        "events": [(e, _change_text(e.changes)) for e in grievance_events(grievance=grievance)],
        "payment": payment_reconciliation(disbursement=grievance.disbursement)
        if grievance.disbursement
        else None,
        "triage": triage,
        "status_form": status_form,
    }
    has_errors = triage.errors or status_form.errors
    return render(request, "grievances/detail.html", context, status=400 if has_errors else 200)


@role_required(*PDV_READ_ROLES)
@require_http_methods(["GET", "POST"])
def pdv_index(request):
    can_create = request.user.has_role(*PDV_CREATE_ROLES)
    form = PdvRoundForm(request.POST or None) if can_create else None
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied
        if form.is_valid():
            try:
                pdv_round = pdv_round_create(created_by=request.user, **form.cleaned_data)
            except (DomainError, ValidationError) as exc:
                _apply_errors(exc, form)
            else:
                messages.success(
                    request,
                    _("%(size)d of %(population)d paid families drawn.")
                    % {"size": pdv_round.sample_size, "population": pdv_round.population_size},
                )
                return redirect("pdv-detail", round_id=pdv_round.pk)
    rounds = pdv_round_list(actor=request.user)[:50]
    return render(
        request,
        "grievances/pdv_index.html",
        {"form": form, "rounds": rounds},
        status=400 if form and form.errors else 200,
    )


@role_required(*PDV_READ_ROLES)
def pdv_detail(request, round_id):
    pdv_round = get_object_or_404(pdv_round_list(actor=request.user), pk=round_id)
    show = request.GET.get("show", "pending")
    samples = pdv_sample_list(actor=request.user, pdv_round=pdv_round)
    if show == "pending":
        samples = samples.filter(reached__isnull=True)
    elif show == "mismatch":
        samples = samples.filter(reached=True, confirmed_full_amount=False)
    page = Paginator(samples, 50).get_page(request.GET.get("page"))
    report = pdv_report(pdv_round=pdv_round)
    percent = {
        f"{key}_percent": None if report[key] is None else report[key] * 100
        for key in ("verified_rate", "interval_low", "interval_high")
    }
    context = {
        "r": pdv_round,
        "report": {**report, **percent},
        "page": page,
        "show": show,
        "params": _params(request),
        "can_answer": request.user.has_role(*PDV_ANSWER_ROLES),
    }
    return render(request, "grievances/pdv_detail.html", context)


@role_required(*PDV_ANSWER_ROLES)
@require_http_methods(["GET", "POST"])
def pdv_answer(request, sample_id):
    sample = get_object_or_404(pdv_sample_list(actor=request.user), pk=sample_id)
    initial = {}
    if sample.answered:
        initial = {
            "reached": "yes" if sample.reached else "no",
            "confirmed_full_amount": {True: "yes", False: "no"}.get(sample.confirmed_full_amount, ""),
            "amount_reported": sample.amount_reported,
            "notes": sample.notes,
        }
    form = PdvAnswerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sample = pdv_answer_record(
                sample=sample,
                actor=request.user,
                reached=data["reached"],
                confirmed_full_amount=data["confirmed_full_amount"] if data["reached"] else None,
                # A confirmed answer needs no amount: the payment's is taken.
                amount_reported=data["amount_reported"]
                if data["reached"] and data["confirmed_full_amount"] is False
                else None,
                notes=data["notes"],
            )
        except (DomainError, ValidationError) as exc:
            _apply_errors(exc, form)
        else:
            if sample.mismatch:
                messages.warning(request, _("Answer recorded. A complaint was opened for the payment."))
            else:
                messages.success(request, _("Answer recorded."))
            return redirect("pdv-detail", round_id=sample.round_id)
    return render(
        request, "grievances/pdv_answer.html", {"s": sample, "form": form}, status=400 if form.errors else 200
    )

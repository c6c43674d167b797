"""Server-rendered pages for case workers. Thin: parse the form, call a selector or service, render."""

import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import role_required
from accounts.models import Role
from accounts.permissions import DUPLICATE_REVIEW_ROLES, REGISTRY_ROLES
from accounts.services import audit_record
from aidcase.core.exceptions import DomainError
from families.forms import (
    DuplicateResolveForm,
    FamilyEditForm,
    FamilyForm,
    FamilyImportForm,
    KoboExportForm,
    MemberFormSet,
)
from families.imports import (
    REQUIRED_COLUMNS,
    TEMPLATE_COLUMNS,
    as_bytes,
    family_import_submit,
    report_filename,
    template_csv,
)
from families.kobo import export_take
from families.models import CrossingPoint, DuplicateFlag, FamilyImport, KoboForm, Province, Relationship
from families.selectors import duplicate_flag_queue, family_history, family_list
from families.services import duplicate_flag_resolve, family_register, family_update, registration_check

_MEMBER_ERROR_KEY = re.compile(r"^members\[(\d+)\]\.(\w+)$")


@role_required(*REGISTRY_ROLES)
def family_search(request):
    query = request.GET.get("q", "").strip()
    page = None
    if query:
        families = family_list(actor=request.user, search=query).order_by("-created_at", "id")
        page = Paginator(families, 25).get_page(request.GET.get("page"))
    return render(request, "families/family_list.html", {"query": query, "page": page})


def _apply_service_errors(exc: ValidationError, family_form: FamilyForm, formset) -> None:
    """Show a service's ValidationError on the form field it names (members[i].field -> member row i)."""
    for key, messages_ in exc.message_dict.items():
        match = _MEMBER_ERROR_KEY.match(key)
        for message in messages_:
            if match and int(match[1]) < len(formset.forms):
                formset.forms[int(match[1])].add_error(match[2], message)
            elif key in family_form.fields:
                family_form.add_error(key, message)
            else:
                family_form.add_error(None, message)


@role_required(*REGISTRY_ROLES)
@require_http_methods(["GET", "POST"])
def family_register_view(request):
    """One form for the household and its members.

    First submit: validate and look for possible duplicates; if any, show them and ask the case worker to
    confirm. Works without JavaScript: "add member" is a submit button that returns the form with one more row.
    """
    duplicates = []
    if request.method == "GET":
        family_form = FamilyForm()
        formset = MemberFormSet(initial=[{"relationship": "head"}], prefix="members")
        return render(request, "families/family_form.html", {"form": family_form, "formset": formset})

    family_form = FamilyForm(request.POST)
    formset = MemberFormSet(request.POST, prefix="members")
    if "add_member" in request.POST:
        data = request.POST.copy()
        data["members-TOTAL_FORMS"] = str(int(data.get("members-TOTAL_FORMS", 1)) + 1)
        formset = MemberFormSet(data, prefix="members")
        return render(
            request,
            "families/family_form.html",
            {"form": FamilyForm(request.POST), "formset": formset},
        )

    if family_form.is_valid() and formset.is_valid():
        members = [f.member_input() for f in formset.forms]
        try:
            duplicates = registration_check(
                members=members,
                arrival_date=family_form.cleaned_data["arrival_date"],
                phone=family_form.cleaned_data["phone"],
            )
            if duplicates and not request.POST.get("confirm_duplicates"):
                messages.warning(request, _("Possible duplicates found. Check them before you save."))
            else:
                family = family_register(
                    created_by=request.user, members=members, **family_form.service_kwargs()
                )
                messages.success(request, _("Family %(case)s registered.") % {"case": family.case_number})
                return redirect("family-detail", family_id=family.pk)
        except ValidationError as exc:
            _apply_service_errors(exc, family_form, formset)
    return render(
        request,
        "families/family_form.html",
        {"form": family_form, "formset": formset, "duplicates": duplicates},
        status=200 if duplicates else 400,
    )


@role_required(*REGISTRY_ROLES)
def family_detail(request, family_id):
    # The page lists the family's payments and referrals through reverse relations (the registry never
    # imports those apps); prefetched with what each row shows, so the page costs the same for 1 or 30.
    family = get_object_or_404(
        family_list(actor=request.user)
        .select_related("duplicate_of", "created_by", "consent_recorded_by")
        .prefetch_related("disbursements", "referrals__organization", "referrals__service"),
        pk=family_id,
    )
    audit_record(actor=request.user, action="family.viewed", target=family, data={"via": "web"})
    context = {
        "family": family,
        "members": family.members.all(),
        "flags": family.duplicate_flags.filter(status=DuplicateFlag.Status.OPEN).select_related("candidate"),
        "history": family_history(family=family).exclude(action="family.viewed")[:100],
        "can_review": request.user.has_role(*DUPLICATE_REVIEW_ROLES),
        "can_request_payment": request.user.has_role(Role.CASE_WORKER, Role.FINANCE),
        "can_refer": request.user.has_role(Role.CASE_WORKER, Role.ADMIN),
        "can_protect": request.user.has_role(Role.CASE_WORKER, Role.ADMIN),
    }
    return render(request, "families/family_detail.html", context)


@role_required(Role.CASE_WORKER, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def family_edit(request, family_id):
    family = get_object_or_404(family_list(actor=request.user), pk=family_id)
    initial = {
        "phone": family.phone,
        "destination_province": family.destination_province,
        "destination_district": family.destination_district,
        "consent_to_share": family.consent_to_share,
    }
    form = FamilyEditForm(request.POST or None, initial=initial)
    if family.consent_to_share:  # withdrawing is its own action (it also stops sharing with partners)
        del form.fields["consent_to_share"]
    if request.method == "POST" and form.is_valid():
        try:
            family_update(family=family, changed_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(key if key in form.fields else None, error)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("family-detail", family_id=family.pk)
    return render(request, "families/family_edit.html", {"family": family, "form": form})


@role_required(*DUPLICATE_REVIEW_ROLES)
def duplicate_queue(request):
    flags = duplicate_flag_queue(actor=request.user).prefetch_related("family__members", "candidate__members")
    page = Paginator(flags, 20).get_page(request.GET.get("page"))
    return render(request, "families/duplicate_queue.html", {"page": page, "form": DuplicateResolveForm()})


@role_required(*DUPLICATE_REVIEW_ROLES)
@require_POST
def duplicate_resolve(request, flag_id):
    flag = get_object_or_404(duplicate_flag_queue(actor=request.user, status=None), pk=flag_id)
    form = DuplicateResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the two records are the same family."))
        return redirect("duplicate-queue")
    try:
        duplicate_flag_resolve(flag=flag, resolved_by=request.user, **form.cleaned_data)
    except (DomainError, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", None) or " ".join(exc.messages))
    else:
        messages.success(request, _("Review saved."))
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("duplicate-queue")


# --- household lists -------------------------------------------------------------------------------

IMPORT_ROLES = (Role.CASE_WORKER, Role.ADMIN)


def _own_import(request, import_id) -> FamilyImport:
    imports = FamilyImport.objects.defer("content", "report")
    if not request.user.has_role(Role.ADMIN):
        imports = imports.filter(created_by=request.user)
    return get_object_or_404(imports, pk=import_id)


@role_required(*IMPORT_ROLES)
@require_http_methods(["GET", "POST"])
def family_import_view(request):
    form = FamilyImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            family_import = family_import_submit(
                content=as_bytes(upload), filename=upload.name, submitted_by=request.user,
                dry_run=form.cleaned_data["dry_run"],
            )  # fmt: skip
        except ValidationError as exc:
            for message in exc.message_dict.get("file", exc.messages):
                form.add_error("file", message)
        else:
            return redirect("family-import-detail", import_id=family_import.pk)
    return _import_page(request, form, KoboExportForm())


def _import_page(request, form, kobo_form):
    recent = FamilyImport.objects.defer("content", "report").filter(created_by=request.user)[:10]
    context = {
        "form": form,
        "kobo_form": kobo_form if KoboForm.objects.filter(is_active=True).exists() else None,
        "recent": recent,
        "columns": TEMPLATE_COLUMNS,
        "required": REQUIRED_COLUMNS,
    }
    return render(
        request, "families/import.html", context, status=400 if form.errors or kobo_form.errors else 200
    )


@role_required(*IMPORT_ROLES)
@require_POST
def kobo_export_import(request):
    """Take the submissions of a KoBo/ODK XLSX export (each once per form)."""
    form = KoboExportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            counts = export_take(
                form=form.cleaned_data["kobo_form"], content=as_bytes(form.cleaned_data["file"])
            )
        except ValidationError as exc:
            form.add_error("file", " ".join(exc.messages))
        else:
            messages.success(
                request,
                _(
                    "%(registered)s submissions registered, %(rejected)s with errors (see the form's submissions), "
                    "%(before)s taken before, %(pending)s not approved."
                )
                % {
                    "registered": counts.get("registered", 0),
                    "rejected": counts.get("rejected", 0),
                    "before": counts.get("taken_before", 0) + counts.get("already_imported", 0),
                    "pending": counts.get("not_approved", 0),
                },
            )
            return redirect("family-import")
    return _import_page(request, FamilyImportForm(), form)


@role_required(*IMPORT_ROLES)
def family_import_template(request):
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="aidcase-household-list.csv"'
    return response


@role_required(*IMPORT_ROLES)
def family_import_detail(request, import_id):
    return render(request, "families/import_detail.html", {"import": _own_import(request, import_id)})


@role_required(*IMPORT_ROLES)
def family_import_report(request, import_id):
    family_import = _own_import(request, import_id)
    if not family_import.is_finished or family_import.status == FamilyImport.Status.FAILED:
        raise Http404
    report = FamilyImport.objects.values_list("report", flat=True).get(pk=family_import.pk)
    response = HttpResponse(bytes(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(family_import.filename)}"'
    return response


@role_required(*IMPORT_ROLES)
@require_POST
def family_import_apply(request, import_id):
    """Import for real a list whose preview the case worker has read."""
    preview = _own_import(request, import_id)
    if not (preview.dry_run and preview.status == FamilyImport.Status.DONE):
        messages.error(request, _("Only a finished preview can be imported."))
        return redirect("family-import-detail", import_id=preview.pk)
    content = FamilyImport.objects.values_list("content", flat=True).get(pk=preview.pk)
    try:
        family_import = family_import_submit(
            content=bytes(content), filename=preview.filename, submitted_by=request.user, dry_run=False
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("family-import-detail", import_id=preview.pk)
    return redirect("family-import-detail", import_id=family_import.pk)


# --- registration without a connection ---------------------------------------------------------------


@role_required(*REGISTRY_ROLES)
def family_register_offline(request):
    """The registration page that keeps working offline (service worker + a queue on the device)."""
    context = {
        "crossing_points": CrossingPoint.objects.filter(is_active=True),
        "provinces": Province.objects.all(),
        "relationships": Relationship.choices,
    }
    return render(request, "families/register_offline.html", context)


def family_register_offline_sw(request):
    """The service worker, served under the page's path so that its scope covers the page."""
    response = render(
        request,
        "families/offline_sw.js",
        {"version": settings.OFFLINE_CACHE_VERSION},
        content_type="application/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    return response

"""Pages for the data protection actions on a family: export, consent withdrawal, closing the case."""

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.decorators import role_required
from aidcase.core.exceptions import DomainError
from aidcase.core.spreadsheets import csv_bytes
from families.selectors import family_list
from families.services import case_close_blocker, family_case_close
from privacy.selectors import export_rows
from privacy.services import DATA_PROTECTION_ROLES, EXPORT_FORMATS, family_consent_withdraw, family_export


def _error(exc: Exception) -> str:
    return getattr(exc, "message", None) or " ".join(exc.messages)


@role_required(*DATA_PROTECTION_ROLES)
def family_export_view(request, family_id, export_format: str):
    if export_format not in EXPORT_FORMATS:
        raise Http404
    family = get_object_or_404(family_list(actor=request.user), pk=family_id)
    data = family_export(family=family, exported_by=request.user, export_format=export_format)
    filename = f"{family.case_number}-data"
    if export_format == "html":
        return render(request, "privacy/export.html", {"family": family, "data": data})
    if export_format == "csv":
        response = HttpResponse(csv_bytes(export_rows(data)), content_type="text/csv; charset=utf-8")
    else:
        body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        response = HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{export_format}"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(*DATA_PROTECTION_ROLES)
@require_http_methods(["GET", "POST"])
def family_consent_withdraw_view(request, family_id):
    family = get_object_or_404(family_list(actor=request.user), pk=family_id)
    if request.method == "POST":
        try:
            family = family_consent_withdraw(
                family=family, recorded_by=request.user, note=request.POST.get("note", "")[:500]
            )
        except (DomainError, ValidationError) as exc:
            messages.error(request, _error(exc))
        else:
            messages.success(
                request,
                _(
                    "Consent withdrawn. Partners no longer receive this family's data; %(n)s open referral(s) closed."
                )
                % {"n": family.withheld_counts["referrals_closed"]},
            )
        return redirect("family-detail", family_id=family.pk)
    open_referrals = family.referrals.exclude(status__in=("completed", "declined", "closed")).count()
    return render(
        request, "privacy/consent_withdraw.html", {"family": family, "open_referrals": open_referrals}
    )


@role_required(*DATA_PROTECTION_ROLES)
@require_http_methods(["GET", "POST"])
def family_case_close_view(request, family_id):
    family = get_object_or_404(family_list(actor=request.user), pk=family_id)
    if request.method == "POST":
        try:
            family_case_close(
                family=family, closed_by=request.user, reason=request.POST.get("reason", "")[:500]
            )
        except (DomainError, ValidationError) as exc:
            messages.error(request, _error(exc))
        else:
            messages.success(request, _("Case closed."))
        return redirect("family-detail", family_id=family.pk)
    context = {
        "family": family,
        "blocker": case_close_blocker(family),
        "days": settings.RETENTION_CLOSED_CASE_DAYS,
    }
    return render(request, "privacy/case_close.html", context)

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.decorators import role_required
from accounts.models import Role
from accounts.permissions import DUPLICATE_REVIEW_ROLES, REGISTRY_ROLES
from aidcase.core.replica import replica_reads
from families.selectors import family_list
from reports.models import SituationReport
from reports.selectors import payment_queues, registry_today
from reports.summary import summary

REPORT_ROLES = (Role.COORDINATOR, Role.FINANCE, Role.ADMIN)


@login_required
def home(request):
    """The start page of each role: what a case worker or a finance officer has to do today."""
    user = request.user
    if user.role == Role.PARTNER:
        return render(request, "reports/partner_home.html")
    if not user.has_role(*REGISTRY_ROLES):
        raise PermissionDenied
    context = {
        **registry_today(),
        "recent": family_list(actor=user).select_related("crossing_point").order_by("-created_at")[:10],
        "can_review": user.has_role(*DUPLICATE_REVIEW_ROLES),
        "payment_queues": payment_queues() if user.has_role(*REPORT_ROLES) else None,
        "can_see_reports": user.has_role(*REPORT_ROLES),
    }
    return render(request, "reports/home.html", context)


@role_required(*REPORT_ROLES)
@replica_reads
def dashboard(request):
    """Coordinators' dashboard: the last four weeks in charts (Chart.js), and the situation reports."""
    today = timezone.localdate()
    data = summary(date_from=today - timezone.timedelta(days=27), date_to=today)
    charts = {
        "crossing_points": {
            k: v["families"] for k, v in data["arrivals"]["by_crossing_point"].items() if v["families"]
        },
        "provinces": {k: v["families"] for k, v in data["arrivals"]["by_province"].items() if v["families"]},
        "payments": {k: v["count"] for k, v in data["disbursements"]["by_status"].items()},
        "referrals": {org: sum(v.values()) for org, v in data["referrals"]["by_organization"].items()},
    }
    reports = SituationReport.objects.defer("csv", "xlsx")[:30]
    return render(request, "reports/dashboard.html", {"summary": data, "charts": charts, "reports": reports})


@role_required(*REPORT_ROLES)
def report_download(request, report_id, fmt):
    report = get_object_or_404(SituationReport, pk=report_id, status=SituationReport.Status.DONE)
    name = f"aidcase-{report.kind}-{report.period_start}-{report.period_end}"
    if fmt == "xlsx":
        response = HttpResponse(
            bytes(report.xlsx),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(bytes(report.csv), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import Role
from accounts.permissions import DUPLICATE_REVIEW_ROLES, REGISTRY_ROLES
from aidcase.core.replica import replica_reads
from families.selectors import family_list
from reports.models import SituationReport
from reports.selectors import finance_today, payment_queues, registry_today
from reports.situation import period_for
from reports.summary import summary
from reports.tasks import situation_report_task

logger = logging.getLogger(__name__)

REPORT_ROLES = (Role.COORDINATOR, Role.FINANCE, Role.ADMIN)


@login_required
def home(request):
    """The start page of each role.

    Case workers: today's arrivals and the possible duplicates to review. Finance: the payment queues with
    their sums and the exceptions to resolve. Coordinators: the charts (the reports dashboard).
    """
    user = request.user
    if user.role == Role.PARTNER:
        return render(request, "reports/partner_home.html")
    if user.role == Role.COORDINATOR:
        return dashboard(request)
    if not user.has_role(*REGISTRY_ROLES):
        raise PermissionDenied
    is_finance = user.has_role(Role.FINANCE, Role.ADMIN)
    context = {
        "today": timezone.localdate(),
        "show_registry": user.role != Role.FINANCE,
        "can_review": user.has_role(*DUPLICATE_REVIEW_ROLES),
        "payment_queues": payment_queues() if is_finance else None,
        "finance": finance_today() if is_finance else None,
        "can_see_reports": user.has_role(*REPORT_ROLES),
    }
    if context["show_registry"]:
        context.update(registry_today())
        context["recent"] = (
            family_list(actor=user).select_related("crossing_point").order_by("-created_at")[:10]
        )
    return render(request, "reports/home.html", context)


@role_required(*REPORT_ROLES)
@replica_reads
def dashboard(request):
    """Coordinators' dashboard: the last four weeks in charts (Chart.js), and the situation reports.

    While a report is being produced, htmx polls the page for the reports fragment (HX-Request).
    """
    reports_context = _reports_context(request)
    if request.headers.get("HX-Request"):
        response = render(request, "reports/_reports.html", reports_context)
        patch_vary_headers(response, ["HX-Request"])
        return response
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
    response = render(
        request, "reports/dashboard.html", {"summary": data, "charts": charts, **reports_context}
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


def _reports_context(request) -> dict:
    reports = list(SituationReport.objects.defer("csv", "xlsx")[:30])
    producing = request.GET.get("producing")
    if producing not in SituationReport.Kind.values:
        producing = None
    else:
        start, end = period_for(producing, timezone.localdate())
        finished = SituationReport.objects.filter(
            kind=producing,
            period_start=start,
            period_end=end,
            status__in=(SituationReport.Status.DONE, SituationReport.Status.FAILED),
        ).exists()
        producing = None if finished else SituationReport.Kind(producing).label
    running = any(r.status == SituationReport.Status.RUNNING for r in reports)
    return {
        "reports": reports,
        "producing": producing,
        "polling": bool(producing or running),
        "kinds": SituationReport.Kind.choices,
    }


@role_required(*REPORT_ROLES)
@require_POST
def report_produce(request):
    """Produce a situation report now instead of waiting for the night (the worker does it; the page follows)."""
    kind = request.POST.get("kind")
    if kind not in SituationReport.Kind.values:
        messages.error(request, _("Choose a daily or weekly report."))
        return redirect("report-dashboard")
    try:
        situation_report_task.delay(kind)
    except Exception:  # the broker is down: say so instead of a 500
        logger.exception("could not queue the situation report")
        messages.error(request, _("The report could not be queued; try again in a minute."))
        return redirect("report-dashboard")
    return redirect(f"{reverse('report-dashboard')}?producing={kind}")


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

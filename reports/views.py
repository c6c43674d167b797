from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import DUPLICATE_REVIEW_ROLES, REGISTRY_ROLES
from families.selectors import family_list
from reports.selectors import payment_queues, registry_today


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
        "payment_queues": payment_queues()
        if user.has_role(Role.FINANCE, Role.COORDINATOR, Role.ADMIN)
        else None,
    }
    return render(request, "reports/home.html", context)

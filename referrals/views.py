"""Case worker pages for referrals: refer from the family page, follow open referrals by organization."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Min
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import Organization, Role
from aidcase.core.exceptions import DomainError
from families.selectors import family_list
from referrals.models import Referral, ServiceType, Urgency
from referrals.selectors import STAFF_READERS, referral_list
from referrals.services import referral_create, referral_transition


class ReferralForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=gettext_lazy("Organization"),
        queryset=Organization.objects.filter(is_active=True),
        to_field_name="code",
    )
    service = forms.ModelChoiceField(
        label=gettext_lazy("Service"), queryset=ServiceType.objects.all(), to_field_name="code"
    )
    urgency = forms.ChoiceField(
        label=gettext_lazy("Urgency"), choices=Urgency.choices, initial=Urgency.MEDIUM
    )
    note = forms.CharField(
        label=gettext_lazy("Note for the partner"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@role_required(Role.CASE_WORKER, Role.ADMIN)
@require_POST
def referral_create_view(request, family_id):
    family = get_object_or_404(family_list(actor=request.user), pk=family_id)
    form = ReferralForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request, f"{form.fields[field].label if field in form.fields else ''}: {' '.join(errors)}"
            )
        return redirect("family-detail", family_id=family.pk)
    try:
        referral_create(
            family=family,
            organization_code=form.cleaned_data["organization"].code,
            service_code=form.cleaned_data["service"].code,
            urgency=form.cleaned_data["urgency"],
            note=form.cleaned_data["note"],
            created_by=request.user,
        )
    except (DomainError, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", None) or " ".join(exc.messages))
    else:
        messages.success(
            request, _("Referral sent to %(org)s.") % {"org": form.cleaned_data["organization"].code}
        )
    return redirect("family-detail", family_id=family.pk)


@role_required(*STAFF_READERS)
@require_POST
def referral_close_view(request, referral_id):
    referral = get_object_or_404(referral_list(actor=request.user), pk=referral_id)
    try:
        referral_transition(
            referral=referral,
            target=Referral.Status.CLOSED,
            actor=request.user,
            note=request.POST.get("note", ""),
        )
    except (DomainError, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", None) or " ".join(exc.messages))
    else:
        messages.success(request, _("Referral closed."))
    return redirect("family-detail", family_id=referral.family_id)


@role_required(*STAFF_READERS)
def referral_overview(request):
    """Open referrals by organization with the age of the oldest, then the open ones, oldest first."""
    open_referrals = referral_list(actor=request.user).exclude(status__in=Referral.FINAL)
    by_org = (
        open_referrals.values("organization__code", "organization__name", "status")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by("organization__code", "status")
    )
    now = timezone.now()
    rows = [{**r, "age_days": (now - r["oldest"]).days} for r in by_org]
    oldest = open_referrals.order_by("created_at")[:100]
    return render(request, "referrals/overview.html", {"rows": rows, "oldest": oldest, "now": now})

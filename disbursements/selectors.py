from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts.models import Role, User
from disbursements.models import Disbursement, PayoutBatch

READ_ROLES = (Role.CASE_WORKER, Role.FINANCE, Role.COORDINATOR, Role.ADMIN)


def disbursement_list(*, actor: User, status: str | None = None) -> QuerySet[Disbursement]:
    if not actor.has_role(*READ_ROLES):
        return Disbursement.objects.none()
    qs = Disbursement.objects.select_related("family", "requested_by", "approved_by", "batch", "reissue_of")
    if status:
        qs = qs.filter(status=status)
    return qs


def batch_list(*, actor: User) -> QuerySet[PayoutBatch]:
    if not actor.has_role(Role.FINANCE, Role.ADMIN):
        return PayoutBatch.objects.none()
    return PayoutBatch.objects.select_related("created_by", "exported_by").annotate(
        item_count=Count("items"), item_total=Coalesce(Sum("items__amount"), Decimal("0.00"))
    )

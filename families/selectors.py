from django.db.models import Q, QuerySet

from accounts.models import AuditEvent, User
from accounts.permissions import DUPLICATE_REVIEW_ROLES, REGISTRY_ROLES
from families.models import DuplicateFlag, Family, Member
from families.names import clean_script, digits_key, search_key


def family_list(*, actor: User, search: str = "") -> QuerySet[Family]:
    """Families visible to `actor` (registry staff see all; partners none: they see referrals instead)."""
    if not actor.has_role(*REGISTRY_ROLES):
        return Family.objects.none()
    qs = Family.objects.select_related("crossing_point", "destination_province")
    search = clean_script(search)
    if search:
        qs = qs.filter(_search_condition(search))
    return qs


def _search_condition(text: str) -> Q:
    """Case number, phone, document number (digits) or names (any spelling, via the phonetic key)."""
    condition = Q(case_number__iexact=text)
    digits = digits_key(text)
    if len(digits) >= 6:
        condition |= Q(phone__endswith=digits[-9:])
        condition |= Q(id__in=Member.objects.filter(tazkira_key=digits).values("family_id"))
    words = search_key(text).split()
    if words:
        name_match = Q()
        for word in words:
            name_match &= Q(name_key__contains=word)
        condition |= Q(id__in=Member.objects.filter(name_match).values("family_id"))
    return condition


def family_get(*, actor: User, family_id) -> Family:
    return family_list(actor=actor).prefetch_related("members").get(pk=family_id)


def family_history(*, family: Family) -> QuerySet[AuditEvent]:
    """Audit events of the family and of its members, newest first."""
    member_ids = [str(pk) for pk in family.members.values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(target_type="families.family", target_id=str(family.pk))
        | Q(target_type="families.member", target_id__in=member_ids)
    ).order_by("-created_at", "-id")


def duplicate_flag_queue(
    *, actor: User, status: str | None = DuplicateFlag.Status.OPEN
) -> QuerySet[DuplicateFlag]:
    """Possible duplicates for review (`status=None`: all of them)."""
    if not actor.has_role(*DUPLICATE_REVIEW_ROLES):
        return DuplicateFlag.objects.none()
    qs = DuplicateFlag.objects.all() if status is None else DuplicateFlag.objects.filter(status=status)
    return qs.select_related("family", "candidate", "family__crossing_point", "candidate__crossing_point")

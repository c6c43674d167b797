"""Show what the registry stores in English (duplicate reasons, audit actions) in the reader's language.

{% load registry %}
{{ flag.reasons|duplicate_reasons }}    "same phone number; head born around the same year (1990)"
{{ event.action|audit_action }}         "family.created" -> "Family registered"
"""

import re

from django import template
from django.utils.translation import gettext, gettext_lazy

from aidcase.core.afghan import localize_digits

register = template.Library()

# The reasons families.duplicates writes, with the number they carry.
_REASONS = [
    (re.compile(r"^same Tazkira number$"), lambda m: gettext("same Tazkira number")),
    (re.compile(r"^same phone number$"), lambda m: gettext("same phone number")),
    (
        re.compile(r"^head's name and father's name similar \((\d+)/100\)$"),
        lambda m: (
            gettext("head's name and father's name similar (%(score)s/100)")
            % {"score": localize_digits(m[1])}
        ),
    ),
    (
        re.compile(r"^head born around the same year \((\d+)\)$"),
        lambda m: gettext("head born around the same year (%(year)s)") % {"year": localize_digits(m[1])},
    ),
]

_ACTIONS = {
    "family.created": gettext_lazy("Family registered"),
    "family.changed": gettext_lazy("Family details changed"),
    "family.merged": gettext_lazy("Merged into another record"),
    "family.read_by_partner": gettext_lazy("Read by a partner organization"),
    "families.imported": gettext_lazy("Imported from a household list"),
    "member.created": gettext_lazy("Member added"),
    "duplicate.distinct": gettext_lazy("Possible duplicate reviewed: not the same family"),
    "duplicate.merged": gettext_lazy("Possible duplicate reviewed: same family, merged"),
    "disbursement.requested": gettext_lazy("Support payment requested"),
    "disbursement.approved": gettext_lazy("Support payment approved"),
    "disbursement.rejected": gettext_lazy("Support payment rejected"),
    "disbursement.cancelled": gettext_lazy("Support payment cancelled"),
    "disbursement.exported": gettext_lazy("Support payment exported in a payout list"),
    "disbursement.paid": gettext_lazy("Support payment paid"),
    "disbursement.failed": gettext_lazy("Support payment failed"),
    "referral.created": gettext_lazy("Referred to a partner"),
    "referral.accepted": gettext_lazy("Referral accepted"),
    "referral.in_progress": gettext_lazy("Referral in progress"),
    "referral.completed": gettext_lazy("Referral completed"),
    "referral.declined": gettext_lazy("Referral declined"),
    "referral.closed": gettext_lazy("Referral closed"),
}


def reason_text(reason: str) -> str:
    for pattern, text in _REASONS:
        match = pattern.match(reason)
        if match:
            return text(match)
    return reason


@register.filter
def duplicate_reasons(reasons) -> str:
    return "; ".join(reason_text(str(r)) for r in reasons or [])


@register.filter
def audit_action(action: str) -> str:
    return str(_ACTIONS.get(action, action))

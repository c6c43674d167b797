from django import template

register = template.Library()


@register.inclusion_tag("grievances/_family.html", takes_context=True)
def family_grievances(context, family):
    """The family's complaints on its page, composed in without the registry importing this app."""
    from grievances.selectors import grievance_list

    user = context["request"].user
    return {"family": family, "grievances": list(grievance_list(actor=user, family_id=family.pk)[:50])}


@register.inclusion_tag("grievances/_payment.html", takes_context=True)
def payment_grievances(context, disbursement):
    """Complaints about one payment, on the payment's page (finance see what families say about it)."""
    from grievances.selectors import grievance_list

    user = context["request"].user
    qs = grievance_list(actor=user).filter(disbursement_id=disbursement.pk)
    return {"grievances": list(qs[:50])}

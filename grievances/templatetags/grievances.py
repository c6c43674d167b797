from django import template

register = template.Library()


@register.inclusion_tag("grievances/_family.html", takes_context=True)
def family_grievances(context, family):
    """The family's complaints on its page, composed in without the registry importing this app."""
    from grievances.selectors import grievance_list

    user = context["request"].user
    return {"family": family, "grievances": list(grievance_list(actor=user, family_id=family.pk)[:50])}

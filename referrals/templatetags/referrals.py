from django import template

register = template.Library()


@register.inclusion_tag("referrals/_refer_form.html", takes_context=True)
def referral_form(context, family):
    """The "refer this family" form, composed into the family page without the registry importing referrals."""
    from referrals.views import ReferralForm

    return {"family": family, "form": ReferralForm(), "csrf_token": context.get("csrf_token")}

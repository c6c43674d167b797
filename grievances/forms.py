from django import forms
from django.utils.translation import gettext_lazy as _

from grievances.models import Grievance


class GrievanceForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Grievance.Category.choices)
    channel = forms.ChoiceField(
        label=_("Received"),
        choices=[(c.value, c.label) for c in (Grievance.Channel.IN_PERSON, Grievance.Channel.HOTLINE)],
        initial=Grievance.Channel.IN_PERSON,
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=[("", _("By category"))] + list(Grievance.Priority.choices),
        required=False,
        help_text=_("Sets the due date. Protection concerns and payments not received default to high."),
    )
    description = forms.CharField(
        label=_("What the family says"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    disbursement = forms.ChoiceField(label=_("Payment"), required=False)
    sensitive = forms.BooleanField(
        label=_("Sensitive: only designated staff may read the description"), required=False
    )

    def __init__(self, *args, family, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["disbursement"].choices = [("", _("The latest one, for payment complaints"))] + [
            (str(d.pk), f"{d.reference} · {d.amount} {d.currency} · {d.get_status_display()}")
            for d in family.disbursements.order_by("-requested_at")
        ]


class TriageForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Grievance.Priority.choices)
    assigned_to = forms.ChoiceField(label=_("Assigned to"), required=False)
    sensitive = forms.BooleanField(label=_("Sensitive"), required=False)
    note = forms.CharField(
        label=_("Note"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].choices = [("", _("Nobody"))] + [(u.username, u.username) for u in users]


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Move to"), choices=Grievance.Status.choices)
    resolution = forms.CharField(
        label=_("Resolution (required to resolve)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    note = forms.CharField(
        label=_("Note (required to reopen)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [c for c in Grievance.Status.choices if c[0] in allowed]


class GrievanceFilterForm(forms.Form):
    show = forms.ChoiceField(
        label=_("Show"),
        choices=[
            ("active", _("Open and in progress")),
            ("overdue", _("Overdue")),
            ("mine", _("Assigned to me")),
            ("done", _("Resolved and closed")),
            ("all", _("All")),
        ],
        required=False,
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", _("Any"))] + list(Grievance.Category.choices), required=False
    )


class PdvRoundForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    paid_from = forms.DateField(label=_("Paid from"), widget=forms.DateInput(attrs={"type": "date"}))
    paid_to = forms.DateField(label=_("Paid to"), widget=forms.DateInput(attrs={"type": "date"}))
    confidence = forms.TypedChoiceField(
        label=_("Confidence level"),
        choices=[("0.90", "90 %"), ("0.95", "95 %"), ("0.99", "99 %")],
        initial="0.95",
        coerce=str,
    )
    margin = forms.TypedChoiceField(
        label=_("Margin of error"),
        choices=[("0.03", "3 %"), ("0.05", "5 %"), ("0.10", "10 %")],
        initial="0.05",
        coerce=str,
    )


class PdvAnswerForm(forms.Form):
    reached = forms.TypedChoiceField(
        label=_("Was the family reached?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        widget=forms.RadioSelect,
        coerce=lambda v: v == "yes",
    )
    confirmed_full_amount = forms.TypedChoiceField(
        label=_("Does the family confirm receiving the full amount?"),
        choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))],
        required=False,
        coerce=lambda v: v == "yes",
        empty_value=None,
    )
    amount_reported = forms.DecimalField(
        label=_("Amount the family received (AFN, 0 if nothing)"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

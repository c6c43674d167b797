from django import forms
from django.conf import settings
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from families.models import (
    CrossingPoint,
    DocumentationStatus,
    DuplicateFlag,
    KoboForm,
    Province,
    Relationship,
    ReturnType,
    Sex,
    Vulnerability,
)
from families.services import MemberInput


class FamilyForm(forms.Form):
    crossing_point = forms.ModelChoiceField(
        queryset=CrossingPoint.objects.filter(is_active=True), to_field_name="code", label=_("Crossing point")
    )
    arrival_date = forms.DateField(
        label=_("Arrival date"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    origin_location = forms.CharField(
        label=_("From (city/district in Pakistan)"), max_length=100, required=False
    )
    documentation_status = forms.ChoiceField(
        label=_("Documents in Pakistan"), choices=[("", "—"), *DocumentationStatus.choices], required=False
    )
    return_type = forms.ChoiceField(
        label=_("Return"), choices=[("", "—"), *ReturnType.choices], required=False
    )
    destination_province = forms.ModelChoiceField(
        queryset=Province.objects.all(), to_field_name="code", label=_("Destination province")
    )
    destination_district = forms.CharField(label=_("Destination district"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )
    consent_to_share = forms.BooleanField(
        label=_("The family agrees that its data is shared with partner organizations for referrals"),
        help_text=_(
            "Not a condition of assistance: a family that says no is registered and paid all the same."
        ),
        required=False,
    )
    vulnerabilities = forms.MultipleChoiceField(
        label=_("Household vulnerabilities"),
        choices=Vulnerability.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


# Names are typed in Arabic script (Dari, Pashto) or Latin script: each field takes the direction of its text.
NAME_INPUT = forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"})


class MemberForm(forms.Form):
    given_name = forms.CharField(label=_("Given name"), max_length=100, widget=NAME_INPUT)
    father_name = forms.CharField(label=_("Father's name"), max_length=100, widget=NAME_INPUT)
    family_name = forms.CharField(label=_("Family name"), max_length=100, required=False, widget=NAME_INPUT)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    age_years = forms.IntegerField(label=_("or age (years)"), min_value=0, max_value=120, required=False)
    relationship = forms.ChoiceField(label=_("Relationship to head"), choices=Relationship.choices)
    tazkira_number = forms.CharField(label=_("Tazkira number"), max_length=40, required=False)
    vulnerabilities = forms.MultipleChoiceField(
        label=_("Vulnerabilities"),
        choices=Vulnerability.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self):
        data = super().clean()
        if data.get("date_of_birth") is None and data.get("age_years") is None and not self.errors:
            self.add_error("date_of_birth", _("Give a date of birth or an estimated age."))
        return data

    def member_input(self) -> MemberInput:
        return MemberInput(**self.cleaned_data)


MemberFormSet = formset_factory(
    MemberForm, extra=0, min_num=1, validate_min=True, max_num=40, validate_max=True
)


class FamilyEditForm(forms.Form):
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    destination_province = forms.ModelChoiceField(
        queryset=Province.objects.all(), to_field_name="code", label=_("Destination province")
    )
    destination_district = forms.CharField(label=_("Destination district"), max_length=100, required=False)
    consent_to_share = forms.BooleanField(
        label=FamilyForm.base_fields["consent_to_share"].label, required=False
    )


class DuplicateResolveForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            (DuplicateFlag.Status.DISTINCT, _("Not the same family")),
            (DuplicateFlag.Status.MERGED, _("Same family: merge the newer record into the older one")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class FamilyImportForm(forms.Form):
    file = forms.FileField(
        label=_("Household list (CSV or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    dry_run = forms.BooleanField(
        label=_("Preview only: check the list and show what would happen, save nothing"),
        required=False,
        initial=True,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        limit = settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB; split it.") % {"limit": limit // 2**20}
            )
        return upload


class KoboExportForm(forms.Form):
    kobo_form = forms.ModelChoiceField(
        label=_("KoBo/ODK form"), queryset=KoboForm.objects.filter(is_active=True), empty_label=None
    )
    file = forms.FileField(
        label=_("XLSX export of the form (household sheet and members sheet)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("Upload the .xlsx export of the form."))
        if upload.size > settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB; split it.")
                % {"limit": settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES // 2**20}
            )
        return upload

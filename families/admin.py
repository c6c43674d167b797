from django import forms
from django.contrib import admin

from families.models import CrossingPoint, DuplicateFlag, Family, KoboForm, KoboSubmission, Member, Province


@admin.register(CrossingPoint)
class CrossingPointAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "case_prefix", "border", "is_active"]


@admin.register(Province)
class ProvinceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "capital"]
    search_fields = ["code", "name"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Registry records change only through services (with their audit trail), never by a raw admin save."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MemberInline(admin.TabularInline):
    model = Member
    fields = [
        "given_name",
        "father_name",
        "family_name",
        "sex",
        "date_of_birth",
        "age_years",
        "relationship",
        "tazkira_number",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Family)
class FamilyAdmin(ReadOnlyAdmin):
    list_display = ["case_number", "head_name", "household_size", "arrival_date", "crossing_point", "status"]
    list_filter = ["status", "crossing_point", "destination_province"]
    search_fields = ["case_number", "head_name", "phone"]
    date_hierarchy = "arrival_date"
    inlines = [MemberInline]
    list_select_related = ["crossing_point"]


@admin.register(DuplicateFlag)
class DuplicateFlagAdmin(ReadOnlyAdmin):
    list_display = ["family", "candidate", "score", "status", "resolved_by", "resolved_at"]
    list_filter = ["status"]
    list_select_related = ["family", "candidate", "resolved_by"]


class KoboFormAdminForm(forms.ModelForm):
    api_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="KoBo API token of an account that can read the form; leave empty to keep the stored one.",
    )

    server_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="e.g. https://kf.kobotoolbox.org; empty: exports only",
    )

    class Meta:
        model = KoboForm
        fields = [
            "asset_uid", "name", "server_url", "api_token", "members_group", "household_fields", "member_fields",
            "value_maps", "approved_only", "import_as", "is_active",
        ]  # fmt: skip

    def clean_api_token(self):
        return self.cleaned_data["api_token"] or (self.instance.api_token if self.instance.pk else "")


@admin.register(KoboForm)
class KoboFormAdmin(admin.ModelAdmin):
    form = KoboFormAdminForm
    list_display = ["asset_uid", "name", "server_url", "approved_only", "is_active", "last_pulled_at"]
    readonly_fields = ["last_pulled_at", "last_pull_error"]


@admin.register(KoboSubmission)
class KoboSubmissionAdmin(ReadOnlyAdmin):
    list_display = ["uuid", "form", "status", "family", "first_seen_at", "updated_at"]
    list_filter = ["form", "status"]
    list_select_related = ["form", "family"]

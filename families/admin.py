from django.contrib import admin

from families.models import CrossingPoint, DuplicateFlag, Family, Member, Province


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

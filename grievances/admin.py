"""Read-only admin: complaints change through the services (history and audit), and a sensitive complaint's
text stays hidden from administrators who are not designated staff."""

from django.contrib import admin

from grievances.models import Grievance, GrievanceEvent, PdvRound, PdvSample
from grievances.selectors import can_view_sensitive


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


SENSITIVE_TEXT = ("description", "resolution")


@admin.register(Grievance)
class GrievanceAdmin(ReadOnlyAdmin):
    list_display = [
        "short_id",
        "family",
        "category",
        "priority",
        "status",
        "sensitive",
        "due_at",
        "assigned_to",
    ]
    # Filters with an index each (tests/test_indexes.py): a changelist must not scan every complaint.
    list_filter = ["status", "category"]
    list_select_related = ["family", "assigned_to"]
    raw_id_fields = ["family", "disbursement", "pdv_sample", "assigned_to", "created_by", "resolved_by"]

    def get_fields(self, request, obj=None):
        fields = [f.name for f in Grievance._meta.fields]
        if obj is not None and obj.sensitive and not can_view_sensitive(request.user):
            fields = [f for f in fields if f not in SENSITIVE_TEXT]
        return fields


@admin.register(GrievanceEvent)
class GrievanceEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "grievance", "action", "from_status", "to_status", "actor"]
    ordering = ["-id"]  # the primary key follows creation: no extra index for the changelist
    list_select_related = ["grievance", "actor"]
    raw_id_fields = ["grievance", "actor"]

    def get_fields(self, request, obj=None):
        fields = [f.name for f in GrievanceEvent._meta.fields]
        if obj is not None and obj.grievance.sensitive and not can_view_sensitive(request.user):
            fields.remove("note")
        return fields


class PdvSampleInline(admin.TabularInline):
    model = PdvSample
    fields = ["position", "family", "disbursement", "reached", "confirmed_full_amount", "amount_reported"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    show_change_link = False


@admin.register(PdvRound)
class PdvRoundAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "paid_from", "paid_to", "population_size", "sample_size", "seed", "created_by"]
    list_select_related = ["created_by"]
    inlines = [PdvSampleInline]

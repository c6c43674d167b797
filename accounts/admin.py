from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import AuditEvent, Organization, User, UserAPIKey


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active", "created_at"]
    search_fields = ["code", "name"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "role", "organization", "is_active", "last_login"]
    list_filter = ["role", "organization", "is_active"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("aidcase", {"fields": ["role", "organization"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        ("aidcase", {"fields": ["role", "organization"]}),
    ]


@admin.register(UserAPIKey)
class UserAPIKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py createapikey` (shown once); here they can only be inspected or revoked."""

    list_display = ["prefix", "user", "name", "created", "last_used_at", "revoked", "expiry_date"]
    list_filter = ["revoked"]
    search_fields = ["prefix", "user__username"]
    readonly_fields = ["prefix", "user", "name", "created", "last_used_at"]
    fields = ["prefix", "user", "name", "created", "last_used_at", "expiry_date", "revoked"]

    def has_add_permission(self, request):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Who did (or saw) what: read-only, filterable by actor, action and record."""

    list_display = ["created_at", "actor_username", "action", "target_type", "target_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_username", "target_id", "action"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

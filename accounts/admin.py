"""Admin for organizations, memberships and API keys, scoped to the organizations one administers.

API keys are created through the API (the raw key is shown only then); here they can be looked
at and revoked. The stored hash is never shown.
"""

from django.contrib import admin, messages

from accounts.keys import revoke_api_key
from accounts.models import ApiKey, Membership, Organization
from webhooks_project.admin_scoping import OrganizationScopedAdmin, OrganizationScopedInlineMixin


class MembershipInline(OrganizationScopedInlineMixin, admin.TabularInline):
    model = Membership
    organization_path = "organization"
    extra = 0
    fields = ["user", "role"]
    autocomplete_fields: list[str] = []


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_path = "pk"
    org_admin_can_add = False
    org_admin_can_delete = False
    list_display = ["name", "id", "created_date"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_date"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin):
    list_display = ["user", "email", "organization", "role"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    list_select_related = ["user", "organization"]
    readonly_fields = ["id"]

    @admin.display(ordering="user__email")
    def email(self, obj):
        return obj.user.email


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    organization_path = "membership__organization"
    org_admin_can_add = False
    list_display = [
        "name", "prefix", "membership", "created_date", "last_used_date", "revoked_date",
    ]
    list_filter = [("revoked_date", admin.EmptyFieldListFilter), "membership__organization"]
    search_fields = ["name", "prefix", "membership__user__email"]
    list_select_related = ["membership__user", "membership__organization"]
    fields = [
        "id", "name", "prefix", "membership", "created_date", "last_used_date", "revoked_date",
    ]
    readonly_fields = [
        "id", "prefix", "membership", "created_date", "last_used_date", "revoked_date",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created through the API, where the raw key is shown once

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_date__isnull=True))
        for key in keys:
            revoke_api_key(key)
        self.message_user(request, f"Revoked {len(keys)} API key(s).", messages.SUCCESS)

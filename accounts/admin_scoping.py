"""Django admin scoped to organizations.

A superuser sees everything. A staff user who is an Admin of one or more organizations sees and
edits only those organizations' objects, without needing Django model permissions. Which rows
those are comes from each model's declared path to its organization (accounts/tenancy.py):
querysets, object permissions (membership of that queryset), and foreign key and many-to-many
choices are all limited through `visible_in_admin`. Anyone else sees nothing.
"""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path

from accounts.tenancy import (
    administered_organization_ids,
    is_organization_admin,
    visible_in_admin,
)

__all__ = [
    "OrganizationScopedAdmin",
    "OrganizationScopedInlineMixin",
    "ReadOnlyInlineMixin",
    "administered_organization_ids",
    "is_organization_admin",
]


class _ScopedPermissions:
    # Whether an organization Admin (not a superuser) may add or delete through this admin.
    org_admin_can_add = True
    org_admin_can_delete = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = visible_in_admin(field.queryset, request)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = visible_in_admin(field.queryset, request)
        return field


class OrganizationScopedAdmin(_ScopedPermissions, admin.ModelAdmin):
    """A ModelAdmin of a model that states its path to the organization."""

    def get_queryset(self, request):
        return visible_in_admin(super().get_queryset(request), request)

    def get_list_filter(self, request):
        """Filters on a relation offer only the related objects found in the scoped queryset:
        a plain related filter would list every organization's workflows, forms, data sets."""
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [self._related_only(item) for item in filters]

    def _related_only(self, item):
        if not isinstance(item, str):
            return item
        if get_fields_from_path(self.model, item)[-1].is_relation:
            return (item, admin.RelatedOnlyFieldListFilter)
        return item

    def _in_scope(self, request, obj) -> bool:
        if obj is None:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        return request.user.is_superuser or is_organization_admin(request)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        return is_organization_admin(request) and self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request):
        if request.user.is_superuser:
            return True
        return self.org_admin_can_add and is_organization_admin(request)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        return self.org_admin_can_delete and self.has_view_permission(request, obj)


class OrganizationScopedInlineMixin(_ScopedPermissions):
    """For inlines of a scoped admin: the parent is already in scope, so org Admins may edit."""

    def _allowed(self, request) -> bool:
        return request.user.is_superuser or is_organization_admin(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request, obj=None):
        return self._allowed(request) and (request.user.is_superuser or self.org_admin_can_add)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request) and (request.user.is_superuser or self.org_admin_can_delete)


class ReadOnlyInlineMixin:
    """An inline that only shows rows: no adding, changing or deleting through it."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

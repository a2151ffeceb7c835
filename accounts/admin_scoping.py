"""Django admin scoped to organizations.

A superuser sees everything. A staff user who is an Admin of one or more organizations sees and
edits only those organizations' objects, without needing Django model permissions: querysets are
filtered through `organization_path` (e.g. "organization", "run__organization", or "pk" for the
Organization model itself), object permissions check membership of that queryset, and foreign
key and many-to-many choices are limited the same way. Anyone else sees nothing.

A choice field pointing at a model with a scoped admin or inline (or at Organization, the user
model, or any model with an `organization` foreign key) is limited without further code.
"""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model

from accounts.models import Membership, Organization, Role

# model -> lookup path from that model to its Organization
ORGANIZATION_PATHS: dict[type, str] = {Organization: "pk", Membership: "organization"}


def administered_organization_ids(request) -> list[str]:
    """Ids of the organizations the request's staff user is an Admin of (cached per request)."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return []
    cached = getattr(request, "_administered_organization_ids", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=user, role=Role.ADMIN).values_list(
                "organization_id", flat=True
            )
        )
        request._administered_organization_ids = cached
    return cached


def is_organization_admin(request) -> bool:
    return bool(administered_organization_ids(request))


def scope_queryset(queryset, path: str, request):
    if request.user.is_superuser:
        return queryset
    return queryset.filter(**{f"{path}__in": administered_organization_ids(request)}).distinct()


def limit_choices(model, queryset, request):
    """A choice queryset for `model` limited to the request user's organizations."""
    if queryset is None or request.user.is_superuser:
        return queryset
    if model is get_user_model():
        return scope_queryset(queryset, "memberships__organization", request)
    path = organization_path_of(model)
    if path is None:
        return queryset
    return scope_queryset(queryset, path, request)


def organization_path_of(model) -> str | None:
    """How `model` reaches its Organization: from a scoped admin or inline, or a direct FK."""
    if model in ORGANIZATION_PATHS:
        return ORGANIZATION_PATHS[model]
    registered = admin.site._registry.get(model)
    if isinstance(registered, OrganizationScopedAdmin):
        return registered.organization_path
    if any(f.name == "organization" and f.related_model is Organization
           for f in model._meta.get_fields() if f.is_relation):
        return "organization"
    return None


class _ScopedPermissions:
    organization_path = "organization"
    # Whether an organization Admin (not a superuser) may add or delete through this admin.
    org_admin_can_add = True
    org_admin_can_delete = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        model = cls.__dict__.get("model")
        if model is not None and cls.organization_path:
            ORGANIZATION_PATHS.setdefault(model, cls.organization_path)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = limit_choices(db_field.related_model, field.queryset, request)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = limit_choices(db_field.related_model, field.queryset, request)
        return field


class OrganizationScopedAdmin(_ScopedPermissions, admin.ModelAdmin):
    """A ModelAdmin whose objects belong to an organization through `organization_path`."""

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), self.organization_path, request)

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

    organization_path = ""

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

"""Who the caller is in which organization, and what each role may do.

Every API view works inside one organization: the API key's membership, or for a session the
user's membership (the first one, or the one named by the X-Organization-Id header).
"""

from rest_framework import exceptions, permissions

from accounts.models import ApiKey, Membership, Role


def current_membership(request) -> Membership | None:
    cached = getattr(request, "_membership", None)
    if cached is not None:
        return cached
    membership = None
    if isinstance(getattr(request, "auth", None), ApiKey):
        membership = request.auth.membership
    elif request.user and request.user.is_authenticated:
        memberships = Membership.objects.select_related("organization").filter(user=request.user)
        wanted = request.headers.get("X-Organization-Id")
        if wanted:
            memberships = memberships.filter(organization_id=wanted)
        membership = memberships.order_by("id").first()
    request._membership = membership
    return membership


def current_organization(request):
    membership = current_membership(request)
    if membership is None:
        raise exceptions.PermissionDenied("You are not a member of any organization.")
    return membership.organization


class HasRole(permissions.BasePermission):
    """Read for the roles in `read_roles`, write for those in `write_roles`."""

    read_roles: frozenset[str] = frozenset({Role.ADMIN, Role.MEMBER, Role.GUEST})
    write_roles: frozenset[str] = frozenset({Role.ADMIN, Role.MEMBER})

    def has_permission(self, request, view) -> bool:
        membership = current_membership(request)
        if membership is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return membership.role in self.read_roles
        return membership.role in self.write_roles


class IsOrganizationAdmin(HasRole):
    message = "Only organization Admins may do this."
    read_roles = frozenset({Role.ADMIN})
    write_roles = frozenset({Role.ADMIN})


class IsMemberOrReadOnly(HasRole):
    message = "Guests may only read."

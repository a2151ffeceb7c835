"""Builders for the people side of test data: organizations, members, API keys.

Plain functions with keyword options, through the same services the product uses; fixtures in
conftest files call them. Workflow-shaped data (tasks, rules) is built in tests/domain/factories.py.
"""

from dataclasses import dataclass, field
from itertools import count

from accounts.keys import create_api_key
from accounts.models import Membership, Organization, Role
from accounts.services import add_member, create_organization

# The password of every member built with `password=PASSWORD` (those who log in to the admin).
PASSWORD = "test-password"

_numbers = count(1)


def organization(name: str = "Acme") -> Organization:
    return create_organization(name)


def member(
    organization: Organization, email: str | None = None, role: str = Role.MEMBER, *,
    password: str | None = None, staff: bool = False, username: str | None = None,
) -> Membership:
    """A member with `role`; without `email`, a new user with an address of its own. A member
    with a `password` and `staff=True` can log in to the admin (as `username`, else `email`)."""
    email = email or f"user{next(_numbers)}@example.com"
    return add_member(
        organization, email, role, password=password, staff=staff, username=username
    )


def staff_admin(
    organization: Organization, username: str, *, email: str | None = None
) -> Membership:
    """An Admin of `organization` who logs in to the Django admin as `username` with PASSWORD."""
    return member(
        organization, email or f"{username}@example.com", Role.ADMIN, password=PASSWORD,
        staff=True, username=username,
    )


def user(organization: Organization, email: str | None = None):
    """The user of a new Member of `organization`."""
    return member(organization, email).user


def api_key(membership: Membership, *, name: str = "test") -> str:
    """A new API key acting as `membership`; the raw key, to send as X-API-Key."""
    return create_api_key(membership, name=name)[1]


def organization_with_admin(name: str = "Acme") -> tuple[Organization, Membership]:
    """An organization and its Admin (admin@<name>.test)."""
    built = organization(name)
    return built, member(built, f"admin@{name.lower()}.test", Role.ADMIN)


@dataclass
class Org:
    """An organization with one member of each role, each with an API key (`keys[role]`)."""

    org: Organization
    admin: Membership
    member: Membership
    guest: Membership
    keys: dict[str, str] = field(default_factory=dict)

    def membership(self, role: str) -> Membership:
        return {"admin": self.admin, "member": self.member, "guest": self.guest}[role]


def organization_with_members(slug: str) -> Org:
    """"Org <SLUG>" with an Admin, a Member and a Guest: users "<role>-<slug>" with PASSWORD and
    an API key each; the Admin is staff, so may log in to the admin."""
    built = organization(f"Org {slug.upper()}")
    members = {
        role: member(
            built, f"{role}-{slug}@example.com", getattr(Role, role.upper()),
            password=PASSWORD, staff=(role == "admin"), username=f"{role}-{slug}",
        )
        for role in ("admin", "member", "guest")
    }
    keys = {role: api_key(membership, name=f"{role} key") for role, membership in members.items()}
    return Org(org=built, keys=keys, **members)

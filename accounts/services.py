"""The only code that creates organizations and memberships."""

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Membership, Organization, Role


@transaction.atomic
def create_organization(name: str) -> Organization:
    return Organization.objects.create(name=name)


@transaction.atomic
def add_member(
    organization: Organization, email: str, role: str = Role.MEMBER, *, password: str | None = None,
    staff: bool = False, username: str | None = None,
) -> Membership:
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username or email, defaults={"email": email, "is_staff": staff}
    )
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    membership, _ = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    return membership

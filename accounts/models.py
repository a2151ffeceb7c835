"""Organizations, their members with roles, and API keys acting for a membership."""

from django.conf import settings
from django.db import models

from kernel.ids import MuidField


class Role(models.TextChoices):
    ADMIN = "Admin"
    MEMBER = "Member"
    GUEST = "Guest"


class Organization(models.Model):
    id = MuidField()
    organization_path = "pk"  # an organization owns itself (accounts/tenancy.py)
    name = models.CharField(max_length=200)
    created_date = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    id = MuidField()
    organization_path = "organization"
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiKey(models.Model):
    """Only a SHA-256 of the key is stored; the key itself is shown once, when created."""

    id = MuidField()
    organization_path = "membership__organization"
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_date = models.DateTimeField(auto_now_add=True)
    last_used_date = models.DateTimeField(null=True, blank=True)
    revoked_date = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

"""Creates (once) a demo organization with an Admin who can log into the admin, and prints how."""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.keys import create_api_key
from accounts.models import Organization, Role
from accounts.services import add_member, create_organization

DEMO_ORG = "Demo Organization"
DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "demo-password"


class Command(BaseCommand):
    help = "Create the demo organization, its Admin user and an API key (idempotent)."

    def handle(self, *args, **options):
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        org = Organization.objects.filter(name=DEMO_ORG).first()
        if org is None:
            org = create_organization(DEMO_ORG)
            membership = add_member(
                org, DEMO_EMAIL, Role.ADMIN, password=DEMO_PASSWORD, staff=True,
                username="admin",
            )
            _, raw_key = create_api_key(membership, name="demo")
            key_line = f"  API key:  {raw_key}   (shown once; header X-API-Key)"
        else:
            key_line = "  API key:  created at first run (shown once then)"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"Demo organization '{org.name}' is ready.",
                    f"  Admin:    {base}/admin/   login: admin / {DEMO_PASSWORD}",
                    key_line,
                    f"  API:      {base}/api/v1/   docs: {base}/api/docs/",
                    f"  Health:   {base}/healthz",
                    "",
                ]
            )
        )

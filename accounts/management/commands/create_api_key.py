"""`manage.py create_api_key`: a new API key for a member, printed once, for when the one shown
at first `make run` is gone (keys are stored hashed, so no key can be shown again)."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounts.keys import create_api_key
from accounts.models import Membership


class Command(BaseCommand):
    help = ("Create an API key acting as a member of an organization and print it (once). "
            "Only the key goes to standard output, so `KEY=$(... create_api_key ...)` works.")

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True,
                            help="The member's email address or username.")
        parser.add_argument("--organization",
                            help="Organization name or id; needed when the user belongs to "
                                 "several.")
        parser.add_argument("--name", default="", help="What the key is for (shown in lists).")

    def handle(self, *args, email: str, organization: str | None, name: str, **options):
        memberships = Membership.objects.select_related("organization", "user").filter(
            Q(user__email__iexact=email) | Q(user__username=email)
        )
        if organization:
            memberships = memberships.filter(
                Q(organization__name=organization) | Q(organization__id=organization)
            )
        found = list(memberships)
        if not found:
            where = f" in organization {organization!r}" if organization else ""
            raise CommandError(f"No member {email!r}{where}.")
        if len(found) > 1:
            names = ", ".join(sorted(m.organization.name for m in found))
            raise CommandError(f"{email!r} belongs to several organizations ({names}); "
                               "choose one with --organization.")
        membership = found[0]
        key, raw = create_api_key(membership, name=name)
        self.stdout.write(raw)
        self.stderr.write(
            f"API key {key.prefix}… for {membership.user.email} ({membership.role}) in "
            f"{membership.organization.name}: shown only now. Send it as the X-API-Key header."
        )

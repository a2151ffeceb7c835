"""Creates (once) a demo organization: an Admin who can log into the admin, an API key, a
workflow, a data set, a form, webhooks to the local receiver, and a first run so deliveries
flow as soon as the workers start. Prints how to log in."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.keys import create_api_key
from accounts.models import Organization, Role
from accounts.services import add_member, create_organization
from datasets.services import create_data_set, create_record
from subscriptions.services import create_webhook
from workflows.builder import create_form, create_workflow
from workflows.services import start_run

DEMO_ORG = "Demo Organization"
DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_RECEIVER = f"http://127.0.0.1:{os.environ.get('RECEIVER_PORT', '8001')}/"


def seed_content(organization, actor) -> str:
    """The demo's workflow, data set, form and webhooks; returns the webhooks' secret."""
    workflow = create_workflow(organization, "Employee onboarding", actor=actor, tasks=[
        {"key": "details", "name": "Collect details", "formFields": [
            {"key": "dept", "label": "Department", "type": "Select",
             "options": ["Engineering", "Sales"]}]},
        {"key": "laptop", "name": "Order a laptop", "hiddenByDefault": True},
        {"key": "gate", "name": "Manager sign-off", "stopTask": True},
        {"key": "review", "name": "Review", "taskType": "Approval", "subjects": ["details"]},
        {"key": "welcome", "name": "Send welcome email"},
    ], rules=[{"condition": {"or": [{"and": [
        {"field": "dept", "operator": "Is", "value": "Engineering"}]}]},
        "action": "Show", "targets": {"tasks": ["laptop"], "fields": []}}])
    data_set = create_data_set(organization, "Customers", [
        {"name": "Name", "fieldType": "Text"}, {"name": "Since", "fieldType": "DateTime"}])
    create_form(organization, "Feedback", [{"label": "Comment", "type": "Textarea"}])
    _, secret = create_webhook(organization, {
        "name": "Demo: workflow events", "description": "Every workflow run and task event.",
        "url": DEMO_RECEIVER,
        "triggers": ["TaskCheckedUnchecked", "ChecklistCreated", "ChecklistCompleted",
                     "TaskReady", "TaskNotReady", "TaskApproved", "TaskRejected"],
    }, actor=actor)
    for name, triggers in (
        ("Demo: data set records",
         ["DataSetRecordCreated", "DataSetRecordUpdated", "DataSetRecordDeleted"]),
        ("Demo: form responses", ["FormResponseCompleted"]),
    ):
        # Each its own secret: the local receiver verifies with every webhook's secrets.
        create_webhook(
            organization, {"name": name, "url": DEMO_RECEIVER, "triggers": triggers}, actor=actor
        )
    start_run(workflow, actor=actor, name="Onboarding Ada Lovelace")
    create_record(data_set, {data_set.fields.get(name="Name").id: "Acme Corp"}, actor=actor)
    return secret


class Command(BaseCommand):
    help = "Create the demo organization and its content (idempotent)."

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
            secret = seed_content(org, membership.user)
            secret_file = Path(settings.LOCAL_DIR) / "demo-secret"
            secret_file.parent.mkdir(parents=True, exist_ok=True)
            secret_file.write_text(secret)
            key_line = f"  API key:  {raw_key}   (shown once; header X-API-Key)"
        else:
            key_line = (
                "  API key:  shown only when first created; for a new one run\n"
                f"            .venv/bin/python manage.py create_api_key --email {DEMO_EMAIL} "
                "--name demo\n"
                f"            or use {base}/admin/accounts/apikey/add/"
            )
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"Demo organization '{org.name}' is ready.",
                    f"  Admin:    {base}/admin/   login: admin / {DEMO_PASSWORD}",
                    key_line,
                    f"  API:      {base}/api/v1/   docs: {base}/api/docs/",
                    f"  Health:   {base}/healthz",
                    f"  Webhooks: delivered to the local receiver at {DEMO_RECEIVER} "
                    "(its output is prefixed 'receiver').",
                    "",
                ]
            )
        )

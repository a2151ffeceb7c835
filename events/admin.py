"""Events in the admin: the payload. Read-only, as the delivery log is: deleting an event would
delete its deliveries (retention prunes both). Registered by delivery (delivery/admin.py), which
adds every webhook the event went to."""

import json

from django.contrib import admin
from django.utils.html import format_html

from accounts.admin_scoping import OrganizationScopedAdmin
from kernel.timefmt import admin_time


def pretty_json(text) -> str:
    if not isinstance(text, str):
        text = json.dumps(text, indent=2, ensure_ascii=False, sort_keys=True)
    else:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
    return format_html("<pre style='white-space:pre-wrap;max-width:60em;margin:0'>{}</pre>",
                       text)


class EventAdmin(OrganizationScopedAdmin):
    list_display = ["id", "type", "created", "run_id", "organization"]
    list_filter = ["type", "created_date"]
    search_fields = ["id", "run_id", "subject_id"]
    date_hierarchy = "created_date"
    fields = ["id", "type", "created", "organization", "workflow_id", "run_id",
              "subject_id", "payload"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="created", ordering="created_date")
    def created(self, obj):
        return admin_time(obj.created_date)

    @admin.display(description="payload")
    def payload(self, obj):
        return pretty_json(obj.body)

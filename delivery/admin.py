"""Deliveries and their attempts in the admin: what was sent, what came back, redeliver."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from delivery import services
from delivery.models import Attempt, Delivery, WorkerHeartbeat
from subscriptions.admin import status_badge
from webhooks_project.admin_scoping import OrganizationScopedAdmin
from webhooks_project.errors import DomainConflict


def pretty_json(text: str):
    try:
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        pass
    return format_html("<pre style='white-space:pre-wrap;max-width:60em'>{}</pre>", text)


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ["number", "started_at", "duration_ms", "response_status", "error",
              "response_excerpt", "connected_address"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(OrganizationScopedAdmin):
    organization_path = "organization"
    list_display = ["id", "event_type", "url", "badge", "tries", "last_status_code",
                    "created_date"]
    list_filter = ["status", "event__type", "created_date"]
    search_fields = ["id", "event__id", "url"]
    date_hierarchy = "created_date"
    list_select_related = ["event"]
    readonly_fields = ["id", "event", "webhook", "organization", "url", "status", "tries",
                       "next_try_at", "last_try_at", "last_status_code", "last_error",
                       "created_date", "completed_date", "redelivery_of", "payload"]
    exclude = []
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="event type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description="status")
    def badge(self, obj):
        return status_badge(obj.status)

    @admin.display(description="payload")
    def payload(self, obj):
        return pretty_json(obj.event.body)

    @admin.action(description="Redeliver (same event, fresh tries)")
    def redeliver(self, request, queryset):
        done = 0
        for delivery in queryset.select_related("webhook", "event"):
            try:
                services.redeliver(delivery)
                done += 1
            except DomainConflict as exc:
                self.message_user(request, f"{delivery.id}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} redelivery(ies) queued.")


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "last_seen"]

    def has_module_permission(self, request):
        return request.user.is_superuser

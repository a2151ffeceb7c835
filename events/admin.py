"""Events in the admin: the payload, and every subscription it went to. Read-only, as the
delivery log is: deleting an event would delete its deliveries (retention prunes both)."""

from django.contrib import admin

from delivery.admin import pretty_json
from delivery.models import Delivery
from events.models import Event
from subscriptions.admin import status_badge
from webhooks_project.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizationScopedInlineMixin,
    ReadOnlyInlineMixin,
)
from webhooks_project.timefmt import admin_time


class DeliveryInline(ReadOnlyInlineMixin, OrganizationScopedInlineMixin, admin.TabularInline):
    """Every subscription the event went to (one delivery each, plus any redeliveries)."""

    model = Delivery
    fields = ["webhook", "url", "badge", "tries", "last_status_code", "last_error",
              "created", "completed", "redelivery_of"]
    readonly_fields = fields
    verbose_name_plural = "deliveries (every subscription this event went to)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("webhook").order_by("created_date")

    @admin.display(description="status")
    def badge(self, obj):
        return status_badge(obj.status)

    @admin.display(description="created")
    def created(self, obj):
        return admin_time(obj.created_date)

    @admin.display(description="completed")
    def completed(self, obj):
        return admin_time(obj.completed_date)


@admin.register(Event)
class EventAdmin(OrganizationScopedAdmin):
    list_display = ["id", "type", "created", "run_id", "organization"]
    list_filter = ["type", "created_date"]
    search_fields = ["id", "run_id", "subject_id"]
    date_hierarchy = "created_date"
    fields = ["id", "type", "created", "organization", "workflow_id", "run_id",
              "subject_id", "payload"]
    readonly_fields = fields
    inlines = [DeliveryInline]

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

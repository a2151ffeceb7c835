"""Deliveries and their attempts in the admin: what was sent, what came back, redeliver (an
action on the list and a button on the delivery's page)."""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from delivery import services
from delivery.models import Attempt, Delivery, WorkerHeartbeat
from subscriptions.admin import status_badge
from webhooks_project.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizationScopedInlineMixin,
    ReadOnlyInlineMixin,
)
from webhooks_project.errors import DomainConflict


def pretty_json(text: str):
    try:
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        pass
    return format_html("<pre style='white-space:pre-wrap;max-width:60em'>{}</pre>", text)


class AttemptInline(ReadOnlyInlineMixin, OrganizationScopedInlineMixin, admin.TabularInline):
    model = Attempt
    fields = ["number", "started_at", "duration_ms", "response_status", "error",
              "response_excerpt", "connected_address"]
    readonly_fields = fields
    show_change_link = False


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

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_redeliver"
        return [
            path("<path:object_id>/redeliver/",
                 self.admin_site.admin_view(self.redeliver_view), name=name),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}),
                         "can_redeliver": self.has_view_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def redeliver_view(self, request, object_id):
        """The page's "Redeliver" button: a new delivery of the same event, then its page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        delivery = self.get_object(request, unquote(object_id))
        if delivery is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        try:
            new = services.redeliver(delivery)
        except DomainConflict as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse(change, args=[delivery.pk]))
        self.message_user(request, format_html(
            'Redelivery queued as delivery {} (same event, same webhook-id); this is its page. '
            '<a href="{}">Back to the original</a>.',
            new.pk, reverse(change, args=[delivery.pk]),
        ))
        return HttpResponseRedirect(reverse(change, args=[new.pk]))

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

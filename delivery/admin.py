"""Deliveries and their tries in the admin, as a read-only delivery log: filter by webhook,
status, HTTP status, event type and date; search by delivery, event or webhook id; each try
with its time to the second, request and response headers and bodies. Nothing here edits or
deletes a delivery (retention prunes them); "Redeliver" makes a new one.

Events and webhooks are registered here too, their admins extended with their deliveries: the
events and subscriptions apps do not import delivery."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizationScopedInlineMixin,
    ReadOnlyInlineMixin,
)
from delivery import services
from delivery.admin_webhooks import WebhookAdmin
from delivery.models import Attempt, Delivery, WorkerHeartbeat
from events import admin as events_admin
from events.admin import pretty_json
from events.models import Event
from kernel.domain_errors import DomainConflict
from kernel.timefmt import admin_time
from subscriptions.admin import status_badge
from subscriptions.models import Webhook


class HttpStatusFilter(admin.SimpleListFilter):
    """The last try's HTTP status by class, or no answer at all (a network error)."""

    title = "HTTP status"
    parameter_name = "http"
    CLASSES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}

    def lookups(self, request, model_admin):
        return [*((name, name) for name in self.CLASSES), ("none", "no answer")]

    def queryset(self, request, queryset):
        value = self.value()
        if value in self.CLASSES:
            low, high = self.CLASSES[value]
            return queryset.filter(last_status_code__gte=low, last_status_code__lt=high)
        if value == "none":
            return queryset.filter(last_status_code__isnull=True, tries__gt=0)
        return queryset


class AttemptInline(ReadOnlyInlineMixin, OrganizationScopedInlineMixin, admin.StackedInline):
    model = Attempt
    fields = ["number", "started", "duration_ms", "response_status", "error",
              "connected_address", "request_headers_pretty", "response_headers_pretty",
              "response_body"]
    readonly_fields = fields
    show_change_link = False
    verbose_name = "try"
    verbose_name_plural = "tries (the request body is the payload above, the same each try)"

    @admin.display(description="started")
    def started(self, obj):
        return admin_time(obj.started_at)

    @admin.display(description="request headers")
    def request_headers_pretty(self, obj):
        return pretty_json(obj.request_headers)

    @admin.display(description="response headers")
    def response_headers_pretty(self, obj):
        return pretty_json(obj.response_headers)

    @admin.display(description="response body (first bytes)")
    def response_body(self, obj):
        return pretty_json(obj.response_excerpt) if obj.response_excerpt else "-"


@admin.register(Delivery)
class DeliveryAdmin(OrganizationScopedAdmin):
    list_display = ["id", "event_type", "webhook_link", "badge", "tries", "http",
                    "created", "last_try"]
    list_filter = ["status", HttpStatusFilter, "event__type", "webhook", "created_date"]
    search_fields = ["=id", "=event__id", "=webhook__id", "url", "webhook__name"]
    search_help_text = "A delivery id, event id or webhook id (exact), or part of the URL or " \
                       "webhook name."
    date_hierarchy = "created_date"
    list_select_related = ["event", "webhook"]
    fields = ["id", "event", "webhook", "organization", "url", "status", "tries", "next_try",
              "last_try", "last_status_code", "last_error", "created", "completed",
              "redelivery_of", "payload"]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is read-only; retention prunes it

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

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description="webhook")
    def webhook_link(self, obj):
        if obj.webhook is None:
            return format_html("<small>(deleted)</small> {}", obj.url)
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:subscriptions_webhook_change", args=[obj.webhook_id]),
                           obj.webhook.name or obj.url)

    @admin.display(description="status", ordering="status")
    def badge(self, obj):
        return status_badge(obj.status)

    @admin.display(description="HTTP", ordering="last_status_code")
    def http(self, obj):
        return obj.last_status_code or "-"

    @admin.display(description="created", ordering="created_date")
    def created(self, obj):
        return admin_time(obj.created_date)

    @admin.display(description="last try", ordering="last_try_at")
    def last_try(self, obj):
        return admin_time(obj.last_try_at)

    @admin.display(description="next try")
    def next_try(self, obj):
        return admin_time(obj.next_try_at)

    @admin.display(description="completed")
    def completed(self, obj):
        return admin_time(obj.completed_date)

    @admin.display(description="payload (the request body of every try)")
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


class DeliveryInline(ReadOnlyInlineMixin, OrganizationScopedInlineMixin, admin.TabularInline):
    """Every webhook the event went to (one delivery each, plus any redeliveries)."""

    model = Delivery
    fields = ["webhook", "url", "badge", "tries", "last_status_code", "last_error",
              "created", "completed", "redelivery_of"]
    readonly_fields = fields
    verbose_name_plural = "deliveries (every webhook this event went to)"

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
class EventAdmin(events_admin.EventAdmin):
    inlines = [DeliveryInline]


admin.site.register(Webhook, WebhookAdmin)

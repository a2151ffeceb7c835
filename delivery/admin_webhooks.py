"""The webhook admin as a delivery dashboard: subscriptions' WebhookAdmin extended here and
registered by delivery/admin.py, since subscriptions does not import delivery. The list adds
each webhook's success rate over 7 days and last error, with a link to its deliveries; the
change page adds health, success rate, last error and the recent deliveries as read-only
fields, and the buttons to send a test of a chosen event type and to recover failed deliveries
since a time."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from accounts.admin import AuditedAdmin
from delivery import services
from delivery.models import Attempt, Delivery, DeliveryStatus, WebhookHealth
from delivery.recovery import preview_recovery, start_recovery
from kernel.catalog import PING, TRIGGERS
from kernel.domain_errors import DomainConflict
from kernel.timefmt import admin_time
from subscriptions import admin as subscriptions_admin
from subscriptions.admin import status_badge

RATE_DAYS = 7
RECENT_DELIVERIES = 20
RATE_WINDOW_DAYS = 7
RATE_WINDOW_COUNT = 100
FINAL = [DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED]


def delivery_url(delivery_id: str) -> str:
    return reverse("admin:delivery_delivery_change", args=[delivery_id])


def _rate(statuses: list[str]) -> str:
    if not statuses:
        return "no finished deliveries"
    succeeded = sum(1 for status in statuses if status == DeliveryStatus.SUCCEEDED)
    return f"{100 * succeeded / len(statuses):.1f}% of {len(statuses)}"


def webhook_success_rate(webhook) -> str:
    """Succeeded out of finished (succeeded or failed) deliveries, two ways."""
    finished = Delivery.objects.filter(webhook=webhook, status__in=FINAL)
    since = timezone.now() - timedelta(days=RATE_WINDOW_DAYS)
    last_days = list(finished.filter(created_date__gte=since).values_list("status", flat=True))
    last_count = list(
        finished.order_by("-created_date").values_list("status", flat=True)[:RATE_WINDOW_COUNT]
    )
    return (f"{_rate(last_days)} in the last {RATE_WINDOW_DAYS} days; "
            f"{_rate(last_count)} of the last {RATE_WINDOW_COUNT}")


def webhook_last_error(webhook):
    """The newest try that did not get a 2xx answer."""
    attempt = (
        Attempt.objects.filter(delivery__webhook=webhook)
        .exclude(error="", response_status__gte=200, response_status__lt=300)
        .order_by("-started_at").first()
    )
    if attempt is None:
        return "none"
    error = attempt.error or f"HTTP {attempt.response_status}"
    return format_html(
        '{} — <a href="{}">try {} of delivery {}</a>: {}',
        admin_time(attempt.started_at),
        delivery_url(attempt.delivery_id), attempt.number, attempt.delivery_id,
        Truncator(error).chars(300),
    )


def webhook_health(webhook):
    record = WebhookHealth.objects.filter(webhook=webhook).first()
    if record is None:
        return "No delivery has finished yet."

    def when(value):
        return admin_time(value) if value else "never"

    return format_html(
        "{} consecutive failure(s); failing since: {}; last success: {}; last failure: {}",
        record.consecutive_failures,
        when(record.failing_since) if record.failing_since else "not failing",
        when(record.last_success_date), when(record.last_failure_date),
    )


def webhook_recent_deliveries(webhook):
    """The newest deliveries as a table, each linking to its delivery page."""
    deliveries = list(
        Delivery.objects.filter(webhook=webhook).select_related("event")
        .order_by("-created_date")[:RECENT_DELIVERIES]
    )
    if not deliveries:
        return "No deliveries yet."
    rows = format_html_join(
        "", '<tr class="recent-delivery" data-status="{}"><td><a href="{}">{}</a>{}</td>'
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (d.status, delivery_url(d.id), d.id,
             " (redelivery)" if d.redelivery_of_id else "",
             admin_time(d.created_date),
             d.event.type, status_badge(d.status), d.tries, d.last_status_code or "-",
             Truncator(d.last_error).chars(120) or "-")
            for d in deliveries
        ),
    )
    return format_html(
        '<table id="recent-deliveries"><thead><tr><th>delivery</th><th>created</th>'
        "<th>event</th><th>status</th><th>tries</th><th>HTTP</th><th>last error</th></tr>"
        "</thead><tbody>{}</tbody></table><p class=\"help\">The {} newest.</p>",
        rows, RECENT_DELIVERIES,
    )


class RecoverForm(forms.Form):
    FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
    since = forms.DateTimeField(
        input_formats=FORMATS, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Failed deliveries of events created at or after this time are redelivered "
                  "(those already redelivered are skipped).",
    )
    until = forms.DateTimeField(
        required=False, input_formats=FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional: only events created before this time.",
    )


def deliveries_url(webhook_id: str, **filters) -> str:
    query = urlencode({"webhook__id__exact": webhook_id, **filters})
    return f"{reverse('admin:delivery_delivery_changelist')}?{query}"


class WebhookAdmin(subscriptions_admin.WebhookAdmin):
    list_display = ["title", "badge", "rate", "error_summary", "trigger_list", "scope",
                    "deliveries_link", "organization"]
    readonly_fields = ["id", "badge", "disabled_reason", "disabled_date", "header_names",
                       "success_rate",
                       "last_error", "health_summary", "recent_deliveries",
                       *AuditedAdmin.AUDIT_FIELDS]
    actions = ["send_test", "rotate_secret", "enable", "disable"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        *before, audit = fieldsets
        return [
            *before,
            ("Health", {"fields": ["success_rate", "last_error", "health_summary"]}),
            ("Recent deliveries", {"fields": ["recent_deliveries"]}),
            audit,
        ]

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/send-test/", view(self.send_test_view),
                 name=f"{prefix}_send_test"),
            path("<path:object_id>/recover/", view(self.recover_view),
                 name=f"{prefix}_recover"),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        """The list's figures in the one query: finished and succeeded deliveries of the last
        7 days, and the newest try that did not get a 2xx answer."""
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is None or not match.url_name.endswith("_changelist"):
            return queryset
        since = timezone.now() - timedelta(days=RATE_DAYS)
        recent = Q(deliveries__created_date__gte=since)
        failed_tries = (
            Attempt.objects.filter(delivery__webhook=OuterRef("pk"))
            .exclude(error="", response_status__gte=200, response_status__lt=300)
            .order_by("-started_at")
        )
        return queryset.annotate(
            finished_count=Count("deliveries", filter=recent & Q(
                deliveries__status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED])),
            succeeded_count=Count("deliveries", filter=recent & Q(
                deliveries__status=DeliveryStatus.SUCCEEDED)),
            error_at=Subquery(failed_tries.values("started_at")[:1]),
            error_text=Subquery(failed_tries.values("error")[:1]),
            error_status=Subquery(failed_tries.values("response_status")[:1]),
        )

    @admin.display(description=f"success ({RATE_DAYS} d)")
    def rate(self, obj):
        finished = getattr(obj, "finished_count", 0)
        if not finished:
            return format_html('<span class="rate" data-rate="">{}</span>', "no deliveries")
        share = 100 * obj.succeeded_count / finished
        colour = "#1a7f37" if share >= 95 else "#9a6700" if share >= 80 else "#cf222e"
        return format_html(
            '<span class="rate" data-rate="{}" style="color:{}">{}%</span> <small>of {}</small>',
            f"{share:.1f}", colour, f"{share:.1f}", finished,
        )

    @admin.display(description="last error")
    def error_summary(self, obj):
        if getattr(obj, "error_at", None) is None:
            return "-"
        text = obj.error_text or f"HTTP {obj.error_status}"
        return format_html('<span class="last-error">{}</span><br><small>{}</small>',
                           Truncator(text).chars(80), admin_time(obj.error_at))

    @admin.display(description="deliveries")
    def deliveries_link(self, obj):
        return format_html('<a class="deliveries-link" href="{}">all</a> · '
                           '<a href="{}">failed</a>', deliveries_url(obj.pk),
                           deliveries_url(obj.pk, status__exact=DeliveryStatus.FAILED))

    @admin.display(description="success rate (last 7 days / last 100)")
    def success_rate(self, obj):
        return webhook_success_rate(obj)

    @admin.display(description="last error")
    def last_error(self, obj):
        return webhook_last_error(obj)

    @admin.display(description="health")
    def health_summary(self, obj):
        return webhook_health(obj)

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, obj):
        return webhook_recent_deliveries(obj)

    @admin.action(description="Send a test event (Ping)")
    def send_test(self, request, queryset):
        for webhook in queryset.filter(status="Active"):
            services.send_test(webhook)
        self.message_user(request, "Test events queued.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The page's "Send test" offers every type: the webhook's own triggers' types first."""
        webhook = self.get_object(request, unquote(object_id))
        extra = {}
        if webhook is not None:
            own = {TRIGGERS[name].event_type.value for name in webhook.triggers
                   if name in TRIGGERS}
            types = services.test_event_types()
            extra = {
                "test_types": sorted(types, key=lambda t: (t != PING and t not in own,
                                                           types.index(t))),
                "own_types": own,
                "deliveries_url": deliveries_url(webhook.pk),
            }
        return super().change_view(request, object_id, form_url,
                                   {**extra, **(extra_context or {})})

    def send_test_view(self, request, object_id):
        event_type = request.POST.get("type") or PING

        def act(webhook):
            if not webhook.is_active:
                raise DomainConflict("The webhook is disabled; enable it to send a test.")
            try:
                delivery = services.send_test(webhook, event_type)
            except ValidationError as exc:
                raise DomainConflict(" ".join(exc.message_dict["type"])) from None
            self.message_user(request, format_html(
                'Test event queued ({}): <a href="{}">delivery {}</a>.',
                event_type, delivery_url(delivery.id), delivery.id,
            ))
        return self._button(request, object_id, act)

    def recover_view(self, request, object_id):
        """Two steps: the window is asked for and the page says how many deliveries it would
        resend (delivery.recovery.preview_recovery); only the confirming POST resends them."""
        webhook = self._webhook_or_none(request, object_id)
        if webhook is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        preview = None
        if request.method == "POST":
            form = RecoverForm(request.POST)
            if form.is_valid():
                since, until = form.cleaned_data["since"], form.cleaned_data.get("until")
                confirmed = request.POST.get("confirm") == "1"
                try:
                    count = (start_recovery if confirmed else preview_recovery)(
                        webhook, since, until)
                except DomainConflict as exc:
                    form.add_error(exc.field or None, exc.message)
                else:
                    if confirmed:
                        self.message_user(
                            request, f"{count} failed delivery(ies) since "
                                     f"{admin_time(since)} queued for redelivery." if count else
                                     "No failed deliveries to recover in that window.",
                            messages.SUCCESS if count else messages.INFO,
                        )
                        return self._change_page(webhook)
                    preview = {"count": count, "since": admin_time(since),
                               "until": admin_time(until) if until else "now",
                               "failed_url": deliveries_url(webhook.pk, status__exact="failed")}
        else:
            start = timezone.localtime() - timedelta(days=1)
            form = RecoverForm(initial={"since": start.strftime("%Y-%m-%dT%H:%M")})
        context = {
            **self.admin_site.each_context(request),
            "title": "Recover failed deliveries",
            "subtitle": str(webhook),
            "opts": self.opts,
            "original": webhook,
            "form": form,
            "preview": preview,
            "has_view_permission": self.has_view_permission(request, webhook),
        }
        return TemplateResponse(
            request, "admin/subscriptions/webhook/recover.html", context
        )

"""Webhooks in the admin as a delivery dashboard: the list shows each webhook's name, status,
success rate over 7 days and last error, with a link to its deliveries; the form has a name and
description and the grouped trigger picker (subscriptions/admin_triggers.py); the change page
shows health and recent deliveries, with buttons to send a test of a chosen event type, rotate
the secret, enable or disable, and recover failed deliveries (subscriptions/admin_views.py)."""

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings as django_settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from accounts.models import Organization
from delivery.models import Attempt, DeliveryStatus
from subscriptions import admin_views, services
from subscriptions.admin_triggers import grouped_choices, without_aliases
from subscriptions.models import Webhook
from webhooks_project.admin_scoping import OrganizationScopedAdmin, administered_organization_ids
from webhooks_project.timefmt import admin_time

API_FIELD_TO_FORM = {"workflowId": "workflow", "formId": "form", "dataSetId": "data_set",
                     "taskId": "task_group_id", "webhooks": None}
SERVICE_FIELDS = ("name", "description", "url", "triggers", "workflow", "form", "data_set",
                  "task_group_id", "rate_limit", "ordered_delivery")
RATE_DAYS = 7


class GroupedCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes in groups, one line of help each (the label), styled by the change form."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, attrs={"class": "trigger-picker"}, **kwargs)


class WebhookForm(forms.ModelForm):
    url = forms.URLField(max_length=2048, assume_scheme="https",
                         widget=forms.URLInput(attrs={"class": "vURLField"}))
    triggers = forms.MultipleChoiceField(
        choices=grouped_choices, widget=GroupedCheckboxes,
        help_text="The events sent to this webhook, all of one group. Leave the scope below "
                  "empty to receive them for every workflow, form or data set.",
    )
    rate_limit = forms.IntegerField(
        required=False, min_value=1, max_value=services.MAX_RATE_LIMIT,
        label="Rate limit (deliveries per second)",
        help_text="Across every worker; empty for no limit.",
    )
    custom_headers = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        label="Custom headers",
        help_text="One <code>Name: value</code> per line, sent on every try. Write-only: "
                  "leave empty to keep the current ones; tick the box below to remove them.",
    )
    clear_custom_headers = forms.BooleanField(required=False,
                                              label="Remove every custom header")

    class Meta:
        model = Webhook
        fields = ["organization", "name", "description", "url", "triggers", "workflow",
                  "task_group_id", "form", "data_set", "rate_limit", "ordered_delivery"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2, "cols": 60})}
        help_texts = {
            "name": "Shown in lists instead of the URL, e.g. \"CRM sync\".",
            "ordered_delivery": "Deliveries about one workflow run, data set record or form "
                                "response go one at a time, in the order their events "
                                "happened; a failing one holds the later ones of its subject "
                                "until it ends. Redeliveries are sent outside the order.",
        }
        labels = {"ordered_delivery": "Ordered delivery per subject"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["triggers"] = without_aliases(self.instance.triggers)

    def clean_custom_headers(self) -> dict | None:
        text = self.cleaned_data.get("custom_headers") or ""
        if not text.strip():
            return None
        headers = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise ValidationError(f"Line {number}: write Name: value.")
            headers[name.strip()] = value.strip()
        return headers

    def service_data(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in SERVICE_FIELDS}
        headers = self.cleaned_data.get("custom_headers")
        data["headers"] = {} if self.cleaned_data.get("clear_custom_headers") else headers
        return data

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if organization is None or self.errors:
            return cleaned
        limit = django_settings.WEBHOOK_MAX_PER_ORGANIZATION
        if self.instance._state.adding and Webhook.objects.filter(
                organization=organization).count() >= limit:
            self.add_error(None, f"An organization can have at most {limit} webhooks; delete "
                                 "one first.")
            return cleaned
        try:
            services.validate_webhook_data(organization, self.service_data())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = ("custom_headers" if field.startswith("headers")
                          else "rate_limit" if field == "rateLimit"
                          else "ordered_delivery" if field == "orderedDelivery"
                          else API_FIELD_TO_FORM.get(field, field))
                self.add_error(target, errors)
        return cleaned


BADGE_COLOURS = {"succeeded": "#1a7f37", "failed": "#cf222e", "pending": "#9a6700",
                 "cancelled": "#6e7781", "Active": "#1a7f37", "Disabled": "#cf222e"}


def status_badge(status: str):
    return format_html(
        '<span class="badge" style="color:#fff;background:{};padding:1px 6px;'
        'border-radius:8px">{}</span>', BADGE_COLOURS.get(status, "#6e7781"), status,
    )


def deliveries_url(webhook_id: str, **filters) -> str:
    query = urlencode({"webhook__id__exact": webhook_id, **filters})
    return f"{reverse('admin:delivery_delivery_changelist')}?{query}"


@admin.register(Webhook)
class WebhookAdmin(admin_views.WebhookAdminViews, OrganizationScopedAdmin):
    form = WebhookForm
    list_display = ["title", "badge", "rate", "error_summary", "trigger_list", "scope",
                    "deliveries_link", "organization"]
    list_display_links = ["title"]
    list_filter = ["status", "organization"]
    search_fields = ["name", "description", "url", "=id"]
    readonly_fields = ["id", "badge", "disabled_reason", "disabled_date", "header_names",
                       "success_rate",
                       "last_error", "health_summary", "recent_deliveries", "created",
                       "created_by", "updated", "updated_by"]
    actions = ["send_test", "rotate_secret", "enable", "disable"]

    def get_fieldsets(self, request, obj=None):
        main = ["organization", "name", "description", "url", "triggers", "workflow",
                "task_group_id", "form", "data_set"]
        options = ("Delivery options", {"fields": ["rate_limit", "ordered_delivery",
                                                   "header_names", "custom_headers",
                                                   "clear_custom_headers"]})
        if obj is None:
            return [(None, {"fields": main}), options]
        return [
            (None, {"fields": ["id", "badge", "disabled_reason", "disabled_date", *main]}),
            options,
            ("Health", {"fields": ["success_rate", "last_error", "health_summary"]}),
            ("Recent deliveries", {"fields": ["recent_deliveries"]}),
            ("Audit", {"fields": ["created", "created_by", "updated", "updated_by"],
                       "classes": ["collapse"]}),
        ]

    def get_changeform_initial_data(self, request):
        """The organization chosen already when the user administers only one."""
        initial = super().get_changeform_initial_data(request)
        ids = administered_organization_ids(request)
        if len(ids) == 1:
            initial.setdefault("organization", ids[0])
        return initial

    def get_list_display(self, request):
        # Only a superuser sees several organizations' webhooks side by side.
        shown = super().get_list_display(request)
        return shown if request.user.is_superuser else [f for f in shown if f != "organization"]

    def get_readonly_fields(self, request, obj=None):
        # The organization of an existing webhook does not change.
        return self.readonly_fields + (["organization"] if obj is not None else [])

    @admin.display(description="custom headers set")
    def header_names(self, obj):
        return ", ".join(sorted(obj.headers or {}, key=str.lower)) or "none"

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

    @admin.display(description="webhook", ordering="name")
    def title(self, obj):
        if not obj.name:
            return obj.url
        return format_html("{}<br><small>{}</small>", obj.name, obj.url)

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
        return admin_views.success_rate(obj)

    @admin.display(description="last error")
    def last_error(self, obj):
        return admin_views.last_error(obj)

    @admin.display(description="health")
    def health_summary(self, obj):
        return admin_views.health(obj)

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, obj):
        return admin_views.recent_deliveries(obj)

    @admin.display(description="created", ordering="created_date")
    def created(self, obj):
        return admin_time(obj.created_date)

    @admin.display(description="updated", ordering="updated_date")
    def updated(self, obj):
        return admin_time(obj.updated_date)

    @admin.display(description="triggers")
    def trigger_list(self, obj):
        return ", ".join(obj.triggers)

    @admin.display(description="status", ordering="status")
    def badge(self, obj):
        return status_badge(obj.status)

    @admin.display(description="scope")
    def scope(self, obj):
        return obj.workflow or obj.form or obj.data_set or "everything"

    def save_model(self, request, obj, form, change):
        data = form.service_data()
        if change:
            services.replace_webhook(obj, data, actor=request.user)
            return
        organization: Organization = form.cleaned_data["organization"]
        webhook, secret = services.create_webhook(organization, data, actor=request.user)
        obj.pk = webhook.pk
        self.message_user(
            request, f"Signing secret (shown only now, copy it): {secret}", messages.WARNING
        )

    def save_related(self, request, form, formsets, change):
        pass  # nothing related is edited here

    def delete_model(self, request, obj):
        services.delete_webhook(obj)

    def delete_queryset(self, request, queryset):
        for webhook in queryset:
            services.delete_webhook(webhook)

    @admin.action(description="Send a test event (Ping)")
    def send_test(self, request, queryset):
        for webhook in queryset.filter(status="Active"):
            services.send_test(webhook)
        self.message_user(request, "Test events queued.")

    @admin.action(description="Rotate the signing secret")
    def rotate_secret(self, request, queryset):
        for webhook in queryset:
            secret = services.rotate_secret(webhook)
            self.message_user(
                request, f"New secret for {webhook} (shown only now): {secret}",
                messages.WARNING,
            )

    @admin.action(description="Enable")
    def enable(self, request, queryset):
        for webhook in queryset:
            services.enable_webhook(webhook, actor=request.user)

    @admin.action(description="Disable")
    def disable(self, request, queryset):
        for webhook in queryset:
            services.disable_webhook(webhook, reason=f"Disabled by {request.user}.")

"""Webhooks in the admin: triggers as checkboxes, the secret shown once; the change page shows
health, success rate, last error and the recent deliveries, with buttons to send a test, rotate
the secret, enable or disable, and recover failed deliveries (subscriptions/admin_views.py)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from accounts.models import Organization
from events.catalog import TRIGGERS
from subscriptions import admin_views, services
from subscriptions.models import Webhook
from webhooks_project.admin_scoping import OrganizationScopedAdmin

API_FIELD_TO_FORM = {"workflowId": "workflow", "formId": "form", "dataSetId": "data_set",
                     "taskId": "task_group_id", "webhooks": None}


class WebhookForm(forms.ModelForm):
    url = forms.URLField(max_length=2048, assume_scheme="https",
                         widget=forms.URLInput(attrs={"class": "vURLField"}))
    triggers = forms.MultipleChoiceField(
        choices=[(name, name) for name in TRIGGERS], widget=forms.CheckboxSelectMultiple
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
        fields = ["organization", "url", "triggers", "workflow", "task_group_id", "form",
                  "data_set", "rate_limit"]

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
        data = {name: self.cleaned_data.get(name) for name in
                ("url", "triggers", "workflow", "form", "data_set", "task_group_id",
                 "rate_limit")}
        headers = self.cleaned_data.get("custom_headers")
        data["headers"] = {} if self.cleaned_data.get("clear_custom_headers") else headers
        return data

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if organization is None or self.errors:
            return cleaned
        try:
            services.validate_webhook_data(organization, self.service_data())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = ("custom_headers" if field.startswith("headers")
                          else "rate_limit" if field == "rateLimit"
                          else API_FIELD_TO_FORM.get(field, field))
                self.add_error(target, errors)
        return cleaned


BADGE_COLOURS = {"succeeded": "#1a7f37", "failed": "#cf222e", "pending": "#9a6700",
                 "cancelled": "#6e7781", "Active": "#1a7f37", "Disabled": "#cf222e"}


def status_badge(status: str):
    return format_html(
        '<span style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>',
        BADGE_COLOURS.get(status, "#6e7781"), status,
    )


@admin.register(Webhook)
class WebhookAdmin(admin_views.WebhookAdminViews, OrganizationScopedAdmin):
    form = WebhookForm
    organization_path = "organization"
    list_display = ["url", "organization", "trigger_list", "scope", "badge", "created_date"]
    list_filter = ["status"]
    search_fields = ["url", "id"]
    readonly_fields = ["id", "badge", "disabled_reason", "disabled_date", "header_names",
                       "success_rate",
                       "last_error", "health_summary", "recent_deliveries", "created_date",
                       "created_by", "updated_date", "updated_by"]
    actions = ["send_test", "rotate_secret", "enable", "disable"]

    def get_fieldsets(self, request, obj=None):
        main = ["organization", "url", "triggers", "workflow", "task_group_id", "form",
                "data_set"]
        options = ("Delivery options", {"fields": ["rate_limit", "header_names",
                                                   "custom_headers", "clear_custom_headers"]})
        if obj is None:
            return [(None, {"fields": main}), options]
        return [
            (None, {"fields": ["id", "badge", "disabled_reason", "disabled_date", *main]}),
            options,
            ("Health", {"fields": ["success_rate", "last_error", "health_summary"]}),
            ("Recent deliveries", {"fields": ["recent_deliveries"]}),
            ("Audit", {"fields": ["created_date", "created_by", "updated_date", "updated_by"],
                       "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        # The organization of an existing webhook does not change.
        return self.readonly_fields + (["organization"] if obj is not None else [])

    @admin.display(description="custom headers set")
    def header_names(self, obj):
        return ", ".join(sorted(obj.headers or {}, key=str.lower)) or "none"

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

    @admin.display(description="triggers")
    def trigger_list(self, obj):
        return ", ".join(obj.triggers)

    @admin.display(description="status")
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

    @admin.action(description="Send a test event")
    def send_test(self, request, queryset):
        for webhook in queryset.filter(status="Active"):
            services.send_test(webhook)
        self.message_user(request, "Test events queued.")

    @admin.action(description="Rotate the signing secret")
    def rotate_secret(self, request, queryset):
        for webhook in queryset:
            secret = services.rotate_secret(webhook)
            self.message_user(
                request, f"New secret for {webhook.url} (shown only now): {secret}",
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

from subscriptions import incoming_admin  # noqa: E402,F401

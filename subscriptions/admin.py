"""Webhooks in the admin: the list shows each webhook's name, status, triggers and scope; the
form has a name and description and the grouped trigger picker (subscriptions/admin_triggers.py);
the change page has buttons to rotate the secret, enable or disable (subscriptions/admin_views.py).

WebhookAdmin is registered by delivery (delivery/admin.py), extended with the delivery dashboard
(delivery/admin_webhooks.py): success rate, last error, health, recent deliveries, send test,
recover."""

from django import forms
from django.conf import settings as django_settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from accounts.admin import AuditedAdmin
from accounts.admin_scoping import OrganizationScopedAdmin, administered_organization_ids
from accounts.models import Organization
from subscriptions import admin_views, services
from subscriptions.admin_triggers import grouped_choices, without_aliases
from subscriptions.models import Webhook

API_FIELD_TO_FORM = {"workflowId": "workflow", "formId": "form", "dataSetId": "data_set",
                     "taskId": "task_group_id", "webhooks": None}
SERVICE_FIELDS = ("name", "description", "url", "triggers", "workflow", "form", "data_set",
                  "task_group_id", "rate_limit", "ordered_delivery")


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


class WebhookAdmin(admin_views.WebhookAdminViews, AuditedAdmin, OrganizationScopedAdmin):
    form = WebhookForm
    list_display = ["title", "badge", "trigger_list", "scope", "organization"]
    list_display_links = ["title"]
    list_filter = ["status", "organization"]
    search_fields = ["name", "description", "url", "=id"]
    readonly_fields = ["id", "badge", "disabled_reason", "disabled_date", "header_names",
                       *AuditedAdmin.AUDIT_FIELDS]
    actions = ["rotate_secret", "enable", "disable"]

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
            self.audit_fieldset(),
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

    @admin.display(description="webhook", ordering="name")
    def title(self, obj):
        if not obj.name:
            return obj.url
        return format_html("{}<br><small>{}</small>", obj.name, obj.url)


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

"""Incoming webhooks in the admin: the public URL to copy, the JSONPath config checked on save,
and the recent requests with their bodies pretty-printed ("See payload")."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.admin import AuditedAdmin
from accounts.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizationScopedInlineMixin,
    ReadOnlyInlineMixin,
)
from incoming import services
from incoming.config import validate_config
from incoming.models import IncomingRequest, IncomingWebhook
from incoming.serializers import pretty_body

OUTCOME_COLOURS = {"created": "#1a7f37", "updated": "#1a7f37", "dropped": "#9a6700",
                   "duplicate": "#6e7781", "rejected": "#cf222e", "Active": "#1a7f37",
                   "Disabled": "#cf222e"}


def badge(text: str) -> SafeString:
    """An outcome or status as a coloured pill, so failures stand out in a long log."""
    return format_html(
        '<span style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>',
        OUTCOME_COLOURS.get(text, "#6e7781"), text,
    )


def pre(text: str) -> SafeString:
    """A body kept readable (wrapped, scrolled) without stretching the admin page."""
    return format_html(
        '<pre style="white-space:pre-wrap;max-height:24em;overflow:auto;margin:0">{}</pre>', text
    )


class IncomingWebhookForm(forms.ModelForm):
    verify_signatures = forms.BooleanField(
        required=False,
        help_text="Require a Standard Webhooks signature made with the signing secret (one is "
                  "generated when this is first ticked).",
    )

    class Meta:
        model = IncomingWebhook
        fields = ["organization", "name", "automation_app", "workflow", "data_set", "config",
                  "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["verify_signatures"].initial = bool(self.instance.signing_secret)
        if not self.instance._state.adding:
            # The target of an existing incoming webhook does not change; its URL would mean
            # something else.
            for name in ("organization", "workflow", "data_set"):
                self.fields[name].disabled = True

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        organization = cleaned.get("organization")
        workflow, data_set = cleaned.get("workflow"), cleaned.get("data_set")
        if (workflow is None) == (data_set is None):
            raise ValidationError("Choose a workflow or a data set (one of them).")
        target = workflow or data_set
        if organization is not None and target.organization_id != organization.pk:
            self.add_error("workflow" if workflow else "data_set",
                           "It belongs to another organization.")
            return cleaned
        try:
            cleaned["config"] = validate_config(
                cleaned.get("config"), workflow=workflow, data_set=data_set
            )
        except ValidationError as exc:
            self.add_error("config", [f"{key}: {' '.join(msgs)}"
                                      for key, msgs in exc.message_dict.items()]
                           if hasattr(exc, "error_dict") else exc.messages)
        return cleaned


class IncomingRequestInline(ReadOnlyInlineMixin, OrganizationScopedInlineMixin,
                            admin.TabularInline):
    model = IncomingRequest
    fields = ["received_date", "outcome_badge", "status_code", "created_object_id", "error",
              "payload"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = "recent requests (newest first)"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-received_date")

    @admin.display(description="outcome")
    def outcome_badge(self, obj):
        return badge(obj.outcome)

    @admin.display(description="body")
    def payload(self, obj):
        if not obj.body:
            return "-"
        return format_html("<details><summary>See payload{}</summary>{}</details>",
                           " (truncated)" if obj.body_truncated else "", pre(pretty_body(obj)))


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(AuditedAdmin, OrganizationScopedAdmin):
    form = IncomingWebhookForm
    list_display = ["name", "organization", "target", "status_badge", "public_url",
                    "created_date"]
    list_filter = ["status"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "url_to_copy", "signing_secret", "last_payload",
                       *AuditedAdmin.AUDIT_FIELDS]
    inlines = [IncomingRequestInline]
    actions = ["enable", "disable", "regenerate_url"]

    def get_fieldsets(self, request, obj=None):
        main = ["organization", "name", "automation_app", "workflow", "data_set", "status",
                "config", "verify_signatures"]
        fieldsets = [(None, {"fields": main})]
        if obj is not None:
            fieldsets.insert(0, ("Public URL", {"fields": ["id", "url_to_copy",
                                                           "signing_secret"]}))
            fieldsets.append(("Last payload", {"fields": ["last_payload"]}))
            fieldsets.append(self.audit_fieldset())
        return fieldsets

    @admin.display(description="target")
    def target(self, obj):
        return obj.workflow or obj.data_set

    @admin.display(description="status")
    def status_badge(self, obj):
        return badge(obj.status)

    @admin.display(description="URL (POST JSON or form-encoded payloads here)")
    def url_to_copy(self, obj):
        return format_html("<code>{}</code>", obj.public_url)

    @admin.display(description="last body received")
    def last_payload(self, obj):
        last = obj.requests.exclude(body="").order_by("-received_date").first()
        if last is None:
            return "Nothing received yet. Send a test payload to the URL, then pick JSONPaths "\
                   "from it here."
        return pre(pretty_body(last))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.update_incoming_webhook(obj, {
                "name": data["name"], "automation_app": data.get("automation_app", ""),
                "config": data.get("config"), "status": data["status"],
                "verify_signatures": data.get("verify_signatures", False),
            }, actor=request.user)
            return
        webhook = services.create_incoming_webhook(
            data["organization"], workflow=data.get("workflow"), data_set=data.get("data_set"),
            name=data["name"], automation_app=data.get("automation_app", ""),
            config=data.get("config"), status=data["status"],
            verify_signatures=data.get("verify_signatures", False), actor=request.user,
        )
        obj.pk = webhook.pk
        self.message_user(request, f"Payloads can now be posted to {webhook.public_url}",
                          messages.SUCCESS)

    @admin.action(description="Enable")
    def enable(self, request, queryset):
        for webhook in queryset:
            services.update_incoming_webhook(webhook, {"status": "Active"}, actor=request.user)

    @admin.action(description="Disable (payloads are answered 202 and dropped)")
    def disable(self, request, queryset):
        for webhook in queryset:
            services.update_incoming_webhook(webhook, {"status": "Disabled"}, actor=request.user)

    @admin.action(description="Regenerate the URL (the old one stops working)")
    def regenerate_url(self, request, queryset):
        for webhook in queryset:
            services.regenerate_token(webhook)
            self.message_user(request, f"New URL for {webhook.name}: {webhook.public_url}")

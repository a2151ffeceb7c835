"""The webhook change page's buttons that change the webhook itself (rotate secret,
enable/disable). The delivery dashboard on the same page (health, recent deliveries, send test,
recover failed deliveries) is delivery/admin_webhooks.py, which extends WebhookAdmin."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from kernel.domain_errors import DomainConflict
from subscriptions import services


class WebhookAdminViews:
    """Mixed into WebhookAdmin: the URLs behind the buttons of the change page."""

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/rotate-secret/", view(self.rotate_secret_view),
                 name=f"{prefix}_rotate_secret"),
            path("<path:object_id>/enable/", view(self.enable_view),
                 name=f"{prefix}_enable"),
            path("<path:object_id>/disable/", view(self.disable_view),
                 name=f"{prefix}_disable"),
            *super().get_urls(),
        ]

    def _webhook_or_none(self, request, object_id):
        webhook = self.get_object(request, unquote(object_id))
        if webhook is not None and not self.has_change_permission(request, webhook):
            raise PermissionDenied
        return webhook

    def _change_page(self, webhook):
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=[webhook.pk], current_app=self.admin_site.name)
        )

    def _button(self, request, object_id, act):
        """A POST button: runs `act(webhook)` and goes back to the change page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        webhook = self._webhook_or_none(request, object_id)
        if webhook is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        try:
            act(webhook)
        except DomainConflict as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return self._change_page(webhook)

    def rotate_secret_view(self, request, object_id):
        def act(webhook):
            secret = services.rotate_secret(webhook)
            self.message_user(
                request, f"New signing secret (shown only now, copy it): {secret}. The previous "
                         "one keeps signing during the grace period.", messages.WARNING,
            )
        return self._button(request, object_id, act)

    def enable_view(self, request, object_id):
        def act(webhook):
            services.enable_webhook(webhook, actor=request.user)
            self.message_user(request, "Enabled.")
        return self._button(request, object_id, act)

    def disable_view(self, request, object_id):
        def act(webhook):
            services.disable_webhook(webhook, reason=f"Disabled by {request.user}.")
            self.message_user(request, "Disabled: nothing is delivered to it until enabled.")
        return self._button(request, object_id, act)

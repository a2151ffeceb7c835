"""Who created a row and who changed it last, and when: the audit columns every configurable
object of an organization carries (webhooks, incoming webhooks, data set records, runs).

The API renders them with `accounts.serializers.AuditSerializer` and the admin shows them with
`accounts.admin.AuditedAdmin`; the services set `created_by`/`updated_by` to the actor.
"""

from django.conf import settings
from django.db import models


class Audited(models.Model):
    created_date = models.DateTimeField(auto_now_add=True)
    # A user who leaves keeps no hold on the rows: the reference is emptied, the row stays.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_date = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True

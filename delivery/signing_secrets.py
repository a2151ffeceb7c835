"""The signing secrets of the webhooks a worker process sends to, kept between claims.

Reading them after every claim cost a light-load worker about 8% of its processor time
(bench/README.md). A webhook's secrets change only through subscriptions.services (created with
the webhook, rotated), which moves the webhook's `updated_date` in the same transaction; the
claim reads that date with each row, so a kept entry is used only while it is the webhook's
current one. Expiry is checked at each use: an old secret stops signing at its moment, kept or
not.
"""

from __future__ import annotations

import threading
from datetime import datetime

from subscriptions.models import WebhookSecret

# A worker sends to a bounded set of webhooks at a time; past this many, the oldest go.
MAX_WEBHOOKS = 10_000

_Secrets = list[tuple[str, datetime | None]]  # (secret, expires), newest first


class SigningSecrets:
    """Webhook id -> its secrets, as of the webhook's version (its `updated_date`)."""

    def __init__(self, max_webhooks: int = MAX_WEBHOOKS) -> None:
        self._max = max_webhooks
        self._kept: dict[str, tuple[datetime, _Secrets]] = {}
        self._lock = threading.Lock()

    def signing(self, versions: dict[str, datetime], now: datetime) -> dict[str, list[str]]:
        """The secrets that sign at `now` for each webhook id -> version; one query for those
        not kept at that version, none when all are."""
        with self._lock:
            kept = {w: self._kept.get(w) for w in versions}
        stale = [w for w, v in versions.items() if kept[w] is None or kept[w][0] != v]
        if stale:
            read: dict[str, _Secrets] = {w: [] for w in stale}
            for webhook_id, secret, expires in WebhookSecret.objects.filter(
                webhook_id__in=stale
            ).order_by("-created_date").values_list("webhook_id", "secret", "expires_date"):
                read[webhook_id].append((secret, expires))
            with self._lock:
                for webhook_id, secrets in read.items():
                    self._kept.pop(webhook_id, None)  # re-inserted last: the newest
                    self._kept[webhook_id] = kept[webhook_id] = (versions[webhook_id], secrets)
                while len(self._kept) > self._max:
                    del self._kept[next(iter(self._kept))]
        return {w: [secret for secret, expires in kept[w][1] if expires is None or expires > now]
                for w in versions}


signing_secrets = SigningSecrets()

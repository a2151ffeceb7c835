"""When to retry a failed delivery, and how long to wait before the next try."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_rng = random.Random()


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    GONE = "gone"  # 410: the receiver asks us to stop; the webhook gets disabled
    RETRY = "retry"


def _delays_from(value: Any) -> tuple[float, ...]:
    # Settings read from the environment may still be a "30,300" string.
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    return tuple(float(item) for item in value)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry schedule: `delays[i]` is the wait before try i + 2; the last one repeats."""

    max_tries: int = 3
    delays: tuple[float, ...] = (30.0, 300.0)
    jitter: float = 0.2
    retry_after_cap: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        if not self.delays or any(not math.isfinite(d) or d < 0 for d in self.delays):
            raise ValueError("delays must be a non-empty sequence of non-negative seconds")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be a fraction in [0, 1)")
        if self.retry_after_cap < 0:
            raise ValueError("retry_after_cap must not be negative")

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        """The policy the settings declare (webhooks_project/settings.py: WEBHOOK_MAX_TRIES,
        WEBHOOK_RETRY_DELAYS, WEBHOOK_RETRY_JITTER, WEBHOOK_RETRY_AFTER_CAP); `settings` is
        django.conf.settings or any object with those attributes."""
        return cls(
            max_tries=int(settings.WEBHOOK_MAX_TRIES),
            delays=_delays_from(settings.WEBHOOK_RETRY_DELAYS),
            jitter=float(settings.WEBHOOK_RETRY_JITTER),
            retry_after_cap=float(settings.WEBHOOK_RETRY_AFTER_CAP),
        )

    def delay_for(
        self,
        next_try_number: int,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait before try `next_try_number` (2 for the first retry).

        Jitter spreads retries of many deliveries that failed together (say, during a receiver
        outage) so they do not all hit the receiver again in the same second. A Retry-After
        from the receiver wins when it asks for a longer wait, up to `retry_after_cap`, so a
        receiver cannot park a delivery for days.
        """
        if next_try_number < 2:
            raise ValueError("the first retry is try number 2")
        base = self.delays[min(next_try_number - 2, len(self.delays) - 1)]
        spread = (rng or _rng).uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        delay = max(0.0, base * (1.0 + spread))
        if retry_after is not None and math.isfinite(retry_after):
            delay = max(delay, min(max(retry_after, 0.0), self.retry_after_cap))
        return delay

    def classify(self, status_code: int | None) -> Outcome:
        """None means no HTTP response at all (network error, timeout, refused destination)."""
        if status_code is not None and 200 <= status_code < 300:
            return Outcome.SUCCEEDED
        if status_code == 410:
            return Outcome.GONE
        return Outcome.RETRY

    def is_last(self, try_number: int) -> bool:
        return try_number >= self.max_tries

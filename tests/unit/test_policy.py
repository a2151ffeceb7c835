import random
from types import SimpleNamespace

import pytest

from delivery.policy import Outcome, RetryPolicy


def test_defaults():
    policy = RetryPolicy()
    assert (policy.max_tries, policy.delays, policy.jitter) == (3, (30.0, 300.0), 0.2)
    assert policy.retry_after_cap == 3600.0


def test_schedule_without_jitter_reuses_last_delay():
    policy = RetryPolicy(max_tries=6, delays=(1.0, 10.0, 100.0), jitter=0)
    assert [policy.delay_for(n) for n in range(2, 7)] == [1.0, 10.0, 100.0, 100.0, 100.0]


def test_first_try_has_no_delay():
    with pytest.raises(ValueError):
        RetryPolicy().delay_for(1)


def test_jitter_stays_within_bounds_and_varies():
    policy = RetryPolicy(delays=(100.0,), jitter=0.2)
    rng = random.Random(42)
    values = [policy.delay_for(2, rng=rng) for _ in range(200)]
    assert all(80.0 <= v <= 120.0 for v in values)
    assert len(set(values)) > 100


def test_jitter_is_reproducible_with_seeded_rng():
    policy = RetryPolicy()
    assert policy.delay_for(3, rng=random.Random(7)) == policy.delay_for(3, rng=random.Random(7))


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, 30.0),
        (5.0, 30.0),  # shorter than our schedule: keep ours
        (120.0, 120.0),  # receiver asks for longer: honour it
        (10_000.0, 3600.0),  # but only up to the cap
        (-5.0, 30.0),
        (float("nan"), 30.0),
    ],
)
def test_retry_after(retry_after, expected):
    policy = RetryPolicy(jitter=0)
    assert policy.delay_for(2, retry_after=retry_after) == expected


def test_cap_does_not_shorten_our_own_schedule():
    policy = RetryPolicy(delays=(7200.0,), jitter=0, retry_after_cap=60.0)
    assert policy.delay_for(2, retry_after=100.0) == 7200.0


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SUCCEEDED),
        (201, Outcome.SUCCEEDED),
        (204, Outcome.SUCCEEDED),
        (299, Outcome.SUCCEEDED),
        (410, Outcome.GONE),
        (None, Outcome.RETRY),
        (301, Outcome.RETRY),
        (302, Outcome.RETRY),
        (400, Outcome.RETRY),
        (404, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
    ],
)
def test_classify(status, outcome):
    assert RetryPolicy().classify(status) is outcome


def test_is_last():
    policy = RetryPolicy(max_tries=3)
    assert [policy.is_last(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert RetryPolicy(max_tries=1).is_last(1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_tries": 0},
        {"delays": ()},
        {"delays": (-1.0,)},
        {"jitter": 1.0},
        {"jitter": -0.1},
        {"retry_after_cap": -1.0},
    ],
)
def test_invalid_configuration(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_from_settings_reads_values():
    settings = SimpleNamespace(
        WEBHOOK_MAX_TRIES=5,
        WEBHOOK_RETRY_DELAYS=[1, 2, 3],
        WEBHOOK_RETRY_JITTER=0,
        WEBHOOK_RETRY_AFTER_CAP=60,
    )
    policy = RetryPolicy.from_settings(settings)
    expected = RetryPolicy(max_tries=5, delays=(1.0, 2.0, 3.0), jitter=0.0, retry_after_cap=60)
    assert policy == expected


def test_from_settings_accepts_comma_separated_delays():
    policy = RetryPolicy.from_settings(SimpleNamespace(
        WEBHOOK_MAX_TRIES=3, WEBHOOK_RETRY_DELAYS="0.2, 0.4", WEBHOOK_RETRY_JITTER=0,
        WEBHOOK_RETRY_AFTER_CAP=60,
    ))
    assert policy.delays == (0.2, 0.4)


def test_from_settings_reads_the_declared_settings(settings):
    """Every setting the policy reads is declared (webhooks_project/settings.py), so a missing
    one is an error rather than a default repeated here."""
    del settings.WEBHOOK_RETRY_AFTER_CAP
    with pytest.raises(AttributeError):
        RetryPolicy.from_settings(settings)

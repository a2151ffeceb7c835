"""In-flight slots per slow endpoint, counted in the real (session) Redis."""

import time
import uuid

import pytest
from django.conf import settings

from delivery.throttle import (
    endpoint_is_slow,
    endpoint_of,
    give_back_slow_slot,
    note_durations,
    slow_endpoints,
    take_slow_slot,
)


@pytest.fixture
def base() -> str:
    return f"http://127.0.0.1:8/{uuid.uuid4().hex}"


def test_only_endpoints_marked_slow_are_limited(base):
    note_durations([(f"{base}/slow", None)])  # a try timed out
    assert slow_endpoints([f"{base}/slow", f"{base}/fast", f"{base}/slow"]) == {
        endpoint_of(f"{base}/slow")}
    assert endpoint_is_slow(f"{base}/slow") and not endpoint_is_slow(f"{base}/fast")


def test_a_slow_endpoint_has_its_limit_of_slots_across_workers(base):
    endpoint = endpoint_of(f"{base}/slow")
    limit = settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT
    tokens = [take_slow_slot(endpoint, 30) for _ in range(limit)]
    assert all(tokens)
    assert take_slow_slot(endpoint, 30) is None  # every slot held, by any worker
    assert take_slow_slot(endpoint_of(f"{base}/other"), 30)  # its neighbours are not limited
    give_back_slow_slot(endpoint, tokens[0])
    assert take_slow_slot(endpoint, 30)


def test_a_slot_held_past_the_longest_try_is_dropped(base):
    endpoint = endpoint_of(f"{base}/slow")
    for _ in range(settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT):
        assert take_slow_slot(endpoint, 30)
    # A worker killed while holding them never gives them back: they age out.
    time.sleep(0.05)
    assert take_slow_slot(endpoint, 0.01) is not None


def test_a_fast_batch_clears_only_a_flag_it_saw(base):
    url = f"{base}/hook"
    seen = slow_endpoints([url])
    note_durations([(url, 2.0)])  # another worker found it slow meanwhile
    note_durations([(url, 0.01)], seen)  # this batch saw it fast: leaves the flag
    assert endpoint_is_slow(url)
    seen = slow_endpoints([url])
    note_durations([(url, 0.01)], seen)
    assert not endpoint_is_slow(url)


def test_an_endpoint_is_slow_while_its_tries_are(base):
    url = f"{base}/hook"
    # A busy worker stretched one try of a fast receiver: the median decides.
    note_durations([(url, 0.01), (url, 1.5), (url, 0.02)])
    assert not endpoint_is_slow(url)
    note_durations([(url, 1.5), (url, 1.4), (url, 0.02)])
    assert endpoint_is_slow(url)
    note_durations([(url, 0.01)])
    assert not endpoint_is_slow(url)
    note_durations([(url, 0.01), (url, None)])
    assert endpoint_is_slow(url)


def test_with_the_limit_off_no_endpoint_is_marked_slow(base, settings):
    settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT = 0
    note_durations([(f"{base}/hook", None), (f"{base}/hook", 2.0)])
    assert not endpoint_is_slow(f"{base}/hook")
    assert slow_endpoints([f"{base}/hook"]) == set()

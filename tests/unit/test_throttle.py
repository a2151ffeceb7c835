"""In-flight slots per slow endpoint, counted in the real (session) Redis."""

import uuid

import pytest
from django.conf import settings

from delivery.throttle import endpoint_is_slow, endpoint_slots, note_durations


@pytest.fixture
def base() -> str:
    return f"http://127.0.0.1:8/{uuid.uuid4().hex}"


def test_a_fast_endpoint_takes_any_number_at_once(base):
    urls = {f"d{n}": f"{base}/fast" for n in range(10)}
    with endpoint_slots(urls, 30) as slots:
        assert slots.allowed == set(urls) and slots.slow == set()


def test_a_slow_endpoint_gets_its_limit_and_its_neighbours_are_not_limited(base):
    limit = settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT
    note_durations([(f"{base}/slow", None)])  # a try timed out
    assert endpoint_is_slow(f"{base}/slow") and not endpoint_is_slow(f"{base}/fast")
    urls = {f"s{n}": f"{base}/slow" for n in range(limit + 2)}
    urls |= {"f1": f"{base}/fast", "f2": f"{base}/fast"}
    with endpoint_slots(urls, 30) as slots:
        assert len([d for d in slots.allowed if d.startswith("s")]) == limit
        assert {"f1", "f2"} <= slots.allowed
        assert [e.endswith("/slow") for e in slots.slow] == [True]
        # Every slot of the slow endpoint is held: another worker gets none...
        with endpoint_slots({"x": f"{base}/slow"}, 30) as more:
            assert more.allowed == set()
    # ...until they are given back; refused tries never held one.
    with endpoint_slots({"x": f"{base}/slow"}, 30) as more:
        assert more.allowed == {"x"}


def test_a_drain_batch_to_a_slow_endpoint_gets_only_the_limit(base):
    urls = {f"d{n}": f"{base}/hook" for n in range(25)}
    with endpoint_slots(urls, 30) as slots:
        assert slots.allowed == set(urls)
    note_durations([(f"{base}/hook", 2.0)])
    with endpoint_slots(urls, 30) as slots:
        assert len(slots.allowed) == settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT


def test_a_fast_batch_clears_only_a_flag_the_slots_saw(base):
    url = f"{base}/hook"
    with endpoint_slots({"d": url}, 30) as slots:
        note_durations([(url, 2.0)])  # another worker found it slow meanwhile
        note_durations([(url, 0.01)], slots.slow)  # this batch saw it fast: leaves the flag
    assert endpoint_is_slow(url)
    with endpoint_slots({"d": url}, 30) as slots:
        note_durations([(url, 0.01)], slots.slow)
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
    with endpoint_slots({"d": f"{base}/hook"}, 30) as slots:
        assert slots.allowed == {"d"}

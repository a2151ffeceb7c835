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
    with endpoint_slots(urls, 30) as allowed:
        assert allowed == set(urls)


def test_a_slow_endpoint_gets_its_limit_and_its_neighbours_are_not_limited(base):
    limit = settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT
    note_durations([(f"{base}/slow", None)])  # a try timed out
    assert endpoint_is_slow(f"{base}/slow") and not endpoint_is_slow(f"{base}/fast")
    urls = {f"s{n}": f"{base}/slow" for n in range(limit + 2)}
    urls |= {"f1": f"{base}/fast", "f2": f"{base}/fast"}
    with endpoint_slots(urls, 30) as allowed:
        assert len([d for d in allowed if d.startswith("s")]) == limit
        assert {"f1", "f2"} <= allowed
        # Every slot of the slow endpoint is held: another worker gets none...
        with endpoint_slots({"x": f"{base}/slow"}, 30) as more:
            assert more == set()
    # ...until they are given back; refused tries never held one.
    with endpoint_slots({"x": f"{base}/slow"}, 30) as more:
        assert more == {"x"}


def test_a_drain_takes_only_the_limit_from_a_slow_endpoint(base):
    from delivery.drain import batch_size_for

    urls = {f"d{n}": f"{base}/hook" for n in range(25)}
    assert batch_size_for(urls) == 25
    note_durations([(f"{base}/hook", 2.0)])
    assert batch_size_for(urls) == settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT


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

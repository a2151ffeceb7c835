"""In-flight slots per slow endpoint, counted in the real (session) Redis."""

import uuid

import pytest
from django.conf import settings

from delivery.throttle import endpoint_is_slow, endpoint_slots, mark_slow


@pytest.fixture
def base() -> str:
    return f"http://127.0.0.1:8/{uuid.uuid4().hex}"


def test_a_fast_endpoint_takes_any_number_at_once(base):
    urls = {f"d{n}": f"{base}/fast" for n in range(10)}
    with endpoint_slots(urls, 30) as allowed:
        assert allowed == set(urls)


def test_a_slow_endpoint_gets_its_limit_and_its_neighbours_are_not_limited(base):
    limit = settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT
    mark_slow(f"{base}/slow")
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
    mark_slow(f"{base}/hook")
    assert batch_size_for(urls) == settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT

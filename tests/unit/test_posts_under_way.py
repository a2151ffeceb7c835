"""Which POSTs a record may linger for (delivery/pipeline.py, PostsUnderWay)."""

from __future__ import annotations

from delivery.pipeline import RECORD_LINGER, PostsUnderWay


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_post_just_started_may_answer_within_the_linger():
    clock = Clock()
    posts = PostsUnderWay(clock)
    assert not posts.young(RECORD_LINGER)
    token = posts.start()
    clock.now += RECORD_LINGER / 2
    assert posts.young(RECORD_LINGER)
    posts.end(token)
    assert not posts.young(RECORD_LINGER)


def test_a_post_out_for_longer_than_the_linger_holds_no_record():
    """A slow receiver's POST, out for seconds, must not make every record of its process wait
    the whole linger; a young POST started after it still does."""
    clock = Clock()
    posts = PostsUnderWay(clock)
    posts.start()  # a slow receiver's, never answered here
    clock.now += 2.0
    assert not posts.young(RECORD_LINGER)
    young = posts.start()
    assert posts.young(RECORD_LINGER)
    posts.end(young)
    assert not posts.young(RECORD_LINGER)


def test_the_youngest_post_still_out_counts_whatever_order_they_end_in():
    clock = Clock()
    posts = PostsUnderWay(clock)
    first = posts.start()
    clock.now += 0.01
    second = posts.start()
    clock.now += RECORD_LINGER - 0.005  # the first is past the linger, the second is not
    assert posts.young(RECORD_LINGER)
    posts.end(second)
    assert not posts.young(RECORD_LINGER)
    posts.end(first)
    assert not posts.young(RECORD_LINGER)

"""Group commit (webhooks_project/group_commit): write work that threads queue while a transaction
is under way runs together in the next one, each piece with its own result or error."""

import threading
import time

import pytest
from django.db import connection

from webhooks_project.group_commit import GroupCommit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="groups form on SQLite only"),
]


@pytest.fixture
def table():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS group_rows (who TEXT)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE group_rows")


def insert(who: str, fail: bool = False) -> str:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO group_rows VALUES (%s)", [who])
    if fail:
        raise ValueError(f"{who} failed")
    return f"{who} written"


def rows() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT who FROM group_rows")
        return {who for (who,) in cursor.fetchall()}


def run_in_threads(group: GroupCommit, calls: dict[str, tuple]) -> dict[str, object]:
    """Runs `first` (which blocks until the others have queued) and then the others, each in a
    thread of its own; returns each one's result or exception."""
    outcomes: dict[str, object] = {}

    def call(name, func, *args):
        try:
            outcomes[name] = group.run(func, *args)
        except Exception as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(name, *spec)) for name, spec in calls.items()]
    threads[0].start()
    while not group._busy:
        time.sleep(0.001)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def first_waiting_for(group: GroupCommit, others: int):
    """The first work: it holds its transaction until `others` pieces of work have queued."""
    def first():
        deadline = time.monotonic() + 5
        while len(group._queue) < others:
            assert time.monotonic() < deadline, "the others never queued"
            time.sleep(0.001)
        return insert("first")
    return first


def test_work_queued_meanwhile_shares_the_next_transaction(table):
    group = GroupCommit()
    outcomes = run_in_threads(group, {
        "first": (first_waiting_for(group, 2),), "b": (insert, "b"), "c": (insert, "c"),
    })
    assert outcomes == {"first": "first written", "b": "b written", "c": "c written"}
    assert group.transactions == 2  # first alone, then b and c together
    assert rows() == {"first", "b", "c"}
    assert not group._busy and not group._queue


def test_a_failing_piece_rolls_back_alone_and_raises_in_its_own_thread(table):
    group = GroupCommit()
    outcomes = run_in_threads(group, {
        "first": (first_waiting_for(group, 2),), "bad": (insert, "bad", True),
        "good": (insert, "good"),
    })
    assert isinstance(outcomes["bad"], ValueError) and str(outcomes["bad"]) == "bad failed"
    assert outcomes["first"] == "first written" and outcomes["good"] == "good written"
    assert group.transactions == 2
    assert rows() == {"first", "good"}


def test_a_lone_writer_commits_at_once_and_its_error_rolls_it_back(table):
    group = GroupCommit()
    assert group.run(insert, "alone") == "alone written"
    with pytest.raises(ValueError, match="again failed"):
        group.run(insert, "again", True)
    assert group.transactions == 2
    assert rows() == {"alone"}
    assert not group._busy and not group._queue


def test_no_more_than_max_works_share_a_transaction(table):
    group = GroupCommit(max_works=2)
    outcomes = run_in_threads(group, {
        "first": (first_waiting_for(group, 3),), **{n: (insert, n) for n in "bcd"},
    })
    assert sorted(outcomes.values()) == ["b written", "c written", "d written", "first written"]
    assert group.transactions == 3  # first; two of b, c, d; the third
    assert rows() == {"first", "b", "c", "d"}


def test_work_called_inside_a_transaction_joins_it(table):
    from django.db import transaction

    group = GroupCommit()
    with pytest.raises(RuntimeError), transaction.atomic():
        assert group.run(insert, "inner") == "inner written"
        raise RuntimeError("the caller's transaction rolls back")
    assert group.transactions == 0
    assert rows() == set()


def test_a_failing_on_commit_callback_does_not_undo_the_work(table, caplog):
    from django.db import transaction

    def insert_then_fail_after_commit():
        transaction.on_commit(lambda: 1 / 0)
        return insert("kept")

    group = GroupCommit()
    assert group.run(insert_then_fail_after_commit) == "kept written"
    assert rows() == {"kept"}
    assert "on-commit callback failed" in caplog.text

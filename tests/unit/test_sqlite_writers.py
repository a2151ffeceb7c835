"""SQLite writers take turns on the file lock (webhooks_project/sqlite_writers) instead of
SQLite's busy handler: a writer that has to wait is let in when the holder ends its transaction,
however long that takes, never failing with "database is locked"."""

import threading
import time

import pytest
from django.db import connection

from webhooks_project.sqlite_writers.base import DatabaseWrapper

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend only"),
]


def writer() -> DatabaseWrapper:
    # SQLite's own wait would give up after 50 ms: only the file lock can make the second
    # writer wait for the first one's 400 ms transaction.
    settings = {**connection.settings_dict,
                "OPTIONS": {**connection.settings_dict["OPTIONS"], "timeout": 0.05}}
    return DatabaseWrapper(settings, alias="writer-test")


def begin(db: DatabaseWrapper) -> None:
    db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def end(db: DatabaseWrapper, how: str) -> None:
    if how == "commit":
        db.commit()
    elif how == "rollback":
        db.rollback()
    if how == "close":
        db.close()
    else:
        db.set_autocommit(True)


@pytest.fixture
def table():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS writer_turns (who TEXT, at REAL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE writer_turns")


@pytest.mark.parametrize("how", ["commit", "rollback", "close"])
def test_a_second_writer_waits_for_the_first_transaction_to_end(table, how):
    first = writer()
    begin(first)
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO writer_turns VALUES ('first', ?)", [time.time()])
    entered: list[float] = []
    errors: list[BaseException] = []

    def second_writer():
        second = writer()
        try:
            begin(second)
            entered.append(time.time())
            with second.cursor() as cursor:
                cursor.execute("INSERT INTO writer_turns VALUES ('second', ?)", [time.time()])
            end(second, "commit")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            second.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.4)
    assert not entered, "the second writer began while the first held the database"
    ended = time.time()
    end(first, how)
    thread.join(timeout=10)
    first.close()
    assert not errors, errors
    assert entered and entered[0] >= ended
    with connection.cursor() as cursor:
        cursor.execute("SELECT who FROM writer_turns ORDER BY at")
        rows = [who for (who,) in cursor.fetchall()]
    assert rows == (["first", "second"] if how == "commit" else ["second"])

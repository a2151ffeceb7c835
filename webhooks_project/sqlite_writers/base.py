"""Django's SQLite backend, with writers taking turns on a file lock instead of napping (and
each distinct statement converted to SQLite's parameter style once, SQLiteCursorWrapper).

SQLite lets one connection write at a time. A connection that finds the database locked waits in
SQLite's busy handler, which sleeps and tries again with naps growing to 100 ms: with a few dozen
writers (worker threads claiming and recording tries, requests emitting events) the lock sits
free while its waiters nap, and unlucky ones wait for seconds. Measured in bench/README.md: at 30
events/s over 20 subscriptions, p99 latency 1.1 s with the busy handler, 0.1 s with this.

Here every transaction (an outermost `atomic` block; they all BEGIN IMMEDIATE, see settings)
first takes an exclusive flock(2) on a file next to the database, in every process that uses it.
A writer blocked on flock is woken by the kernel as soon as the holder lets go, and then finds
SQLite's own lock free. The lock is let go when the transaction commits or rolls back, or its
connection closes. Writers outside these processes (the sqlite3 shell) still meet SQLite's lock
and busy timeout as before. A writer waits for its turn as long as it takes, where the busy
handler gave up after the timeout; a transaction is short on every path here (the HTTP requests
of a try run outside any), and tests run under pytest-timeout.
"""

from __future__ import annotations

import fcntl
import functools
import os
from typing import IO

from django.db.backends.sqlite3 import base, creation


def writers_lock_path(database_name: str) -> str:
    # Not the database file itself: closing any descriptor of that file drops the POSIX
    # locks SQLite holds on it in this process.
    return f"{database_name}.writers"


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name, verbosity):
        super()._destroy_test_db(test_database_name, verbosity)
        if not self.is_in_memory_db(test_database_name):
            try:
                os.remove(writers_lock_path(test_database_name))
            except FileNotFoundError:
                pass


# A few dozen statements are hot; the bound keeps a long-lived worker's cache to a few MB.
@functools.lru_cache(maxsize=512)
def _qmark_style(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    """Converts each distinct statement from "format" to "qmark" style once: the event path and
    the workers run the same long INSERTs and UPDATEs again and again, and the conversion (a
    regular expression over the whole statement) cost more than some of them took to run."""

    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return _qmark_style(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
    _writer_lock_file: IO[bytes] | None = None
    _holds_writer_lock = False

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)

    def _start_transaction_under_autocommit(self) -> None:
        self._take_writer_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_writer_lock()
            if self._writer_lock_file is not None:
                self._writer_lock_file.close()
                self._writer_lock_file = None

    def _take_writer_lock(self) -> None:
        if self.is_in_memory_db():
            return  # nobody else can open it
        if self._writer_lock_file is None:
            # One open file per connection: flock(2) locks belong to an open file, so the
            # threads of one process exclude each other as much as other processes.
            self._writer_lock_file = open(writers_lock_path(self.settings_dict["NAME"]), "ab")  # noqa: SIM115
        fcntl.flock(self._writer_lock_file, fcntl.LOCK_EX)
        self._holds_writer_lock = True

    def _release_writer_lock(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            fcntl.flock(self._writer_lock_file, fcntl.LOCK_UN)

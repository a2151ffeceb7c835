"""Inserting rows on the event path without Django's per-call INSERT compilation.

Every change that emits events inserts an Event and its Delivery rows. `bulk_create` builds and
compiles its INSERT on each call, which costs several times more than the insert itself (see
bench/README.md); this keeps one INSERT statement per model and database and runs it with
`executemany`. Values go through each field's `pre_save` and `get_db_prep_save`, as
`bulk_create` does; primary keys are set before (muids), nothing is returned, no signal is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import connections, router
from django.db.models import Model


@functools.cache
def _insert_sql(model: type[Model], alias: str) -> str:
    quote = connections[alias].ops.quote_name
    fields = model._meta.local_concrete_fields
    columns = ", ".join(quote(field.column) for field in fields)
    return (f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})")


def insert_rows(model: type[Model], objs: Sequence[Model]) -> None:
    if not objs:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields = model._meta.local_concrete_fields
    rows = [
        [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        if len(rows) == 1:
            cursor.execute(_insert_sql(model, alias), rows[0])
        else:
            cursor.executemany(_insert_sql(model, alias), rows)
    for obj in objs:
        obj._state.adding, obj._state.db = False, alias

"""Inserting rows on the event path without Django's per-call INSERT compilation (and building
their instances without Model.__init__'s keyword path, new_instance).

Every change that emits events inserts an Event and its Delivery rows. `bulk_create` builds and
compiles its INSERT on each call, which costs several times more than the insert itself (see
bench/README.md); this keeps one INSERT statement per model, database and row count. Values
go through each field's `pre_save` and `get_db_prep_save`, as `bulk_create` does, except where
the field is known to keep the value as it is (below); primary keys are set before (muids) or
left to the database (auto fields, not read back), nothing is returned, no signal is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple, TypeVar

from django.db import connections, router
from django.db.models import CharField, DateField, Field, ForeignKey, Model, TextField
from django.db.models.fields import AutoFieldMixin

M = TypeVar("M", bound=Model)


@functools.cache
def _field_defaults(model: type[Model]) -> tuple[tuple[str, ...], tuple[Callable[[], object], ...]]:
    fields = model._meta.concrete_fields
    return tuple(f.attname for f in fields), tuple(f.get_default for f in fields)


def new_instance(model: type[M], **values: object) -> M:
    """`model(**values)` (values by attribute name) with every concrete field passed by
    position, defaults for the rest: Django's keyword path looks each field up among the
    keywords and costs about four times as much (31 against 8 us for a Delivery)."""
    names, defaults = _field_defaults(model)
    args = [values.pop(name) if name in values else default()
            for name, default in zip(names, defaults, strict=True)]
    if values:
        raise TypeError(f"{model.__name__} has no field {', '.join(values)}")
    return model(*args)


def _keeps_strings(field: Field) -> bool:
    """Whether the field stores a str value unchanged: a CharField or TextField whose prep is
    Django's own (it only calls `str` on the value), or a foreign key to one."""
    if isinstance(field, ForeignKey):
        return _keeps_strings(field.target_field)
    kind = type(field)
    return (
        isinstance(field, CharField | TextField)
        and kind.get_prep_value in (CharField.get_prep_value, TextField.get_prep_value)
        and kind.get_db_prep_value is Field.get_db_prep_value
        and kind.get_db_prep_save is Field.get_db_prep_save
    )


def _preparer(field: Field, connection) -> Callable[[Model], object]:
    """How one field's value is read from an instance and made ready for the database. The
    generic `pre_save` + `get_db_prep_save` path is most of an insert's Python time, so fields
    that store strings as they are skip it for str and None values."""
    auto_time = isinstance(field, DateField) and (field.auto_now or field.auto_now_add)
    if auto_time or type(field).pre_save not in (Field.pre_save, DateField.pre_save):
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
    read = attrgetter(field.attname)
    if _keeps_strings(field):
        def prepare(obj: Model) -> object:
            value = read(obj)
            if value is None or type(value) is str:
                return value
            return field.get_db_prep_save(value, connection)
        return prepare
    return lambda obj: field.get_db_prep_save(read(obj), connection)


class _Insert(NamedTuple):
    head: str  # INSERT INTO table (columns) VALUES
    row: str  # one row's placeholders
    fields: tuple[Field, ...]
    preparers: tuple[Callable[[Model], object], ...]


@functools.cache
def _compiled(model: type[Model], alias: str) -> _Insert:
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = tuple(field for field in model._meta.local_concrete_fields
                   if not (field.primary_key and isinstance(field, AutoFieldMixin)))
    columns = ", ".join(quote(field.column) for field in fields)
    return _Insert(
        head=f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ",
        row=f"({', '.join(['%s'] * len(fields))})",
        fields=fields,
        preparers=tuple(_preparer(field, connection) for field in fields),
    )


@functools.lru_cache(maxsize=256)
def _insert_sql(model: type[Model], alias: str, count: int) -> str:
    insert = _compiled(model, alias)
    return insert.head + ", ".join([insert.row] * count)


@dataclass
class PreparedRows:
    """Rows ready to insert: preparing them (the Python part) can happen before a transaction,
    inserting them (one statement per chunk) inside it."""

    model: type[Model]
    alias: str
    objs: Sequence[Model]
    rows: list[list]

    def statements(self) -> list[tuple[str, list]]:
        """One multi-row INSERT per chunk rather than executemany: SQLite steps (and lets go of
        the GIL) once per statement instead of once per row, inside the write lock."""
        if not self.rows:
            return []
        fields = _compiled(self.model, self.alias).fields
        size = max(1, connections[self.alias].ops.bulk_batch_size(fields, self.objs))
        return [
            (_insert_sql(self.model, self.alias, len(chunk)),
             [value for row in chunk for value in row])
            for chunk in (self.rows[start:start + size]
                          for start in range(0, len(self.rows), size))
        ]

    def insert(self) -> None:
        insert_together(self)


def _takes_several_statements(connection) -> bool:
    # psycopg binds parameters on the client unless told otherwise (Django's default), so one
    # call may hold several statements; SQLite's driver runs one statement per call.
    return (connection.vendor == "postgresql"
            and not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"))


def insert_together(*batches: PreparedRows) -> None:
    """Inserts several models' rows, in this order. On PostgreSQL all the statements go in one
    call, so the emitting request waits for the server once rather than once per model."""
    for alias in dict.fromkeys(batch.alias for batch in batches):
        connection = connections[alias]
        statements = [statement for batch in batches if batch.alias == alias
                      for statement in batch.statements()]
        if len(statements) > 1 and _takes_several_statements(connection):
            statements = [(";\n".join(sql for sql, _ in statements),
                           [value for _, params in statements for value in params])]
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
    for batch in batches:
        for obj in batch.objs:
            obj._state.adding, obj._state.db = False, batch.alias


def prepare_rows(model: type[Model], objs: Sequence[Model]) -> PreparedRows:
    alias = router.db_for_write(model)
    preparers = _compiled(model, alias).preparers
    return PreparedRows(model, alias, objs,
                        [[prepare(obj) for prepare in preparers] for obj in objs])


def insert_rows(model: type[Model], objs: Sequence[Model]) -> None:
    prepare_rows(model, objs).insert()

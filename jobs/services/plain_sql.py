"""Rows read and written as plain SQL on the worker's hot path.

The worker reads and writes a few rows for every run (claim, supervisor,
end, event). Building those statements through the ORM (a QuerySet, its
lookups, the compiler, `select_related`) costs several times the Python
of the database's own work on them: `bench/profile_burst.py` found a
third of the worker's CPU per run there. These helpers take the ORM's
field names and values and convert each value with its field's own
conversions, to and from the database, so that what is stored and what
is read back is exactly what the ORM would store and read; only the
statement is written here, as fixed text over the tables' columns.

They are for the hot path alone; everything else goes through the ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

M = TypeVar("M", bound=models.Model)
P = TypeVar("P", bound=models.Model)

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class Update:
    """Change row `pk` by `changes` if it is still as `expected` (see update_where)."""

    pk: int
    expected: Mapping[str, Any]
    changes: Mapping[str, Any]


def update_where(
    model: type[models.Model],
    *,
    pk: int,
    expected: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> int:
    """UPDATE row `pk` of `model` with `changes` if it is as `expected`.

    Return the rows changed (0 or 1), as ``filter(pk=pk, **expected)
    .update(**changes)`` would. Field names as in the ORM: ``worker``
    takes a Worker (or its key), None in `expected` means IS NULL.
    """
    conn = _connection()
    sql, params = _update_statement(model, Update(pk, expected, changes), conn)
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def update_each(model: type[models.Model], updates: Sequence[Update]) -> int:
    """Apply each of `updates` (as `update_where`); return the rows changed in all.

    One statement per shape (the same columns changed and compared, the
    same ones compared with NULL), run for all its rows (``executemany``),
    instead of the CASE per row and column that ``bulk_update`` builds.
    """
    conn = _connection()
    shapes: dict[str, list[list[Any]]] = {}
    for update in updates:
        sql, params = _update_statement(model, update, conn)
        shapes.setdefault(sql, []).append(params)
    changed = 0
    with conn.cursor() as cursor:
        for sql, rows in shapes.items():
            cursor.executemany(sql, rows)
            changed += cursor.rowcount
    return changed


def _update_statement(
    model: type[models.Model], update: Update, conn: BaseDatabaseWrapper
) -> tuple[str, list[Any]]:
    quote = conn.ops.quote_name
    meta = model._meta
    sets = []
    params: list[Any] = []
    for name, value in update.changes.items():
        field = _field(model, name)
        sets.append(f"{quote(field.column)} = %s")
        params.append(_to_db(field, value, conn))
    wheres = [f"{quote(meta.pk.column)} = %s"]
    params.append(update.pk)
    for name, value in update.expected.items():
        field = _field(model, name)
        if value is None:
            wheres.append(f"{quote(field.column)} IS NULL")
            continue
        wheres.append(f"{quote(field.column)} = %s")
        params.append(_to_db(field, value, conn))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608
        f"WHERE {' AND '.join(wheres)}"
    )
    return sql, params


def insert_returning_ids(model: type[M], objs: Sequence[M]) -> list[int]:
    """INSERT `objs`, rows of `model`; set and return their keys, in order.

    Each field's value is taken as `bulk_create` takes it (`pre_save`,
    then the field's conversion for the database); the primary key is
    the database's. PostgreSQL and SQLite (3.35 and newer) both return the
    new keys in the INSERT's own RETURNING clause, in the rows' order (as
    `bulk_create` relies on too). One statement, or as few as the
    database's limit on parameters allows.
    """
    if not objs:
        return []
    if any(type(obj) is not model for obj in objs):
        raise TypeError(
            f"insert_returning_ids({model.__name__}) got another model's row"
        )
    conn = _connection()
    quote = conn.ops.quote_name
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    batch = max(conn.ops.bulk_batch_size(fields, objs), 1)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = ", ".join(quote(field.column) for field in fields)
    keys: list[int] = []
    with conn.cursor() as cursor:
        for first in range(0, len(objs), batch):
            chunk = objs[first : first + batch]
            params: list[Any] = []
            for obj in chunk:
                params += [
                    _to_db(field, field.pre_save(obj, True), conn) for field in fields
                ]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([row] * len(chunk))} "
                f"RETURNING {quote(meta.pk.column)}",
                params,
            )
            keys += [key for (key,) in cursor.fetchall()]
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = conn.alias
    return keys


def rows_with_parent(model: type[M], parent: str, ids: Iterable[int]) -> list[M]:
    """Return the rows of `model` keyed `ids`, each with its `parent` row.

    As ``model.objects.filter(pk__in=ids).select_related(parent)``, in no
    particular order: one SELECT joining the two tables, each row turned
    into instances through the fields' own converters (`Model.from_db`),
    the parent cached on its child as `select_related` caches it.
    """
    keys = list(ids)
    if not keys:
        return []
    conn = _connection()
    plan = _join_plan(model, parent, conn.vendor)
    marks = ", ".join(["%s"] * len(keys))
    with conn.cursor() as cursor:
        cursor.execute(f"{plan.select} WHERE c.{plan.child_pk} IN ({marks})", keys)
        rows = cursor.fetchall()
    result = []
    split = len(plan.child.converters)
    for row in rows:
        child = plan.child.build(row[:split], conn)
        plan.link.set_cached_value(child, plan.parent.build(row[split:], conn))
        result.append(child)
    return result


@dataclass(frozen=True)
class _Reader:
    """How to turn one table's columns of a row into an instance."""

    model: type[models.Model]
    converters: tuple[tuple[Converter, ...], ...]
    columns: tuple[Any, ...]

    def build(self, values: Sequence[Any], conn: BaseDatabaseWrapper) -> Any:
        converted = []
        for value, converters, column in zip(
            values, self.converters, self.columns, strict=True
        ):
            for convert in converters:
                value = convert(value, column, conn)
            converted.append(value)
        # Every concrete field's value, in order: no field names needed.
        return self.model.from_db(conn.alias, (), converted)


@dataclass(frozen=True)
class _JoinPlan:
    select: str
    child_pk: str
    child: _Reader
    parent: _Reader
    link: Any


@functools.cache
def _join_plan(model: type[models.Model], parent: str, vendor: str) -> _JoinPlan:
    """The SELECT and readers for `model` joined to its `parent` (per database kind).

    The converters are the compiler's (the backend's, then the field's),
    taken from this thread's connection: they depend on the database's
    kind and the settings, not on the connection itself.
    """
    conn = _connection()
    quote = conn.ops.quote_name
    link = model._meta.get_field(parent)
    if not isinstance(link, models.ForeignKey):
        raise TypeError(f"{model.__name__}.{parent} is not a foreign key")
    parent_model: type[models.Model] = link.related_model  # type: ignore[assignment]
    child = _reader(model, "c", conn)
    parent_reader = _reader(parent_model, "p", conn)
    columns = [f"c.{quote(f.column)}" for f in model._meta.concrete_fields]
    columns += [f"p.{quote(f.column)}" for f in parent_model._meta.concrete_fields]
    select = (
        f"SELECT {', '.join(columns)} FROM {quote(model._meta.db_table)} c "  # noqa: S608
        f"JOIN {quote(parent_model._meta.db_table)} p "
        f"ON p.{quote(link.target_field.column)} = c.{quote(link.column)}"
    )
    return _JoinPlan(
        select=select,
        child_pk=quote(model._meta.pk.column),
        child=child,
        parent=parent_reader,
        link=link,
    )


def _reader(
    model: type[models.Model], alias: str, conn: BaseDatabaseWrapper
) -> _Reader:
    converters = []
    columns = []
    for field in model._meta.concrete_fields:
        column = field.get_col(alias)
        backend = conn.ops.get_db_converters(column)
        converters.append(tuple(backend + column.get_db_converters(conn)))
        columns.append(column)
    return _Reader(model=model, converters=tuple(converters), columns=tuple(columns))


def _field(model: type[models.Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _to_db(field: Field[Any, Any], value: Any, conn: BaseDatabaseWrapper) -> Any:
    if isinstance(value, models.Model):
        value = value.pk
    return field.get_db_prep_save(value, connection=conn)


def _connection() -> BaseDatabaseWrapper:
    """Return this thread's connection itself, not `django.db.connection`.

    That proxy looks the connection up again (a context-local read) at
    every attribute, and the converters touch it for every value.
    """
    return connections[DEFAULT_DB_ALIAS]

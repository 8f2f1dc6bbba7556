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

from django.db import connection, models
from django.db.models import Field

M = TypeVar("M", bound=models.Model)
P = TypeVar("P", bound=models.Model)

Converter = Callable[[Any, Any, Any], Any]


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
    meta = model._meta
    sets = []
    params: list[Any] = []
    for name, value in changes.items():
        field = meta.get_field(name)
        sets.append(f"{_quote(field.column)} = %s")
        params.append(_to_db(field, value))
    wheres = [f"{_quote(meta.pk.column)} = %s"]
    params.append(pk)
    for name, value in expected.items():
        field = meta.get_field(name)
        if value is None:
            wheres.append(f"{_quote(field.column)} IS NULL")
            continue
        wheres.append(f"{_quote(field.column)} = %s")
        params.append(_to_db(field, value))
    sql = (
        f"UPDATE {_quote(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608
        f"WHERE {' AND '.join(wheres)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert_returning_ids(objs: Sequence[models.Model]) -> list[int]:
    """INSERT `objs` (all of one model) in one statement; set and return their keys.

    Each field's value is taken as `bulk_create` takes it (`pre_save`,
    then the field's conversion for the database); the primary key is
    the database's. PostgreSQL and SQLite (3.35 and newer) both return the
    new keys in the INSERT's own RETURNING clause, in the rows' order.
    """
    if not objs:
        return []
    meta = objs[0]._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list[Any] = []
    for obj in objs:
        params += [_to_db(field, field.pre_save(obj, True)) for field in fields]
    columns = ", ".join(_quote(field.column) for field in fields)
    sql = (
        f"INSERT INTO {_quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES {', '.join([row] * len(objs))} RETURNING {_quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [key for (key,) in cursor.fetchall()]
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias
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
    plan = _join_plan(model, parent, connection.vendor)
    marks = ", ".join(["%s"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(f"{plan.select} WHERE c.{plan.child_pk} IN ({marks})", keys)
        rows = cursor.fetchall()
    result = []
    split = len(plan.child.converters)
    for row in rows:
        child = plan.child.build(row[:split])
        plan.link.set_cached_value(child, plan.parent.build(row[split:]))
        result.append(child)
    return result


@dataclass(frozen=True)
class _Reader:
    """How to turn one table's columns of a row into an instance."""

    model: type[models.Model]
    converters: tuple[tuple[Converter, ...], ...]
    columns: tuple[Any, ...]

    def build(self, values: Sequence[Any]) -> Any:
        converted = []
        for value, converters, column in zip(
            values, self.converters, self.columns, strict=True
        ):
            for convert in converters:
                value = convert(value, column, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, None, converted)


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
    link = model._meta.get_field(parent)
    parent_model = link.related_model
    child = _reader(model, "c")
    parent_reader = _reader(parent_model, "p")
    columns = [f"c.{_quote(f.column)}" for f in model._meta.concrete_fields]
    columns += [f"p.{_quote(f.column)}" for f in parent_model._meta.concrete_fields]
    select = (
        f"SELECT {', '.join(columns)} FROM {_quote(model._meta.db_table)} c "  # noqa: S608
        f"JOIN {_quote(parent_model._meta.db_table)} p "
        f"ON p.{_quote(link.target_field.column)} = c.{_quote(link.column)}"
    )
    return _JoinPlan(
        select=select,
        child_pk=_quote(model._meta.pk.column),
        child=child,
        parent=parent_reader,
        link=link,
    )


def _reader(model: type[models.Model], alias: str) -> _Reader:
    converters = []
    columns = []
    for field in model._meta.concrete_fields:
        column = field.get_col(alias)
        backend = connection.ops.get_db_converters(column)
        converters.append(tuple(backend + column.get_db_converters(connection)))
        columns.append(column)
    return _Reader(model=model, converters=tuple(converters), columns=tuple(columns))


def _to_db(field: Field, value: Any) -> Any:
    if isinstance(value, models.Model):
        value = value.pk
    return field.get_db_prep_save(value, connection=connection)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)

"""Fast inserts of generated tasks: a year of tasks for a province is ~10^5 rows, too many
for ORM unit-of-work objects. Values go through each column's own bind processor (once per
distinct value: periods, states and timestamps repeat), then to the driver directly:
``COPY … FROM STDIN`` (binary, asyncpg's ``copy_records_to_table``) on PostgreSQL,
``executemany`` on SQLite.

On SQLite a row that exists is skipped (ON CONFLICT DO NOTHING on the generation key): a
plan change may race the scheduled run of the same process. On PostgreSQL every run holds
the generator lock, so the rows are new, and COPY — which cannot skip a row — is safe: a
run that broke the rule would fail on the unique key, never duplicate.

Why COPY (bench/task_generation.py, cProfile and EXPLAIN ANALYZE): with the former
``INSERT … SELECT FROM unnest(arrays)`` asyncpg's encoding of 11 arrays of 120,000 values
(1.5 million type checks) was the client's largest item, and the server added a function
scan per batch; COPY encodes records in asyncpg's compiled code, and it takes a generator,
so the server inserts while later rows are built.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inspection_api.plans.models import Task

COLUMNS = (
    "plan_id",
    "checkpoint_id",
    "org_id",
    "kind",
    "period_start",
    "period_end",
    "state",
    "completed_at",
    "inspection_id",
    "covered_by_inspection_id",
    "created_at",
)
INSERT = f"INSERT INTO plan_tasks ({', '.join(COLUMNS)})"
CONFLICT = "ON CONFLICT (checkpoint_id, plan_id, period_start) DO NOTHING"
BATCH = 20_000


def _processors(connection: AsyncConnection) -> list[Any]:
    dialect = connection.dialect
    return [Task.__table__.c[name].type.bind_processor(dialect) for name in COLUMNS]


def _column(processor: Any, values: list[Any]) -> list[Any]:
    if processor is None:
        return values
    seen: dict[Any, Any] = {None: None}
    out = []
    for value in values:
        try:
            out.append(seen[value])
        except KeyError:
            seen[value] = converted = processor(value)
            out.append(converted)
    return out


def _converted(processors: list[Any], rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Rows with each value through its column's bind processor (once per distinct value)."""
    caches: list[dict[Any, Any] | None] = [None if p is None else {None: None} for p in processors]
    for row in rows:
        out = list(row)
        for index, cache in enumerate(caches):
            if cache is not None:
                value = out[index]
                try:
                    out[index] = cache[value]
                except KeyError:
                    out[index] = cache[value] = processors[index](value)
        yield tuple(out)


async def insert_tasks(connection: AsyncConnection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (Python values in ``COLUMNS`` order) in the connection's transaction.
    ``rows`` may be a generator: on PostgreSQL COPY sends each chunk as soon as it is built,
    so the server inserts while later rows are still being computed."""
    if connection.dialect.name == "postgresql":
        await _copy(connection, rows)
        return
    processors = _processors(connection)
    marks = ", ".join("?" for _ in COLUMNS)
    sql = f"{INSERT} VALUES ({marks}) {CONFLICT}"
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        columns = [_column(p, [row[i] for row in batch]) for i, p in enumerate(processors)]
        await connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))


async def _copy(connection: AsyncConnection, rows: Iterable[tuple[Any, ...]]) -> None:
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        # SQLAlchemy begins lazily, at the first statement: begin now, or COPY would commit
        # on its own.
        await connection.exec_driver_sql("SELECT 1")
    await driver.copy_records_to_table(
        Task.__tablename__, records=_converted(_processors(connection), rows), columns=COLUMNS
    )

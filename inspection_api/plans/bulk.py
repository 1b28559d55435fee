"""Fast inserts of generated tasks: a year of tasks for a province is ~10^5 rows, too many
for ORM unit-of-work objects. Values go through each column's own bind processor (once per
distinct value: periods, states and timestamps repeat), then to the driver directly:
``unnest`` of column arrays on PostgreSQL, ``executemany`` on SQLite.

On SQLite a row that exists is skipped (ON CONFLICT DO NOTHING on the generation key): a
plan change may race the scheduled run of the same process. On PostgreSQL every run holds
the generator lock, so the rows are new, and a plain INSERT spares the server the
speculative insertion of ON CONFLICT (about a fifth of its work here); a run that broke the
rule would fail on the unique key, never duplicate."""

from __future__ import annotations

from collections.abc import Sequence
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
PG_TYPES = (
    "integer",
    "integer",
    "integer",
    "varchar",
    "date",
    "date",
    "varchar",
    "timestamptz",
    "integer",
    "integer",
    "timestamptz",
)
INSERT = f"INSERT INTO plan_tasks ({', '.join(COLUMNS)})"
CONFLICT = "ON CONFLICT (checkpoint_id, plan_id, period_start) DO NOTHING"
BATCH = 20_000


def _column(connection: AsyncConnection, name: str, values: list[Any]) -> list[Any]:
    processor = Task.__table__.c[name].type.bind_processor(connection.dialect)
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


async def insert_tasks(connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (Python values in ``COLUMNS`` order)."""
    for first in range(0, len(rows), BATCH):
        batch = rows[first : first + BATCH]
        columns = [
            _column(connection, name, [row[i] for row in batch]) for i, name in enumerate(COLUMNS)
        ]
        if connection.dialect.name == "postgresql":
            arrays = ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(PG_TYPES, 1))
            sql = f"{INSERT} SELECT * FROM unnest({arrays})"
            await connection.exec_driver_sql(sql, tuple(columns))
        else:
            marks = ", ".join("?" for _ in COLUMNS)
            sql = f"{INSERT} VALUES ({marks}) {CONFLICT}"
            await connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))

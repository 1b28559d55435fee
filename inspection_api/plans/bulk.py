"""Fast inserts of generated tasks: a year of tasks for a province is ~10^5 rows, too many
for ORM unit-of-work objects. Values go through each column's own bind processor (once per
distinct value: periods, states and timestamps repeat), then to the driver directly:
``COPY … FROM STDIN`` (binary, asyncpg's ``copy_records_to_table``) on PostgreSQL,
``executemany`` on SQLite.

On SQLite a row that exists is skipped (ON CONFLICT DO NOTHING on the generation key): a
plan change may race the scheduled run of the same process. On PostgreSQL every run holds
the generator lock, so the rows are new, and COPY — which cannot skip a row — is safe: a
run that broke the rule would fail on the unique key, never duplicate.

Why COPY (bench/task_generation.py, EXPLAIN ANALYZE): the former ``INSERT … SELECT FROM
unnest(arrays)`` cost the client about a second to encode 11 arrays of 120,000 values
(asyncpg checks every element), and the server a function scan per batch and one heap
insert per row; COPY encodes records in asyncpg's compiled code and inserts in batches.
"""

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
    """Insert ``rows`` (Python values in ``COLUMNS`` order) in the connection's transaction."""
    if connection.dialect.name == "postgresql":
        await _copy(connection, rows)
        return
    for first in range(0, len(rows), BATCH):
        batch = rows[first : first + BATCH]
        columns = [
            _column(connection, name, [row[i] for row in batch]) for i, name in enumerate(COLUMNS)
        ]
        marks = ", ".join("?" for _ in COLUMNS)
        sql = f"{INSERT} VALUES ({marks}) {CONFLICT}"
        await connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))


async def _copy(connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        # SQLAlchemy begins lazily, at the first statement: begin now, or COPY would commit
        # on its own.
        await connection.exec_driver_sql("SELECT 1")
    columns = [
        _column(connection, name, [row[i] for row in rows]) for i, name in enumerate(COLUMNS)
    ]
    await driver.copy_records_to_table(
        Task.__tablename__, records=zip(*columns, strict=True), columns=COLUMNS
    )

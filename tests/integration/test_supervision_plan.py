"""How the completion statements reach PostgreSQL: with their window and scope as values.

asyncpg prepares every statement; PostgreSQL plans a prepared statement for its parameters
five times, then may keep one generic plan, made without their values. For a year of tasks
that generic plan sorted 120,000 rows on disk instead of hashing them in memory: twice the
CPU of a province report (docs/supervision.md, Performance). The window's days, today and
the scope are therefore written into the SQL text, so each execution is planned with them.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.supervision import repository as repo
from inspection_api.supervision.repository import Filters, GroupBy, Scope
from inspection_api.supervision.window import Granularity, buckets, parse_period

TODAY = date(2026, 3, 15)


async def test_the_window_and_scope_reach_the_planner_as_values(settings, backend):
    if backend != "services":
        pytest.skip("plans of prepared statements are PostgreSQL's (SQLite plans each time)")
    scope, year = Scope(org_id=7, path="/1/7/"), parse_period("2025")
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            for _ in range(6):  # past the five custom plans
                for group_by in GroupBy:
                    await repo.completion(
                        session, scope, year, today=TODAY, group_by=group_by, filters=Filters()
                    )
                await repo.completion_trend(
                    session, scope, buckets(year, Granularity.QUARTER), today=TODAY,
                    filters=Filters(),
                )  # fmt: skip
            rows = (
                await session.execute(
                    text(
                        "SELECT statement, parameter_types::text FROM pg_prepared_statements"
                        " WHERE statement LIKE '%FROM per_checkpoint%'"
                        " AND statement NOT LIKE '%pg_prepared_statements%'"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert len(rows) == 4  # one statement per grouping, and the trend's
    for statement, parameter_types in rows:
        assert "date" not in parameter_types, statement
        assert "'2025-01-01'" in statement and "'2026-01-01'" in statement  # the window
        assert "'2026-03-15'" in statement  # today
        assert "= 7" in statement or "'/1/7/'" in statement  # the scope

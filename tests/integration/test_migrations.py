"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from inspection_api.db import create_engine
from inspection_api.migrate import alembic_config, schema_is_current, upgrade
from inspection_api.models import Base


async def test_migrated_schema_matches_the_models(settings):
    engine = create_engine(settings.database_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    await engine.dispose()
    assert diff == []
    assert await schema_is_current(settings.database_url)


async def test_an_empty_database_is_reported_as_not_current(tmp_path: Path):
    assert not await schema_is_current(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    upgrade(url)

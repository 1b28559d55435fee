"""审计日志: the records an event refers to by id come back named, inside the jurisdiction only,
in a fixed number of queries however many records a page names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, select

from inspection_api.audit.service import Origin, record
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.orgs.models import Org
from inspection_api.web.keys import ENGINE
from tests.integration.anomaly_support import Db, ids, principal
from tests.plugins.api import json_of

URL = "/api/v1/audit-events"


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def note(db: Db, org_code: str, action: str, **detail: Any) -> None:
    """An event in the jurisdiction of ``org_code`` (as a service records one)."""
    async with db() as session:
        path = await session.scalar(select(Org.path).where(Org.code == org_code))
        record(session, action, origin=Origin(), actor=await principal(db, "sjz_admin"),
               org_path=path, **detail)  # fmt: skip
        await session.commit()


async def test_the_records_an_event_refers_to_are_named(client, login_as, db):
    known = await ids(db)
    admin = await login_as("admin")
    events = await json_of(await admin.get(URL), 200)
    # The demo's 整改意见 at 莲池汽配城, issued by 李检查 about an anomaly there.
    issued = next(e for e in events if e["action"] == "rectification_created")
    detail = issued["detail"]
    assert issued["actor_name"] == "李检查"
    assert issued["names"][f"checkpoint:{detail['checkpoint_id']}"] == "莲池汽配城（LC-0001）"
    assert issued["names"][f"user:{detail['responsible_user_id']}"] == "李检查"
    assert issued["names"][f"anomaly:{detail['anomaly_id']}"] == "企业经营状况异常"
    assert f"rectification:{detail['rectification_id']}" in issued["names"]
    assert issued["refs"] == {
        "rectification_id": "rectification",
        "checkpoint_id": "checkpoint",
        "anomaly_id": "anomaly",
        "responsible_user_id": "user",
    }
    assert detail["checkpoint_id"] == known["LC-0001"]

    # An edit's before/after ids are named too.
    await note(db, "HB-SJZ", "checkpoint_updated", checkpoint_id=known["CA-0002"],
               changes={"org_id": [known["HB-SJZ-CA"], known["HB-SJZ"]]})  # fmt: skip
    moved = (await json_of(await admin.get(URL), 200))[0]
    assert moved["refs"] == {"checkpoint_id": "checkpoint", "org_id": "org"}
    assert moved["names"] == {
        f"checkpoint:{known['CA-0002']}": "冀中纺织成品仓库（CA-0002）",
        f"org:{known['HB-SJZ-CA']}": "长安支行",
        f"org:{known['HB-SJZ']}": "石家庄分行",
    }


async def test_a_record_outside_the_jurisdiction_keeps_its_bare_id(client, login_as, db):
    known = await ids(db)
    sjz_admin, admin = await login_as("sjz_admin"), await login_as("admin")
    # An event in 石家庄分行's jurisdiction that names a checkpoint of 保定 (莲池支行) and a
    # user there: 石家庄's administrator may read the event, not those records' names.
    await note(db, "HB-SJZ", "checkpoint_updated", checkpoint_id=known["LC-0001"],
               responsible_user_id=known["inspector_bd"], org_id=known["HB-SJZ-CA"])  # fmt: skip
    sjz = (await json_of(await sjz_admin.get(URL), 200))[0]
    assert sjz["action"] == "checkpoint_updated"
    assert sjz["names"] == {f"org:{known['HB-SJZ-CA']}": "长安支行"}
    province = (await json_of(await admin.get(URL), 200))[0]
    assert province["names"][f"checkpoint:{known['LC-0001']}"] == "莲池汽配城（LC-0001）"
    assert province["names"][f"user:{known['inspector_bd']}"] == "李检查"


async def test_naming_a_page_takes_the_same_queries_however_many_records(client, login_as, db):
    known = await ids(db)
    admin = await login_as("admin")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = client.server.app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await note(db, "HB", "checkpoint_updated", checkpoint_id=known["CA-0001"])
        await json_of(await admin.get(f"{URL}?limit=1"), 200)
        one = len(statements)
        checkpoints = [v for k, v in known.items() if k[:3] in ("CA-", "LC-")]
        for checkpoint_id in checkpoints:
            await note(db, "HB", "checkpoint_updated", checkpoint_id=checkpoint_id,
                       responsible_user_id=known["inspector"], org_id=known["HB-SJZ"])  # fmt: skip
        statements.clear()
        page = await json_of(await admin.get(f"{URL}?limit={len(checkpoints)}"), 200)
        assert len(checkpoints) >= 3
        assert all(len(e["names"]) == 3 for e in page)
        assert len(statements) == one
    finally:
        event.remove(engine, "before_cursor_execute", count)

"""审计日志: the records an event refers to by id come back named, inside the jurisdiction only,
in a fixed number of queries however many records a page names; the log filters by Beijing
days, actor, action and object type, pages with the filters, and never shows more for them."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import event, select

from inspection_api.audit.models import AuditEvent
from inspection_api.audit.service import Origin, record
from inspection_api.auth.models import AuthSession
from inspection_api.beijing import local_date, minute_text, second_text
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.orgs.models import Org
from inspection_api.web.keys import ENGINE
from tests.integration.anomaly_support import Db, ids, principal
from tests.plugins.api import json_of

URL = "/api/v1/audit-events"
EXPORT = f"{URL}/export"


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def note(
    db: Db,
    org_code: str,
    action: str,
    *,
    by: str = "sjz_admin",
    at: datetime | None = None,
    **detail: Any,
) -> int:
    """An event in the jurisdiction of ``org_code`` (as a service records one) by ``by``,
    at ``at`` (default: now); its id."""
    async with db() as session:
        path = await session.scalar(select(Org.path).where(Org.code == org_code))
        added = record(session, action, origin=Origin(), actor=await principal(db, by),
                       org_path=path, **detail)  # fmt: skip
        if at is not None:
            added.at = at
        await session.commit()
        return added.id


@contextmanager
def counting(client: Any) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = client.server.app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


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
    with counting(client) as statements:
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


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def listed(user: Any, query: str) -> list[int]:
    return [e["id"] for e in await json_of(await user.get(f"{URL}?{query}"), 200)]


async def test_days_are_beijing_days_and_both_ends_are_inclusive(client, login_as, db):
    # 2025-03-01 in Beijing runs from 2025-02-28 16:00 UTC to 2025-03-01 16:00 UTC.
    before = await note(db, "HB-SJZ", "org_renamed", at=at("2025-02-28T15:59:59"))
    first = await note(db, "HB-SJZ", "org_renamed", at=at("2025-02-28T16:00:00"))
    last = await note(db, "HB-SJZ", "org_renamed", at=at("2025-03-01T15:59:59.999999"))
    after = await note(db, "HB-SJZ", "org_renamed", at=at("2025-03-01T16:00:00"))
    reviewer = await login_as("reviewer")
    day = "date_from=2025-03-01&date_to=2025-03-01"
    assert await listed(reviewer, day) == [last, first]
    assert await listed(reviewer, "date_from=2025-02-28&date_to=2025-02-28") == [before]
    assert await listed(reviewer, "date_from=2025-03-02&date_to=2025-03-02") == [after]
    assert await listed(reviewer, "date_to=2025-03-01") == [last, first, before]
    # The calendar's ends are days like any other (no overflow past them).
    every = await listed(reviewer, "date_from=0001-01-01&date_to=9999-12-31")
    assert {before, first, last, after} <= set(every)
    assert await listed(reviewer, "date_from=9999-12-31") == []
    assert await listed(reviewer, "date_to=0001-01-01") == []
    since = await listed(reviewer, "date_from=2025-03-01")
    assert {first, last, after} <= set(since) and before not in since
    # An event recorded now is in the range of today, a Beijing day.
    now = await note(db, "HB-SJZ", "org_renamed")
    async with db() as session:
        when = await session.scalar(select(AuditEvent.at).where(AuditEvent.id == now))
    today = local_date(when).isoformat()
    assert now in await listed(reviewer, f"date_from={today}&date_to={today}")


async def test_filters_by_actor_action_and_object_type(client, login_as, db):
    known = await ids(db)
    mine = await note(db, "HB-SJZ", "checkpoint_updated", checkpoint_id=known["CA-0001"])
    created = await note(db, "HB-SJZ", "checkpoint_created", checkpoint_id=known["CA-0002"])
    theirs = await note(db, "HB-SJZ", "checkpoint_updated", by="reviewer")
    plan = await note(db, "HB-SJZ", "plan_created", plan_id=1)
    reviewer = await login_as("reviewer")
    sjz_admin = known["sjz_admin"]

    by_actor = await listed(reviewer, f"actor_user_id={sjz_admin}")
    assert {mine, created, plan} <= set(by_actor) and theirs not in by_actor
    events = await json_of(await reviewer.get(f"{URL}?actor_user_id={sjz_admin}"), 200)
    assert {e["actor_user_id"] for e in events} == {sjz_admin}
    assert await listed(reviewer, "action=checkpoint_updated") == [theirs, mine]
    about = await listed(reviewer, "object_type=checkpoint")
    assert {mine, created, theirs} <= set(about) and plan not in about
    both = f"object_type=checkpoint&actor_user_id={sjz_admin}"
    assert await listed(reviewer, both) == [created, mine]
    assert await listed(reviewer, "object_type=plan&action=checkpoint_updated") == []
    # 操作类型 comes with its Chinese label; the choices list them with their 对象类型.
    updated = (await json_of(await reviewer.get(f"{URL}?action=checkpoint_updated"), 200))[0]
    assert updated["action_label"] == "修改检查点"
    choices = await json_of(await reviewer.get(f"{URL}/actions"), 200)
    assert {"action": "checkpoint_updated", "label": "修改检查点", "object_type": "checkpoint",
            "object_label": "检查点"} in choices  # fmt: skip
    assert {"action": "remote_session_created", "label": "新建远程巡检",
            "object_type": "remote_session", "object_label": "远程巡检"} in choices  # fmt: skip
    inspector = await login_as("inspector")  # no audit.read
    assert (await inspector.get(f"{URL}/actions")).status == 403


async def test_paging_keeps_the_filters(client, login_as, db):
    known = await ids(db)
    wanted = []
    for action in ("plan_rule_created", "plan_rule_updated", "plan_rule_deleted") * 2:
        wanted.append(await note(db, "HB-SJZ", action, rule_id=1))  # 全局规则 by sjz_admin
        await note(db, "HB-SJZ", "plan_updated", plan_id=1)  # another object type
        await note(db, "HB-SJZ", action, by="reviewer", rule_id=1)  # another actor
    reviewer = await login_as("reviewer")
    seen: list[int] = []
    query = f"object_type=rule&actor_user_id={known['sjz_admin']}&limit=4"
    while page := await listed(reviewer, query + (f"&before_id={seen[-1]}" if seen else "")):
        assert len(page) <= 4
        seen += page
    assert seen == wanted[::-1]


async def test_a_filter_never_widens_the_jurisdiction(client, login_as, db):
    known = await ids(db)
    # 保定's events, by 保定's inspector and by 石家庄's administrator; a failed login of an
    # unknown name (no org: system administrators only).
    bd_own = await note(db, "HB-BD", "checkpoint_updated", by="inspector_bd")
    bd_sjz = await note(db, "HB-BD", "checkpoint_updated", by="sjz_admin")
    stranger = await client.post(
        "/api/v1/auth/login", json={"username": "nobody-here", "password": "Wrong-pass-123"}
    )
    assert stranger.status == 401
    reviewer, admin = await login_as("reviewer"), await login_as("admin")
    for query in (
        f"actor_user_id={known['inspector_bd']}",
        f"actor_user_id={known['sjz_admin']}",
        "action=checkpoint_updated",
        "object_type=checkpoint",
        "action=login_failed",
        "date_from=2000-01-01&date_to=2100-12-31",
    ):
        shown = await listed(reviewer, query)
        assert bd_own not in shown and bd_sjz not in shown, query
    failed = await json_of(await reviewer.get(f"{URL}?action=login_failed"), 200)
    assert all(e["actor_username"] != "nobody-here" for e in failed)
    everything = await json_of(await admin.get(f"{URL}?action=login_failed"), 200)
    assert "nobody-here" in {e["actor_username"] for e in everything}
    assert {bd_own, bd_sjz} <= set(await listed(admin, "object_type=checkpoint"))


# (query, field, the Chinese message it starts with, a word of the English one): the list
# and the export refuse each the same.
BAD_FILTERS = [
    ("date_from=2026-13-01", "query.date_from", "开始日期：", "date"),
    ("date_to=yesterday", "query.date_to", "结束日期：", "date"),
    ("actor_user_id=abc", "query.actor_user_id", "操作人：应为整数", "integer"),
    ("actor_user_id=0", "query.actor_user_id", "操作人：应不小于 1", "greater than"),
    ("action=drop_table", "query.action", "操作类型「drop_table」不存在", "no such action"),
    (
        "object_type=rocket",
        "query.object_type",
        "对象类型：应为以下之一：登录与账号、机构",
        "account",
    ),
    (
        "date_from=2026-12-02&date_to=2026-12-01",
        "query.date_to",
        "结束日期不能早于开始日期",
        "must not be before date_from",
    ),
]


@pytest.mark.parametrize("path", [URL, EXPORT], ids=["list", "export"])
@pytest.mark.parametrize(("query", "field", "zh", "en"), BAD_FILTERS)
async def test_bad_filters_are_refused_naming_the_field(login_as, path, query, field, zh, en):
    reviewer = await login_as("reviewer")
    chinese = await json_of(await reviewer.get(f"{path}?{query}"), 422)
    assert chinese["errors"][0]["field"] == field
    assert chinese["errors"][0]["message"].startswith(zh), chinese
    english = await reviewer.get(f"{path}?{query}", headers={"Accept-Language": "en"})
    refused = await json_of(english, 422)
    assert refused["errors"][0]["field"] == field
    assert en in refused["errors"][0]["message"], refused


async def test_a_session_is_named_by_what_it_is(client, login_as, db):
    """「会话：N」 was a bare number: a login's session is who logged in when and how it
    ended; a remote inspection's is the enterprise, the matter, who opened it and when."""
    inspector = await login_as("inspector")
    remote = await json_of(
        await inspector.post(
            "/api/v1/remote-sessions",
            json={"title": "季度视频巡检", "enterprise_name": "华北机械"},
        ),
        201,
    )
    opened = minute_text(datetime.fromisoformat(remote["created_at"]))
    reviewer = await login_as("reviewer")
    await reviewer.post("/api/v1/auth/logout")
    admin = await login_as("admin")
    with counting(client) as statements:
        page = await json_of(await admin.get(f"{URL}?limit=1"), 200)
        one = len(statements)
        statements.clear()
        events = await json_of(await admin.get(URL), 200)
        assert len(statements) == one

    created = next(e for e in events if e["action"] == "remote_session_created")
    assert created["refs"]["session_id"] == "remote_session"
    assert created["names"][f"remote_session:{remote['id']}"] == (
        f"华北机械「季度视频巡检」（张检查，{opened} 发起）"
    )
    logins = [e for e in events if e["action"] == "login_succeeded"]
    mine = next(e for e in logins if e["actor_username"] == "admin")
    theirs = next(e for e in logins if e["actor_username"] == "reviewer")
    async with db() as session:
        sessions = {
            s.id: s
            for s in await session.scalars(
                select(AuthSession).where(
                    AuthSession.id.in_(
                        [mine["detail"]["session_id"], theirs["detail"]["session_id"]]
                    )
                )
            )
        }
    assert mine["refs"]["session_id"] == "login_session"
    live = sessions[mine["detail"]["session_id"]]
    assert mine["names"][f"login_session:{live.id}"] == (
        f"系统管理员 {minute_text(live.created_at)} 登录，有效至 {minute_text(live.expires_at)}"
    )
    ended = sessions[theirs["detail"]["session_id"]]
    assert ended.revoked_at is not None
    assert theirs["names"][f"login_session:{ended.id}"] == (
        f"王审核 {minute_text(ended.created_at)} 登录，{minute_text(ended.revoked_at)} 退出"
    )
    assert page  # the one-event page

    # Outside the jurisdiction a session keeps its bare id: 石家庄's reviewer reads an event of
    # 石家庄 that names a remote inspection of 保定.
    inspector_bd = await login_as("inspector_bd")
    elsewhere = await json_of(
        await inspector_bd.post(
            "/api/v1/remote-sessions", json={"title": "保定巡检", "enterprise_name": "莲池汽配"}
        ),
        201,
    )
    await note(db, "HB-SJZ", "remote_session_ended", session_id=elsewhere["id"])
    reviewer = await login_as("reviewer")
    seen = (await json_of(await reviewer.get(f"{URL}?action=remote_session_ended"), 200))[0]
    assert seen["refs"] == {"session_id": "remote_session"}
    assert seen["names"] == {}


# --- 导出 (CSV) -------------------------------------------------------------------------------

HEADERS = ["时间", "操作", "对象类型", "对象", "操作人", "用户名", "IP 地址", "详情"]


async def exported(user: Any, query: str = "") -> list[list[str]]:
    """The export's rows (after checking it is a CSV Excel reads: BOM, Chinese headers)."""
    response = await user.get(f"{EXPORT}?{query}")
    body = await response.read()
    assert response.status == 200, body.decode()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    # The BOM (without it Excel reads GBK), then the headers, lines ending as Windows ends them.
    assert body.startswith("\ufeff时间,操作,对象类型,对象,操作人,用户名,IP 地址,详情\r\n".encode())
    header, *rows = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    assert header == HEADERS
    return rows


async def test_the_export_is_what_the_filters_select_named_as_the_page_names_it(
    client, login_as, db
):
    known = await ids(db)
    mine = await note(db, "HB-SJZ", "checkpoint_updated", checkpoint_id=known["CA-0002"],
                      at=at("2025-06-30T16:00:00"))  # fmt: skip
    created = await note(db, "HB-SJZ", "checkpoint_created", checkpoint_id=known["CA-0001"])
    await note(db, "HB-SJZ", "checkpoint_updated", by="reviewer", checkpoint_id=known["CA-0001"])
    await note(db, "HB-SJZ", "plan_created", plan_id=1)
    reviewer = await login_as("reviewer")
    response = await reviewer.get(f"{EXPORT}?object_type=checkpoint")
    assert response.headers["Content-Disposition"].startswith(
        "attachment; filename=\"audit-log.csv\"; filename*=UTF-8''"
        + quote("审计日志-")  # RFC 5987: the Chinese name for browsers, ASCII for the rest
    )

    both = f"object_type=checkpoint&actor_user_id={known['sjz_admin']}"
    rows = await exported(reviewer, both)
    # The same events as the list, in the same order (newest first).
    assert await listed(reviewer, both) == [created, mine]
    assert len(rows) == 2
    assert [r[1] for r in rows] == ["新建检查点", "修改检查点"]
    async with db() as session:
        when = await session.scalar(select(AuditEvent.at).where(AuditEvent.id == created))
    assert rows[0][:7] == [second_text(when), "新建检查点", "检查点", "华北重工厂区（CA-0001）",
                           "石家庄分行管理员", "sjz_admin", ""]  # fmt: skip
    # 2025-06-30 16:00 UTC is 2025-07-01 00:00 in Beijing, as the page shows it.
    assert rows[1][:4] == ["2025-07-01 00:00:00", "修改检查点", "检查点",
                           "冀中纺织成品仓库（CA-0002）"]  # fmt: skip
    # 详情 as the page words it, not the recorded JSON.
    assert rows[1][7] == "检查点：冀中纺织成品仓库（CA-0002）"
    assert await exported(reviewer, "object_type=plan&action=checkpoint_updated") == []
    plans = await exported(reviewer, "object_type=plan")
    assert [r[1:3] for r in plans] == [["新建检查计划", "检查计划"]]


async def test_the_export_has_every_page(client, login_as, db):
    """More than a page of the list (500) and more than a chunk read at once (1,000)."""
    async with db() as session:
        path = await session.scalar(select(Org.path).where(Org.code == "HB-SJZ"))
        actor = await principal(db, "sjz_admin")
        for n in range(1005):
            record(session, "plan_rule_updated", origin=Origin(), actor=actor, org_path=path,
                   rule_id=n + 1)  # fmt: skip
        await session.commit()
    rows = await exported(await login_as("reviewer"), "object_type=rule")
    assert len(rows) == 1005
    # No such rules: each said by its bare id, newest first.
    assert [r[7] for r in rows] == [f"全局规则：#{n}" for n in range(1005, 0, -1)]


async def test_the_export_keeps_to_beijing_days_both_ends_inclusive(client, login_as, db):
    # 2024-07-01 in Beijing runs from 2024-06-30 16:00 UTC to 2024-07-01 16:00 UTC.
    await note(db, "HB-SJZ", "org_renamed", at=at("2024-06-30T15:59:59"))
    await note(db, "HB-SJZ", "org_renamed", at=at("2024-06-30T16:00:00"))
    await note(db, "HB-SJZ", "org_renamed", at=at("2024-07-01T15:59:59.999999"))
    await note(db, "HB-SJZ", "org_renamed", at=at("2024-07-01T16:00:00"))
    reviewer = await login_as("reviewer")

    def times(rows: list[list[str]]) -> list[str]:
        return [r[0] for r in rows]

    day = "date_from=2024-07-01&date_to=2024-07-01"
    assert times(await exported(reviewer, day)) == ["2024-07-01 23:59:59", "2024-07-01 00:00:00"]
    before = "date_from=2024-06-30&date_to=2024-06-30"
    assert times(await exported(reviewer, before)) == ["2024-06-30 23:59:59"]
    after = "date_from=2024-07-02&date_to=2024-07-02"
    assert times(await exported(reviewer, after)) == ["2024-07-02 00:00:00"]
    assert times(await exported(reviewer, "date_to=2024-07-01&object_type=org")) == [
        "2024-07-01 23:59:59",
        "2024-07-01 00:00:00",
        "2024-06-30 23:59:59",
    ]


async def test_the_export_keeps_to_the_jurisdiction(client, login_as, db):
    known = await ids(db)
    # 保定's events: not 石家庄's to export, whatever the filters; the province's they are.
    await note(db, "HB-BD", "checkpoint_updated", by="inspector_bd", checkpoint_id=known["LC-0001"])
    await note(db, "HB-BD", "checkpoint_updated", by="sjz_admin", checkpoint_id=known["LC-0001"])
    # 石家庄's event naming 保定's checkpoint: exported, the checkpoint by its bare id.
    await note(db, "HB-SJZ", "checkpoint_updated", checkpoint_id=known["LC-0001"])
    reviewer, sjz_admin, admin = (
        await login_as("reviewer"),
        await login_as("sjz_admin"),
        await login_as("admin"),
    )
    for user in (reviewer, sjz_admin):
        for query in (
            "",
            "action=checkpoint_updated",
            f"actor_user_id={known['inspector_bd']}",
            f"actor_user_id={known['sjz_admin']}&object_type=checkpoint",
            "date_from=2000-01-01&date_to=2100-12-31",
        ):
            rows = await exported(user, query)
            assert "莲池汽配城（LC-0001）" not in {r[3] for r in rows}, query
            assert "inspector_bd" not in {r[5] for r in rows}, query
        updated = await exported(user, "action=checkpoint_updated")
        assert [r[3] for r in updated] == [f"#{known['LC-0001']}"]
    province = await exported(admin, "action=checkpoint_updated")
    assert [r[3] for r in province] == ["莲池汽配城（LC-0001）"] * 3
    assert {r[5] for r in province} == {"sjz_admin", "inspector_bd"}


async def test_a_cell_excel_would_run_as_a_formula_is_text(client, login_as, db):
    async with db() as session:
        path = await session.scalar(select(Org.path).where(Org.code == "HB-SJZ"))
        for name in ('=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)",
                     "a=b", "王-五"):  # fmt: skip
            record(session, "login_failed", origin=Origin(ip="10.0.0.1"), actor_username=name,
                   org_path=path, reason="bad_credentials")  # fmt: skip
        await session.commit()
    rows = await exported(await login_as("reviewer"), "action=login_failed")
    assert [r[5] for r in rows] == [
        "王-五",
        "a=b",
        "'@SUM(A1)",
        "'-2+3",
        "'+1+1",
        '\'=HYPERLINK("http://evil.example","点我")',
    ]
    assert rows[0][1:3] == ["登录失败", "登录与账号"] and rows[0][6] == "10.0.0.1"


async def test_only_auditors_export(client, login_as):
    assert (await client.get(EXPORT)).status == 401
    for username in ("inspector", "handler"):  # no 审计日志 for them
        refused = await json_of(await (await login_as(username)).get(EXPORT), 403)
        assert refused["status"] == 403
    await exported(await login_as("reviewer"))
    # The export is every page: paging it is refused, by name.
    paged = await json_of(await (await login_as("reviewer")).get(f"{EXPORT}?limit=10"), 422)
    assert paged["errors"][0]["field"] == "query.limit"


def line_of(event: dict[str, Any]) -> str:
    """An event's 详情 as the page shows it, from the list's ``detail_parts``."""
    return "；".join(f"{part['label']}：{part['text']}" for part in event["detail_parts"])


async def test_the_export_says_the_detail_as_the_page_does(client, login_as, db):
    known = await ids(db)
    moved = await note(db, "HB-SJZ", "checkpoint_updated", checkpoint_id=known["CA-0002"],
                       changes={"org_id": [known["HB-SJZ-CA"], known["HB-SJZ"]],
                                "radius_m": [100, 200]})  # fmt: skip
    roles = await note(db, "HB-SJZ", "user_updated", user_id=known["inspector"],
                       changes={"roles": ["inspector", "reviewer"],
                                "is_active": False})  # fmt: skip
    submitted = await note(db, "HB-SJZ", "inspection_submitted", inspection_id=12,
                           checkpoint_id=known["LC-0001"], severity="high",
                           rocket={"stage": 2})  # fmt: skip
    reviewer = await login_as("reviewer")
    events = await json_of(await reviewer.get(f"{URL}?limit=500"), 200)
    rows = await exported(reviewer)
    assert len(events) < 500  # the list's one page is every event the export has
    # Row for row, the export's 详情 is the line the page shows.
    assert [r[7] for r in rows] == [line_of(e) for e in events]
    by_id = {e["id"]: e for e in events}

    # An edit's fields 「旧 → 新」, the records by name; a user's edit has the new values.
    assert line_of(by_id[moved]) == (
        "检查点：冀中纺织成品仓库（CA-0002）；"
        "修改：机构 长安支行 → 石家庄分行，误差范围（米） 100 → 200"
    )
    change = by_id[moved]["detail_parts"][1]["changes"][0]
    assert change["field"] == "org_id"
    assert change["before"] == {"text": "长安支行", "ref": f"org:{known['HB-SJZ-CA']}"}
    assert line_of(by_id[roles]) == "用户：张检查；修改：角色 客户经理/检查员、审核人，启用 否"
    # 保定's checkpoint by its bare id, no link; an inspection by its number; a key no table
    # knows, as recorded.
    assert by_id[submitted]["detail_parts"][:2] == [
        {"key": "inspection_id", "label": "检查记录", "text": "检查记录 #12", "ref": None,
         "changes": None},
        {"key": "checkpoint_id", "label": "检查点", "text": f"#{known['LC-0001']}", "ref": None,
         "changes": None},
    ]  # fmt: skip
    assert line_of(by_id[submitted]).endswith('；严重程度：严重；rocket：{"stage":2}')

    # The reviewer's own login: the session by who logged in when.
    login = next(e for e in events if e["action"] == "login_succeeded")
    part = login["detail_parts"][0]
    assert part["label"] == "登录会话"
    assert part["ref"] == f"login_session:{login['detail']['session_id']}"
    assert part["text"].startswith("王审核 ") and "登录，有效至" in part["text"]
    assert rows[events.index(login)][7] == f"登录会话：{part['text']}"

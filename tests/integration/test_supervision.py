"""实时监管 over HTTP on the demo bank: jurisdiction, refusals naming the field, every export
read back with openpyxl (the API's numbers under Chinese headers), the live push."""

from __future__ import annotations

import asyncio
import io
from datetime import date, timedelta
from typing import Any

import aiohttp
import openpyxl
import pytest
from sqlalchemy import select

from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.inspections.models import Inspection
from inspection_api.notifications import outbox
from inspection_api.orgs.models import Org
from inspection_api.plans.generator import local_date
from inspection_api.supervision.window import MAX_DAYS
from inspection_api.users.models import User
from loancheck.hooks import announce_to_supervisors
from tests.integration.test_anomalies_push import Console
from tests.plugins.api import json_of

BASE = "/api/v1/supervision"


async def _ids(settings: Any) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            orgs = dict((await session.execute(select(Org.code, Org.id))).all())
            users = dict((await session.execute(select(User.username, User.id))).all())
            return {**orgs, **users}
    finally:
        await engine.dispose()


def _year() -> str:
    return str(local_date(utcnow()).year)


async def test_a_branch_manager_sees_its_sub_branches_only(settings, login_as):
    ids = await _ids(settings)
    sjz = await login_as("sjz_admin")
    mine = await json_of(await sjz.get(f"{BASE}/completion?period={_year()}"), 200)
    assert mine["org"]["name"] == "石家庄分行"
    assert [r["name"] for r in mine["rows"]] == ["长安支行", "桥西支行"]
    assert [o["name"] for o in mine["org"]["path"]] == ["石家庄分行"]  # nothing above me
    every = await json_of(await sjz.get(f"{BASE}/completion?group=sub_branch"), 200)
    assert {r["name"] for r in every["rows"]} == {"长安支行", "桥西支行"}
    for path in ("completion", "trend", "inspections", "conclusions", "anomalies", "indicators"):
        problem = await json_of(await sjz.get(f"{BASE}/{path}?org_id={ids['HB-BD']}"), 404)
        assert problem["detail"] == f"机构不存在：{ids['HB-BD']}"
    details = await json_of(await sjz.get(f"{BASE}/inspections?period={_year()}"), 200)
    assert details["total"] >= 1
    assert {i["org_name"] for i in details["items"]} <= {"长安支行", "桥西支行"}

    province = await json_of(
        await (await login_as("hb_admin")).get(f"{BASE}/completion?period={_year()}"), 200
    )
    assert [r["name"] for r in province["rows"]] == ["石家庄分行", "保定分行", "唐山分行"]
    assert province["rows"][0]["drill"] == "org"
    drill = await json_of(
        await sjz.get(f"{BASE}/completion?org_id={ids['HB-SJZ-CA']}&group=checkpoint"), 200
    )
    assert drill["rows"] and all(r["drill"] == "inspections" for r in drill["rows"])
    assert [o["name"] for o in drill["org"]["path"]] == ["石家庄分行", "长安支行"]


@pytest.mark.parametrize(
    ("user", "status"),
    [("reviewer", 200), ("handler", 403), ("inspector", 403), ("inspector_bd", 403)],
)
async def test_who_may_supervise(login_as, user, status):
    await json_of(await (await login_as(user)).get(f"{BASE}/completion"), status)


async def test_anonymous_gets_401(client):
    await json_of(await client.get(f"{BASE}/completion"), 401)


async def _field(client: Any, query: str) -> str:
    problem = await json_of(await client.get(f"{BASE}/completion?{query}"), 422)
    return problem["errors"][0]["field"]


async def test_refusals_name_the_field(login_as):
    admin = await login_as("hb_admin")
    assert await _field(admin, "period=2026-13") == "query.period"
    assert await _field(admin, "period=2026-Q5") == "query.period"
    assert await _field(admin, "period=26") == "query.period"
    assert await _field(admin, "org_id=abc") == "query.org_id"
    assert await _field(admin, "org_id=true") == "query.org_id"
    assert await _field(admin, "group=province") == "query.group"
    assert await _field(admin, "kind=phone") == "query.kind"
    assert await _field(admin, "inspection_type=old") == "query.inspection_type"
    assert await _field(admin, "date_from=2026-01-01") == "query.date_to"
    assert await _field(admin, "date_to=2026-01-01") == "query.date_from"
    assert await _field(admin, "date_from=2026-02-01&date_to=2026-01-31") == "query.date_to"
    assert await _field(admin, "period=2026&date_from=2026-01-01&date_to=2026-01-02") == (
        "query.period"
    )
    assert await _field(admin, "date_from=2026-02-30&date_to=2026-03-01") == "query.date_from"
    assert await _field(admin, "unknown=1") == "query.unknown"
    # Both sides of the limits: one day, the longest range, one day more.
    start = date(2020, 1, 1)
    longest = start + timedelta(days=MAX_DAYS - 1)
    for query in (
        "date_from=2026-01-01&date_to=2026-01-01",
        f"date_from={start}&date_to={longest}",
        "period=2026-12",
        "period=2026-Q4",
    ):
        await json_of(await admin.get(f"{BASE}/completion?{query}"), 200)
    problem = await json_of(
        await admin.get(f"{BASE}/completion?date_from={start}&date_to={longest + timedelta(1)}"),
        422,
    )
    assert (
        problem["errors"][0]
        == {
            "field": "query.date_to",
            "message": f"日期范围最长 {MAX_DAYS} 天",
        }
        or problem["errors"][0]["message"] == f"日期范围最长 {MAX_DAYS} 天"
    )
    for limit, status in ((0, 422), (1, 200), (200, 200), (201, 422)):
        await json_of(await admin.get(f"{BASE}/inspections?limit={limit}"), status)
    await json_of(await admin.get(f"{BASE}/inspections?offset=-1"), 422)
    await json_of(await admin.get(f"{BASE}/export?table=everything"), 422)
    await json_of(await admin.get(f"{BASE}/export"), 422)


async def _sheet(client: Any, query: str) -> list[tuple[Any, ...]]:
    response = await client.get(f"{BASE}/export?{query}")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response.headers["Content-Disposition"]
    return list(openpyxl.load_workbook(io.BytesIO(await response.read())).active.values)


async def test_every_export_has_the_apis_numbers(login_as):
    admin = await login_as("hb_admin")
    year = _year()
    completion = await json_of(await admin.get(f"{BASE}/completion?period={year}"), 200)
    rows = await _sheet(admin, f"table=completion&period={year}")
    assert rows[0] == (
        "机构", "应检任务", "已完成", "其中历史检查覆盖", "逾期", "完成率", "应检检查点",
        "已检检查点", "覆盖率",
    )  # fmt: skip
    for got, want in zip(
        rows[1:], [*completion["rows"], {**completion["total"], "name": "合计"}], strict=True
    ):
        assert got == (
            want["name"], want["due"], want["done"], want["covered_by_history"], want["overdue"],
            want["completion_rate"], want["checkpoints_due"], want["checkpoints_covered"],
            want["coverage_rate"],
        )  # fmt: skip

    details = await json_of(await admin.get(f"{BASE}/inspections?period={year}&limit=200"), 200)
    rows = await _sheet(admin, f"table=details&period={year}")
    assert rows[0][:3] == ("检查编号", "提交时间", "支行")
    assert [r[0] for r in rows[1:]] == [i["id"] for i in details["items"]]
    assert [r[11] for r in rows[1:]] == [i["findings"] for i in details["items"]]
    kinds = {"on_site": "现场检查", "remote": "远程巡检", "self_check": "企业自检"}
    assert [r[6] for r in rows[1:]] == [kinds[i["kind"]] for i in details["items"]]

    anomalies = await json_of(await admin.get(f"{BASE}/anomalies?period={year}"), 200)
    rows = await _sheet(admin, f"table=anomalies&period={year}")
    keys = ("total", "low", "medium", "high", "open", "acknowledged", "resolved", "overdue")
    assert rows[-1] == ("合计", *(anomalies["total"][k] for k in (*keys, "escalated")))
    assert anomalies["total"]["total"] > 0

    indicators = await json_of(await admin.get(f"{BASE}/indicators?period={year}"), 200)
    rows = await _sheet(admin, f"table=indicators&period={year}")
    assert rows[0] == ("预警指标", *(c["label"] for c in indicators["columns"]), "合计")
    assert rows[1:] == [
        *((r["indicator"], *r["counts"], r["total"]) for r in indicators["rows"]),
        ("合计", *indicators["totals"], indicators["total"]),
    ]

    conclusions = await json_of(await admin.get(f"{BASE}/conclusions?period={year}"), 200)
    rows = await _sheet(admin, f"table=conclusions&period={year}")
    total = conclusions["total"]
    assert rows[0] == ("机构", "正常", "关注", "强烈关注", "退出", "无结论", "合计")
    assert rows[-1] == ("合计", total["normal"], total["watch"], total["close_watch"],
                        total["exit"], total["none"], total["total"])  # fmt: skip

    trend = await json_of(await admin.get(f"{BASE}/trend?period={year}&granularity=quarter"), 200)
    rows = await _sheet(admin, f"table=trend&period={year}&granularity=quarter")
    assert [r[0] for r in rows[1:]] == [p["label"] for p in trend["points"]]
    assert [r[-2:] for r in rows[1:]] == [
        (p["inspections"], p["anomalies"]) for p in trend["points"]
    ]


async def test_an_inspection_landing_tells_the_managers_above_it(settings, login_as):
    await login_as("admin")  # seeds the demo bank
    ids = await _ids(settings)
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            inspection = await session.scalar(
                select(Inspection).where(Inspection.org_id == ids["HB-SJZ-CA"]).limit(1)
            )
            assert inspection is not None
            await announce_to_supervisors(session, inspection, [])
            await session.commit()
            told = {
                p.user_id
                for p in outbox.take_committed(session)
                if p.event == "supervision_changed"
            }
    finally:
        await engine.dispose()
    # Administrators and the reviewer at or above 长安支行; not inspectors, handlers or 保定.
    assert told == {ids["admin"], ids["hb_admin"], ids["sjz_admin"], ids["reviewer"]}


async def test_an_approval_over_rest_pushes_to_the_managers_consoles(
    settings, live_server_factory, demo_passwords
):
    """Through the real hooks: 审核通过 of a 长安支行 inspection reaches 石家庄分行's
    manager's console (after the commit), and not a 保定 inspector's."""
    server = await live_server_factory(settings)
    ids = await _ids(settings)
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            inspection_id = await session.scalar(
                select(Inspection.id).where(
                    Inspection.org_id == ids["HB-SJZ-CA"], Inspection.state == "submitted"
                )
            )
    finally:
        await engine.dispose()
    manager, bystander = Console(), Console()
    try:
        await manager.connect(server, "sjz_admin", demo_passwords["sjz_admin"])
        await bystander.connect(server, "inspector_bd", demo_passwords["inspector_bd"])
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = {"username": "reviewer", "password": demo_passwords["reviewer"]}
            async with http.post(f"{server.url}/api/v1/auth/login", json=login) as response:
                assert response.status == 200
            async with http.post(
                f"{server.url}/api/v1/inspections/{inspection_id}/approve",
                json={},
                headers={"Origin": server.origin},
            ) as response:
                assert response.status == 200, await response.text()
        pushed = await manager.next("supervision_changed")
        assert pushed == {"org_id": ids["HB-SJZ-CA"], "inspection_id": inspection_id}
        await asyncio.sleep(0.5)
        assert [e for e, _ in bystander.received if e == "supervision_changed"] == []
    finally:
        for console in (manager, bystander):
            await console.client.disconnect()
            await console.client.shutdown()

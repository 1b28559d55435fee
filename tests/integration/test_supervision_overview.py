"""实时监管's landing in one request (/overview) on the demo bank: every part equal to what its
own endpoint answers, for a province, a 分行 and a 支行 manager (jurisdiction), refusals in
Chinese naming the field, and its description in the OpenAPI document."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from inspection_api.db import utcnow
from inspection_api.plans.generator import local_date
from tests.integration.test_supervision import _ids
from tests.plugins.api import json_of

BASE = "/api/v1/supervision"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _year() -> str:
    return str(local_date(utcnow()).year)


def _month() -> str:
    today = local_date(utcnow())
    return f"{today.year}-{today.month:02d}"


async def _overview(client: TestClient, **params: Any) -> Any:
    return await json_of(await client.get(f"{BASE}/overview?{urlencode(params)}"), 200)


async def _separately(client: TestClient, overview: Any, **params: Any) -> dict[str, Any]:
    """What the console asked for before /overview, one endpoint per table."""
    group = params.pop("group", "child")
    checkpoint_id = params.pop("checkpoint_id", None)
    limit = params.pop("limit", 20)

    async def get(path: str, **extra: Any) -> Any:
        query = urlencode({**params, **extra})
        return await json_of(await client.get(f"{BASE}/{path}?{query}"), 200)

    trend_params = {k: v for k, v in params.items() if k not in ("period", "date_from", "date_to")}
    trend_window = overview["trend"]["window"]
    trend_query = urlencode(
        {**trend_params, "date_from": trend_window["start"], "date_to": trend_window["end"]}
    )
    detail_extra: dict[str, Any] = {"offset": 0, "limit": limit}
    if checkpoint_id is not None:
        detail_extra["checkpoint_id"] = checkpoint_id
    return {
        "completion": await get("completion", group=overview["group"]),
        "trend": await json_of(await client.get(f"{BASE}/trend?{trend_query}"), 200),
        "anomalies": await get("anomalies", group=group),
        "indicators": await get("indicators"),
        "conclusions": await get("conclusions", group=group),
        "details": await get("inspections", **detail_extra),
    }


async def _same_as_separately(client: TestClient, **params: Any) -> Any:
    overview = await _overview(client, **params)
    separate = await _separately(client, overview, **params)
    for part, answer in separate.items():
        assert overview[part] == answer, part
    assert overview["org"] == separate["completion"]["org"]
    assert overview["window"] == separate["completion"]["window"]
    assert overview["today"] == separate["completion"]["today"]
    return overview


def _trend_months(overview: Any) -> list[str]:
    return [p["label"] for p in overview["trend"]["points"]]


async def test_a_province_manager_gets_every_table_of_the_province(login_as):
    hb = await login_as("hb_admin")
    year = await _same_as_separately(hb, period=_year())
    assert year["org"]["name"] == "中国银行河北省分行"
    assert year["group"] == "child"
    assert [r["name"] for r in year["completion"]["rows"]] == ["石家庄分行", "保定分行", "唐山分行"]
    assert year["completion"]["total"]["due"] > 0  # the comparison compares numbers
    assert year["details"]["total"] > 0 and year["conclusions"]["total"]["total"] > 0
    # A year is its own trend: twelve months of it.
    assert year["trend"]["window"] == year["window"]
    assert len(_trend_months(year)) == 12
    every = await _same_as_separately(hb, period=_year(), group="sub_branch")
    assert every["group"] == "sub_branch"
    assert {r["kind"] for r in every["completion"]["rows"]} == {"sub_branch"}
    # A month's trend: the 12 months ending with it.
    month = await _same_as_separately(hb)
    assert month["window"]["label"] == f"{int(_month()[:4])}年{int(_month()[5:])}月"
    assert month["trend"]["window"]["end"] == month["window"]["end"]
    assert len(_trend_months(month)) == 12
    assert _trend_months(month)[-1] == month["window"]["label"]
    # Filters reach every table, as they reach the separate ones.
    await _same_as_separately(hb, period=_year(), kind="on_site", inspection_type="existing")
    await _same_as_separately(hb, date_from=f"{_year()}-01-01", date_to=f"{_year()}-03-31")


async def test_a_branch_manager_gets_its_branch_and_drills_to_a_sub_branch(settings, login_as):
    ids = await _ids(settings)
    sjz = await login_as("sjz_admin")
    mine = await _same_as_separately(sjz, period=_year())
    assert [o["name"] for o in mine["org"]["path"]] == ["石家庄分行"]
    assert [r["name"] for r in mine["completion"]["rows"]] == ["长安支行", "桥西支行"]
    assert {i["org_name"] for i in mine["details"]["items"]} <= {"长安支行", "桥西支行"}
    # A 支行 has no org below it: its completion table lists its checkpoints, the org
    # tables its own row.
    ca = await _same_as_separately(sjz, org_id=ids["HB-SJZ-CA"], period=_year())
    assert ca["group"] == "checkpoint"
    assert ca["completion"]["rows"] and {r["drill"] for r in ca["completion"]["rows"]} == {
        "inspections"
    }
    assert [r["name"] for r in ca["anomalies"]["rows"]] == ["长安支行"]
    assert [o["name"] for o in ca["org"]["path"]] == ["石家庄分行", "长安支行"]
    # One checkpoint's details, a page of one.
    checkpoint = ca["completion"]["rows"][0]["id"]
    one = await _same_as_separately(
        sjz, org_id=ids["HB-SJZ-CA"], period=_year(), checkpoint_id=checkpoint, limit=1
    )
    assert {i["checkpoint_id"] for i in one["details"]["items"]} <= {checkpoint}
    assert len(one["details"]["items"]) <= 1 and one["details"]["limit"] == 1
    for outside in (ids["HB-BD"], ids["HB-BD-LC"], ids["HB"]):
        problem = await json_of(await sjz.get(f"{BASE}/overview?org_id={outside}"), 404)
        assert problem["detail"] == f"机构不存在：{outside}"


async def test_a_sub_branch_manager_sees_its_sub_branch_only(settings, login_as):
    ids = await _ids(settings)
    admin = await login_as("admin")
    password = "Sub-branch-manager-1"
    await json_of(
        await admin.post(
            "/api/v1/users",
            json={
                "username": "ca_admin",
                "display_name": "长安支行管理员",
                "password": password,
                "org_id": ids["HB-SJZ-CA"],
                "roles": ["org_admin"],
            },
        ),
        201,
    )
    ca = await login_as("ca_admin", password)
    mine = await _same_as_separately(ca, period=_year())
    assert mine["org"]["name"] == "长安支行"
    assert [o["name"] for o in mine["org"]["path"]] == ["长安支行"]
    assert mine["group"] == "checkpoint"
    assert mine["details"]["total"] > 0
    assert {i["org_name"] for i in mine["details"]["items"]} == {"长安支行"}
    # The same numbers as its 分行 manager sees for it.
    sjz = await login_as("sjz_admin")
    above = await _overview(sjz, org_id=ids["HB-SJZ-CA"], period=_year())
    for part in ("completion", "anomalies", "indicators", "conclusions", "details"):
        assert {k: v for k, v in above[part].items() if k != "org"} == {
            k: v for k, v in mine[part].items() if k != "org"
        }, part
    for outside in (ids["HB-SJZ"], ids["HB-SJZ-QX"], ids["HB"]):
        problem = await json_of(await ca.get(f"{BASE}/overview?org_id={outside}"), 404)
        assert problem["detail"] == f"机构不存在：{outside}"


@pytest.mark.parametrize("user", ["handler", "inspector", "inspector_bd"])
async def test_who_may_not_supervise_is_told_in_chinese(login_as, user):
    problem = await json_of(await (await login_as(user)).get(f"{BASE}/overview"), 403)
    assert problem["detail"] == "无权执行此操作：查看实时监管"


async def test_the_reviewer_may_and_the_anonymous_may_not(client, login_as):
    await json_of(await (await login_as("reviewer")).get(f"{BASE}/overview"), 200)
    await json_of(await client.get(f"{BASE}/overview"), 401)


async def _refusal(client: TestClient, query: str) -> dict[str, str]:
    problem = await json_of(await client.get(f"{BASE}/overview?{query}"), 422)
    error = problem["errors"][0]
    assert CJK.search(error["message"]), error
    assert not re.search(r"[A-Za-z_]+\.[A-Za-z_]+", error["message"]), error  # no field path
    return dict(error)


async def test_refusals_name_the_field_in_chinese(login_as):
    hb = await login_as("hb_admin")
    for query, field in (
        ("group=checkpoint", "query.group"),
        ("group=province", "query.group"),
        ("limit=0", "query.limit"),
        ("limit=201", "query.limit"),
        ("limit=abc", "query.limit"),
        ("limit=true", "query.limit"),
        ("limit=2.5", "query.limit"),
        ("checkpoint_id=x", "query.checkpoint_id"),
        ("org_id=true", "query.org_id"),
        ("period=2026-13", "query.period"),
        ("kind=phone", "query.kind"),
        ("date_from=2026-01-01", "query.date_to"),
        ("date_from=2026-02-01&date_to=2026-01-31", "query.date_to"),
        ("period=2026&date_from=2026-01-01&date_to=2026-01-02", "query.period"),
        ("offset=0", "query.offset"),  # the first page only: paging is /inspections'
        ("unknown=1", "query.unknown"),
    ):
        assert (await _refusal(hb, query))["field"] == field, query
    assert (await _refusal(hb, "date_from=2026-02-01&date_to=2026-01-31"))["message"] == (
        "结束日期不能早于开始日期"
    )
    for limit in (1, 200):  # both edges of the page size
        overview = await _overview(hb, limit=limit, period=_year())
        assert overview["details"]["limit"] == limit
        assert len(overview["details"]["items"]) == min(limit, overview["details"]["total"])


async def test_a_custom_range_longer_than_100_days_is_its_own_trend(login_as):
    hb = await login_as("hb_admin")
    start = date(int(_year()), 1, 1)
    for days, own in ((99, False), (100, False), (101, True)):  # end - start, in days
        end = start + timedelta(days=days)
        overview = await _overview(hb, date_from=str(start), date_to=str(end))
        if own:
            assert overview["trend"]["window"] == overview["window"], days
        else:  # the 12 months ending with the window's last month
            first = date(end.year - 1, end.month + 1, 1)
            assert overview["trend"]["window"] == {
                "start": str(first),
                "end": str(end),
                "label": f"{first} 至 {end}",
            }, days
            assert len(overview["trend"]["points"]) == 12


async def test_the_openapi_document_describes_it(client):
    document = await (await client.get("/api/openapi.json")).json()
    operation = document["paths"][f"{BASE}/overview"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"org_id", "period", "date_from", "date_to", "kind", "inspection_type"} <= set(
        parameters
    )
    assert parameters["group"]["schema"]["enum"] == ["child", "sub_branch"]
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["limit"]["schema"]["maximum"] == 200
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]
    schema = document["components"]["schemas"][response["$ref"].rsplit("/", 1)[-1]]
    assert {
        "completion",
        "trend",
        "anomalies",
        "indicators",
        "conclusions",
        "details",
        "group",
    } <= set(schema["properties"])
    assert {"403", "404", "422"} <= set(operation["responses"])

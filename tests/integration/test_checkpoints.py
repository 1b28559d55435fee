"""Checkpoints (检查点) over real HTTP on SQLite and PostgreSQL: registering and editing,
validation that names each field, the list's filters and pages, exit points, deletion.

Demo bank: 长安支行 (HB-SJZ-CA) has CA-0001 (located), CA-0002 and CA-0003 (an exit point,
已结清); 桥西支行 has QX-0001; 莲池支行 (保定) has LC-0001. `sjz_admin` manages 石家庄分行,
`inspector` works in 长安支行, `inspector_bd` in 莲池支行.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from inspection_api.beijing import local_date
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.orgs.models import Org
from tests.plugins.api import json_of

URL = "/api/v1/checkpoints"


async def ids_by_code(settings: Any) -> dict[str, int]:
    """Org and checkpoint ids by code."""
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        found = dict((await session.execute(select(Org.code, Org.id))).all())
        found.update(dict((await session.execute(select(Checkpoint.code, Checkpoint.id))).all()))
    await engine.dispose()
    return {str(code): int(ident) for code, ident in found.items()}


def new_site(org_id: int, code: str = "CA-0100", **extra: Any) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "name": "石药集团原料仓库",
        "code": code,
        "customer_name": "石家庄某某制药有限公司",
        "loan_amount": "1500000.50",
        "loan_date": "2026-01-15",
        "maturity_date": "2027-01-14",
        "classification": "special_mention",
        "address": "石家庄市长安区中山东路 1 号",
        "contact_name": "陈经理",
        "contact_phone": "+86 139-1234-5678",
        **extra,
    }


async def create(user: TestClient, body: dict[str, Any], status: int = 201) -> Any:
    return await json_of(await user.post(URL, json=body), status)


async def audit_actions(user: TestClient) -> list[str]:
    events = await json_of(await user.get("/api/v1/audit-events?limit=500"), 200)
    return [e["action"] for e in events if e["action"].startswith("checkpoint_")]


async def test_an_admin_registers_and_edits_a_checkpoint(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    created = await create(admin, new_site(ids["HB-SJZ-CA"]))
    assert created["org_id"] == ids["HB-SJZ-CA"] and created["org_name"] == "长安支行"
    assert created["loan_amount"] == "1500000.50"  # yuan, exact
    assert (created["loan_date"], created["maturity_date"]) == ("2026-01-15", "2027-01-14")
    assert created["contact_phone"] == "13912345678"  # one spelling
    assert created["status"] == "active" and created["exit_reason"] is None
    assert created["qr_generation"] == 1
    assert (created["latitude"], created["bound_at"], created["navigation"]) == (None, None, None)
    assert created["radius_m"] is None
    assert created["effective_radius_m"] == settings.checkpoint_radius_m == 200

    inspector = await login_as("inspector")  # staff of the 支行 read it
    url = f"{URL}/{created['id']}"
    assert await json_of(await inspector.get(url), 200) == created

    changed = await json_of(
        await admin.patch(
            url, json={"radius_m": 150, "contact_phone": "0311 8765 4321", "loan_amount": None}
        ),
        200,
    )
    assert (changed["radius_m"], changed["effective_radius_m"]) == (150, 150)
    assert changed["contact_phone"] == "0311-87654321"
    assert changed["loan_amount"] is None
    assert changed["name"] == created["name"]  # not sent, not changed
    back = await json_of(await admin.patch(url, json={"radius_m": None}), 200)
    assert (back["radius_m"], back["effective_radius_m"]) == (None, 200)
    moved = await json_of(await admin.patch(url, json={"org_id": ids["HB-SJZ-QX"]}), 200)
    assert moved["org_name"] == "桥西支行"
    assert (await inspector.get(url)).status == 404  # no longer in 长安支行

    assert await audit_actions(admin) == [
        "checkpoint_updated",
        "checkpoint_updated",
        "checkpoint_updated",
        "checkpoint_created",
    ]
    events = await json_of(await admin.get("/api/v1/audit-events?action=checkpoint_updated"), 200)
    assert events[-1]["detail"]["changes"] == {
        "radius_m": [None, 150],
        "contact_phone": ["13912345678", "0311-87654321"],
        "loan_amount": ["1500000.50", None],
    }


async def test_bad_input_names_each_field_and_keeps_nothing(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    ca = ids["HB-SJZ-CA"]

    async def problem(body: dict[str, Any], status: int = 422, lang: str = "") -> Any:
        return await json_of(await admin.post(URL + lang, json=body), status)

    phone = await problem(new_site(ca, contact_phone="12345"))
    assert phone["errors"] == [
        {
            "field": "body.contact_phone",
            "message": "应为手机号（11 位）或带区号的座机号，例如 13912345678、0311-87654321",
        }
    ]
    dates = await problem(new_site(ca, maturity_date="2025-12-31"))
    assert dates["errors"][0]["field"] == "body.maturity_date"
    assert dates["errors"][0]["message"] == "到期日（2025-12-31）不能早于放款日期（2026-01-15）"
    branch = await problem(new_site(ids["HB-SJZ"]))
    assert branch["errors"] == [
        {"field": "body.org_id", "message": "检查点应设在支行下，「石家庄分行」是二级分行"}
    ]
    outside = await problem(new_site(ids["HB-BD-LC"]))
    assert outside["errors"][0]["field"] == "body.org_id"
    assert "不在您的辖区内" in outside["errors"][0]["message"]
    taken = await problem(new_site(ca, code="ca-0001"), status=409)  # codes ignore case
    assert taken["errors"] == [{"field": "body.code", "message": "检查点编号已存在：ca-0001"}]
    cents = await problem(new_site(ca, loan_amount="10.001", radius_m=5, classification="good"))
    assert {e["field"] for e in cents["errors"]} == {
        "body.loan_amount",
        "body.radius_m",
        "body.classification",
    }
    extra = await problem(new_site(ca, owner="x"))
    assert extra["errors"] == [
        {"field": "body.owner", "message": "请求内容：多余的字段，此处不接受"}
    ]
    english = await problem(new_site(ca, contact_phone="12345"), lang="?lang=en")
    assert english["errors"][0]["message"].startswith("must be a mobile number")

    listed = await json_of(await admin.get(f"{URL}?org_id={ca}"), 200)
    assert listed["total"] == 3  # the demo's three: nothing refused was kept
    not_sub_branch = await admin.patch(f"{URL}/{ids['CA-0001']}", json={"name": None})
    assert (await json_of(not_sub_branch, 422))["errors"][0]["field"] == "body.name"


async def test_the_list_filters_searches_and_pages(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")

    async def codes(query: str = "", user: TestClient = admin) -> list[str]:
        page = await json_of(await user.get(f"{URL}{query}"), 200)
        return [item["code"] for item in page["items"]]

    assert await codes() == ["CA-0001", "CA-0002", "CA-0003", "QX-0001"]  # not 保定's
    assert await codes(f"?org_id={ids['HB-SJZ-QX']}") == ["QX-0001"]
    assert await codes("?status=exited") == ["CA-0003"]
    assert await codes("?exit_reason=settled") == ["CA-0003"]
    assert await codes("?exit_reason=written_off") == []
    assert await codes("?status=active") == ["CA-0001", "CA-0002", "QX-0001"]
    assert await codes("?q=纺织") == ["CA-0002"]  # name or customer
    assert await codes("?q=qx-00") == ["QX-0001"]  # code, any case
    assert await codes("?q=100%") == []  # LIKE wildcards are literal
    assert await codes("?bound=true") == ["CA-0001"]
    assert await codes("?classification=special_mention") == ["CA-0002"]

    first = await json_of(await admin.get(f"{URL}?limit=3"), 200)
    assert (first["total"], first["offset"], first["limit"]) == (4, 0, 3)
    assert [i["code"] for i in first["items"]] == ["CA-0001", "CA-0002", "CA-0003"]
    assert await codes("?limit=3&offset=3") == ["QX-0001"]
    located = (await json_of(await admin.get(f"{URL}?bound=true"), 200))["items"][0]
    assert located["navigation"]["baidu"].startswith("https://api.map.baidu.com/marker?")
    assert located["navigation"]["amap"].startswith("https://uri.amap.com/marker?")

    inspector = await login_as("inspector")
    assert await codes(user=inspector) == ["CA-0001", "CA-0002", "CA-0003"]
    assert (await inspector.get(f"{URL}?org_id={ids['HB-SJZ-QX']}")).status == 404
    bad = await json_of(await admin.get(f"{URL}?status=gone&limit=0"), 422)
    assert {e["field"] for e in bad["errors"]} == {"query.status", "query.limit"}


async def test_exit_points_are_marked_changed_and_reinstated(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    url = f"{URL}/{ids['CA-0002']}"
    exited = await json_of(
        await admin.post(
            url + "/exit", json={"reason": "written_off", "date": "2026-11-20", "note": "已核销"}
        ),
        200,
    )
    assert (exited["status"], exited["exit_reason"], exited["exit_date"]) == (
        "exited",
        "written_off",
        "2026-11-20",
    )
    assert exited["exit_note"] == "已核销" and exited["exited_at"] is not None
    page = await json_of(await admin.get(f"{URL}?exit_reason=written_off"), 200)
    assert [i["code"] for i in page["items"]] == ["CA-0002"]

    changed = await json_of(
        await admin.post(url + "/exit", json={"reason": "discount_only", "date": "2026-11-21"}),
        200,
    )
    assert changed["exit_reason"] == "discount_only"
    assert changed["exited_at"] == exited["exited_at"]  # still the first time it left

    bad = await json_of(await admin.post(url + "/exit", json={"reason": "gone"}), 422)
    assert {e["field"] for e in bad["errors"]} == {"body.reason", "body.date"}

    back = await json_of(await admin.post(url + "/reinstate"), 200)
    assert (back["status"], back["exit_reason"], back["exit_date"], back["exit_note"]) == (
        "active",
        None,
        None,
        "",
    )
    again = await json_of(await admin.post(url + "/reinstate"), 200)  # harmless
    assert again["status"] == "active"
    assert await audit_actions(admin) == [
        "checkpoint_reinstated",
        "checkpoint_exited",
        "checkpoint_exited",
    ]
    events = await json_of(await admin.get("/api/v1/audit-events?action=checkpoint_exited"), 200)
    assert events[0]["detail"]["previous_reason"] == "written_off"
    assert events[0]["detail"]["reason_label"] == "纯贴现用户"


async def test_exit_dates_are_checked_on_both_sides(login_as, settings):
    """退出日期: today (Beijing) is accepted, tomorrow refused; the loan date (CA-0002: 1
    September 2025) is accepted, the day before refused. Each refusal is a 422 naming
    ``body.date`` and changes nothing; an exit point's loan date cannot move after its exit."""
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    url = f"{URL}/{ids['CA-0002']}"
    today = local_date(utcnow())
    tomorrow = today + timedelta(days=1)

    async def refused(day: str, message: str, english: str) -> None:
        body = {"reason": "settled", "date": day}
        problem = await json_of(await admin.post(url + "/exit", json=body), 422)
        assert [(e["field"], e["message"]) for e in problem["errors"]] == [("body.date", message)]
        en = await admin.post(url + "/exit", json=body, headers={"Accept-Language": "en"})
        assert (await json_of(en, 422))["errors"][0]["message"] == english

    await refused(
        str(tomorrow),
        f"退出日期（{tomorrow}）不能晚于今天（{today}）",
        f"the exit date {tomorrow} is after today ({today}, Beijing)",
    )
    await refused(
        "2099-01-01",
        f"退出日期（2099-01-01）不能晚于今天（{today}）",
        f"the exit date 2099-01-01 is after today ({today}, Beijing)",
    )
    await refused(
        "2025-08-31",
        "退出日期（2025-08-31）不能早于放款日期（2025-09-01）",
        "the exit date 2025-08-31 is before the loan date 2025-09-01",
    )
    await refused(
        "1990-01-01",
        "退出日期（1990-01-01）不能早于放款日期（2025-09-01）",
        "the exit date 1990-01-01 is before the loan date 2025-09-01",
    )
    still = await json_of(await admin.get(url), 200)
    assert (still["status"], still["exit_date"]) == ("active", None)
    assert await audit_actions(admin) == []

    for day in ("2025-09-01", str(today)):
        exited = await json_of(
            await admin.post(url + "/exit", json={"reason": "settled", "date": day}), 200
        )
        assert (exited["status"], exited["exit_date"]) == ("exited", day)

    later = {"maturity_date": "2030-12-31"}
    moved = await json_of(await admin.patch(url, json={"loan_date": str(tomorrow), **later}), 422)
    assert [(e["field"], e["message"]) for e in moved["errors"]] == [
        ("body.loan_date", f"放款日期（{tomorrow}）不能晚于退出日期（{today}）")
    ]
    same_day = await json_of(await admin.patch(url, json={"loan_date": str(today), **later}), 200)
    assert same_day["loan_date"] == str(today)


async def test_only_never_visited_checkpoints_can_be_deleted(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    mistake = await create(admin, new_site(ids["HB-SJZ-CA"], code="CA-9999"))
    url = f"{URL}/{mistake['id']}"
    assert (await admin.delete(url)).status == 204
    assert (await json_of(await admin.get(url), 404))["detail"] == f"检查点不存在：{mistake['id']}"
    assert "checkpoint_deleted" in await audit_actions(admin)

    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        visited = await session.get(Checkpoint, ids["CA-0001"])
        assert visited is not None
        visited.last_checked_in_at = visited.bound_at
        await session.commit()
    await engine.dispose()
    refused = await json_of(await admin.delete(f"{URL}/{ids['CA-0001']}"), 409)
    assert refused["code"] == "checkpoint_in_use"
    assert refused["detail"] == (
        "检查点「华北重工厂区」已有现场签到记录，不能删除；不再检查时请标记为退出点"
    )


async def test_other_sub_branches_see_nothing(login_as, settings, client):
    ids = await ids_by_code(settings)
    other = await login_as("inspector_bd")  # 莲池支行 in 保定
    unknown = await json_of(await other.get(f"{URL}/999999"), 404)
    foreign = await json_of(await other.get(f"{URL}/{ids['CA-0001']}"), 404)
    assert foreign["detail"] == f"检查点不存在：{ids['CA-0001']}"
    assert foreign.keys() == unknown.keys()
    for suffix in ("/qr", "/qr.png", "/qr.svg"):
        assert (await other.get(f"{URL}/{ids['CA-0001']}{suffix}")).status == 404
    listed = await json_of(await other.get(URL), 200)
    assert [i["code"] for i in listed["items"]] == ["LC-0001"]
    assert (await client.get(URL)).status == 401  # anonymous

"""Anomalies (异常): raised by the service inspections call, routed to the nearest exception
handler up the org tree, listed and handled over real HTTP, on SQLite and on PostgreSQL.

See ``anomaly_support`` for the demo bank's shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from inspection_api.anomalies.models import Anomaly, AnomalySource
from inspection_api.anomalies.service import Finding, raise_anomalies
from inspection_api.audit.models import AuditEvent
from inspection_api.checklists import rules
from inspection_api.checklists.content import Severity
from inspection_api.checklists.defaults import default_checklist
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.errors import NotFound, ValidationFailed
from inspection_api.inspections.models import Inspection
from tests.integration.anomaly_support import (
    FINDING,
    PASSWORD,
    Db,
    add_handler,
    ids,
    notifications_of,
    principal,
    raise_at,
)
from tests.plugins.api import json_of

URL = "/api/v1/anomalies"


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_an_anomaly_goes_to_the_nearest_handler_up_the_tree(client, login_as, db):
    known = await ids(db)
    inspector = await principal(db, "inspector")
    before = utcnow()
    async with db() as session:  # one of the demo's inspections at CA-0001
        inspection_id = await session.scalar(
            select(Inspection.id).where(Inspection.checkpoint_id == known["CA-0001"]).limit(1)
        )
    (aid,) = await raise_at(db, "CA-0001", actor=inspector, inspection_id=inspection_id)

    handler = await login_as("handler")  # 石家庄分行, above 长安支行 (which has none)
    one = await json_of(await handler.get(f"{URL}/{aid}"), 200)
    assert one["org_name"] == "长安支行"
    assert (one["checkpoint_code"], one["checkpoint_name"]) == ("CA-0001", "华北重工厂区")
    assert (one["handler_org_id"], one["handler_org_name"]) == (known["HB-SJZ"], "石家庄分行")
    assert (one["state"], one["escalated"], one["overdue"]) == ("open", False, False)
    assert (one["indicator"], one["severity"], one["answer"]) == ("他行授信逾期", "high", True)
    assert (one["source"], one["inspection_id"], one["raised_by_user_id"]) == (
        "rule",
        inspection_id,
        known["inspector"],
    )
    deadline = datetime.fromisoformat(one["deadline"])
    assert timedelta(hours=24) <= deadline - before < timedelta(hours=24, minutes=1)
    assert [(e["kind"], e["actor_name"], e["to_org_name"]) for e in one["events"]] == [
        ("raised", "张检查", "石家庄分行")
    ]
    assert one["can_handle"] is True

    inbox = await json_of(await handler.get("/api/v1/notifications?unread=true"), 200)
    mine = [n for n in inbox if n["anomaly_id"] == aid]
    assert [(n["kind"], n["title"]) for n in mine] == [("anomaly_raised", "新异常：他行授信逾期")]
    assert mine[0]["body"].startswith("华北重工厂区（长安支行） · 严重，请于 ")

    # Once 长安支行 has a handler of its own, its anomalies go there and not up.
    ca_handler = await add_handler(db, "HB-SJZ-CA", "ca_handler", "钱处理")
    (second,) = await raise_at(db, "CA-0001")
    routed = await json_of(await handler.get(f"{URL}/{second}"), 200)
    assert routed["handler_org_name"] == "长安支行"
    assert await notifications_of(db, ca_handler, second) == [
        ("anomaly_raised", "新异常：他行授信逾期")
    ]
    assert await notifications_of(db, known["handler"], second) == []

    async with db() as session:
        audited = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "anomaly_raised")
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [(e.detail["anomaly_id"], e.actor_username) for e in audited[-2:]] == [
        (aid, "inspector"),
        (second, ""),
    ]
    assert audited[-1].org_path.endswith(f"/{known['HB-SJZ-CA']}/")


async def test_fired_checklist_rules_become_anomalies(db):
    answers = {"other_bank_overdue": True, "operating_status": "异常", "litigation": False}
    fired = rules.anomalies(default_checklist(), answers)
    findings = [Finding.from_rule(a) for a in fired]
    flagged = Finding(
        item_key="",
        item_label="",
        section="",
        indicator="厂区停工",
        severity=Severity.MEDIUM,
        source=AnomalySource.INSPECTOR,
        note="现场仅有两名值班人员",
    )
    raised = await raise_at(db, "CA-0001", *findings, flagged)
    async with db() as session:
        rows = (
            await session.scalars(
                select(Anomaly).where(Anomaly.id.in_(raised)).order_by(Anomaly.id)
            )
        ).all()
    assert [(r.item_key, r.section, r.indicator, r.severity, r.answer, r.source) for r in rows] == [
        ("operating_status", "企业运营状况", "企业经营状况异常", "high", "异常", "rule"),
        ("other_bank_overdue", "企业财务信息", "他行授信逾期", "high", True, "rule"),
        ("", "", "厂区停工", "medium", None, "inspector"),
    ]
    assert rows[2].note == "现场仅有两名值班人员"


async def test_findings_that_do_not_fit_are_refused_and_nothing_is_kept(db):
    known = await ids(db)
    async with db() as session:
        count = await session.scalar(select(func.count(Anomaly.id)))
        with pytest.raises(ValidationFailed) as refused:
            await raise_anomalies(
                session,
                checkpoint_id=known["CA-0001"],
                inspection_id=None,
                findings=[
                    FINDING,
                    Finding("k", "l", "s", "  ", Severity.LOW, note="x" * 1001),
                    Finding("k", "l", "s", "i", "grave", source="robot"),  # type: ignore[arg-type]
                ],
                actor=None,
                now=utcnow(),
            )
        assert [e.field for e in refused.value.errors] == [
            "findings.1.note",
            "findings.1.indicator",
            "findings.2.severity",
            "findings.2.source",
        ]
        with pytest.raises(NotFound):
            await raise_anomalies(
                session,
                checkpoint_id=999_999,
                inspection_id=None,
                findings=[FINDING],
                actor=None,
                now=utcnow(),
            )
        assert (
            await raise_anomalies(
                session,
                checkpoint_id=known["CA-0001"],
                inspection_id=None,
                findings=[],
                actor=None,
                now=utcnow(),
            )
            == []
        )
        assert await session.scalar(select(func.count(Anomaly.id))) == count


async def test_lists_stay_inside_the_jurisdiction_and_filter(login_as, db):
    known = await ids(db)
    ca = await raise_at(db, "CA-0001")
    low = Finding("", "", "", "厂区停工", Severity.LOW, source=AnomalySource.INSPECTOR)
    qx = await raise_at(db, "QX-0001", low)

    inspector = await login_as("inspector")  # 长安支行
    page = await json_of(await inspector.get(URL), 200)
    assert {a["org_name"] for a in page["items"]} == {"长安支行"}
    assert page["total"] == 2  # this one and the demo's at CA-0002
    missing = await json_of(await inspector.get(f"{URL}/{qx[0]}"), 404)
    assert (missing["code"], missing["detail"]) == ("not_found", f"异常不存在：{qx[0]}")
    outside = await inspector.get(f"{URL}?org_id={known['HB-BD-LC']}")
    assert outside.status == 404

    inspector_bd = await login_as("inspector_bd")  # 莲池支行: only the demo's two
    lc = await json_of(await inspector_bd.get(URL), 200)
    assert {a["checkpoint_code"] for a in lc["items"]} == {"LC-0001"}
    assert (await inspector_bd.get(f"{URL}/{ca[0]}")).status == 404

    handler = await login_as("handler")  # 石家庄分行 sees both of its 支行
    every = await json_of(await handler.get(f"{URL}?limit=200"), 200)
    assert {a["org_name"] for a in every["items"]} == {"长安支行", "桥西支行"}
    queries = {
        "severity=low": {qx[0]},
        "source=inspector": {qx[0]},
        f"checkpoint_id={known['CA-0001']}": {ca[0]},
        f"org_id={known['HB-SJZ-QX']}": {qx[0]},
        f"handler_org_id={known['HB-SJZ']}&checkpoint_id={known['QX-0001']}": {qx[0]},
        "escalated=true": set(),
        "overdue=true": set(),
        "state=resolved": set(),
    }
    for query, expected in queries.items():
        found = await json_of(await handler.get(f"{URL}?{query}"), 200)
        assert {a["id"] for a in found["items"]} == expected, query
    first = await json_of(await handler.get(f"{URL}?limit=1&offset=1"), 200)
    assert (first["total"], len(first["items"]), first["offset"]) == (3, 1, 1)
    bad = await json_of(await handler.get(f"{URL}?state=closed"), 422)
    assert bad["errors"][0]["field"] == "query.state"


async def test_the_handler_acknowledges_then_resolves(client, login_as, db):
    (aid,) = await raise_at(db, "CA-0001")
    inspector = await login_as("inspector")
    refused = await json_of(await inspector.post(f"{URL}/{aid}/acknowledge", json={}), 403)
    assert refused["detail"] == "无权执行此操作：处理异常"
    stranger = await login_as("inspector_bd")
    assert (await stranger.post(f"{URL}/{aid}/acknowledge", json={})).status == 403
    detail = await json_of(await inspector.get(f"{URL}/{aid}"), 200)
    assert (detail["can_handle"], detail["reassign_targets"]) == (False, [])

    handler = await login_as("handler")
    taken = await json_of(
        await handler.post(f"{URL}/{aid}/acknowledge", json={"comment": "已联系客户经理核实"}), 200
    )
    assert taken["state"] == "acknowledged"
    assert taken["acknowledged_by_user_id"] is not None and taken["acknowledged_at"]
    again = await json_of(await handler.post(f"{URL}/{aid}/acknowledge", json={}), 409)
    assert (again["code"], again["detail"]) == (
        "anomaly_state_conflict",
        "异常当前为「处理中」，不能受理",
    )
    english = await json_of(await handler.post(f"{URL}/{aid}/acknowledge?lang=en", json={}), 409)
    assert english["detail"] == "The anomaly is acknowledged; cannot acknowledge it"

    blank = await json_of(await handler.post(f"{URL}/{aid}/resolve", json={"resolution": " "}), 422)
    assert blank["errors"] == [{"field": "body.resolution", "message": "处理结果：必填"}]
    missing = await json_of(await handler.post(f"{URL}/{aid}/resolve", json={}), 422)
    assert missing["errors"] == [{"field": "body.resolution", "message": "处理结果：必填"}]
    done = await json_of(
        await handler.post(
            f"{URL}/{aid}/resolve", json={"resolution": "企业已结清他行逾期款项，提供了还款凭证"}
        ),
        200,
    )
    assert (done["state"], done["resolution"]) == (
        "resolved",
        "企业已结清他行逾期款项，提供了还款凭证",
    )
    assert [(e["kind"], e["actor_name"], e["comment"]) for e in done["events"]] == [
        ("raised", "", ""),
        ("acknowledged", "赵处理", "已联系客户经理核实"),
        ("resolved", "赵处理", "企业已结清他行逾期款项，提供了还款凭证"),
    ]
    assert done["reassign_targets"] == []
    twice = await json_of(await handler.post(f"{URL}/{aid}/resolve", json={"resolution": "x"}), 409)
    assert twice["detail"] == "异常当前为「已处理」，不能标记为已处理"

    # An administrator above may handle too; resolving straight from open is allowed.
    (other,) = await raise_at(db, "CA-0001")
    sjz_admin = await login_as("sjz_admin")
    closed = await json_of(
        await sjz_admin.post(f"{URL}/{other}/resolve", json={"resolution": "误报"}), 200
    )
    assert closed["state"] == "resolved" and closed["acknowledged_at"] is None

    admin = await login_as("admin")
    audit = await json_of(await admin.get("/api/v1/audit-events?limit=20"), 200)
    actions = [(e["action"], e["detail"].get("anomaly_id")) for e in audit]
    for action in ("anomaly_acknowledged", "anomaly_resolved"):
        assert (action, aid) in actions


async def test_reassigning_moves_it_to_another_handler_org(login_as, db):
    known = await ids(db)
    (aid,) = await raise_at(db, "CA-0001")  # routed to 石家庄分行
    handler = await login_as("handler")
    detail = await json_of(await handler.get(f"{URL}/{aid}"), 200)
    assert detail["reassign_targets"] == []  # no other org with handlers yet

    ca_handler = await add_handler(db, "HB-SJZ-CA", "ca_handler", "钱处理")
    await json_of(await handler.post(f"{URL}/{aid}/acknowledge", json={}), 200)
    detail = await json_of(await handler.get(f"{URL}/{aid}"), 200)
    assert detail["reassign_targets"] == [
        {"org_id": known["HB-SJZ-CA"], "org_name": "长安支行", "handlers": 1}
    ]
    wrong = await handler.post(f"{URL}/{aid}/reassign", json={"handler_org_id": known["HB-BD-LC"]})
    body = await json_of(wrong, 422)
    assert body["errors"][0]["field"] == "body.handler_org_id"
    assert body["errors"][0]["message"].startswith("只能转派给异常所属支行或其上级机构")

    before = utcnow()
    moved = await json_of(
        await handler.post(
            f"{URL}/{aid}/reassign",
            json={"handler_org_id": known["HB-SJZ-CA"], "comment": "请支行先行核实"},
        ),
        200,
    )
    assert (moved["state"], moved["handler_org_name"]) == ("open", "长安支行")
    assert moved["acknowledged_at"] is None
    assert datetime.fromisoformat(moved["deadline"]) - before >= timedelta(hours=24)
    assert moved["events"][-1] | {"id": 0, "at": ""} == {
        "id": 0,
        "at": "",
        "kind": "reassigned",
        "actor_user_id": known["handler"],
        "actor_name": "赵处理",
        "from_org_id": known["HB-SJZ"],
        "from_org_name": "石家庄分行",
        "to_org_id": known["HB-SJZ-CA"],
        "to_org_name": "长安支行",
        "comment": "请支行先行核实",
    }
    assert await notifications_of(db, ca_handler, aid) == [
        ("anomaly_reassigned", "异常转派：他行授信逾期")
    ]

    # 长安支行's handler cannot send it back up: 石家庄分行 is outside their jurisdiction.
    ca = await login_as("ca_handler", PASSWORD)
    assert (await json_of(await ca.get(f"{URL}/{aid}"), 200))["reassign_targets"] == []
    up = await ca.post(f"{URL}/{aid}/reassign", json={"handler_org_id": known["HB-SJZ"]})
    assert (await json_of(up, 422))["errors"][0]["field"] == "body.handler_org_id"
    await json_of(await ca.post(f"{URL}/{aid}/resolve", json={"resolution": "已核实"}), 200)
    late = await handler.post(f"{URL}/{aid}/reassign", json={"handler_org_id": known["HB-SJZ"]})
    assert (await json_of(late, 409))["detail"] == "异常当前为「已处理」，不能转派"


async def test_the_inbox_is_personal_and_can_be_marked_read(client, login_as, db):
    known = await ids(db)
    first, second = await raise_at(db, "CA-0001", FINDING, FINDING)
    handler = await login_as("handler")
    counts = await json_of(await handler.get("/api/v1/notifications/unread-count"), 200)
    assert counts == {"total": 3, "anomalies": 3, "rectifications": 0}  # 2 + the demo's one

    inbox = await json_of(await handler.get("/api/v1/notifications"), 200)
    assert [n["anomaly_id"] for n in inbox][:2] == [second, first]  # newest first
    note = inbox[0]
    read = await json_of(await handler.post(f"/api/v1/notifications/{note['id']}/read"), 200)
    assert read["read_at"] is not None
    again = await json_of(await handler.post(f"/api/v1/notifications/{note['id']}/read"), 200)
    assert again["read_at"] == read["read_at"]  # the first time is kept
    unread = await json_of(await handler.get("/api/v1/notifications?unread=true"), 200)
    assert note["id"] not in {n["id"] for n in unread}
    already = await json_of(await handler.get("/api/v1/notifications?unread=false"), 200)
    assert [n["id"] for n in already] == [note["id"]]

    other = await login_as("reviewer")  # someone else's notification does not exist for them
    body = await json_of(await other.post(f"/api/v1/notifications/{note['id']}/read"), 404)
    assert body["detail"] == f"消息不存在：{note['id']}"
    assert await json_of(await other.get("/api/v1/notifications"), 200) == []

    only = await json_of(
        await handler.post(f"/api/v1/notifications/read-all?anomaly_id={first}"), 200
    )
    assert only == {"marked": 1}
    everything = await json_of(await handler.post("/api/v1/notifications/read-all"), 200)
    assert everything == {"marked": 1}
    counts = await json_of(await handler.get("/api/v1/notifications/unread-count"), 200)
    assert counts == {"total": 0, "anomalies": 0, "rectifications": 0}
    page = await json_of(await handler.get(f"/api/v1/notifications?before_id={note['id']}"), 200)
    assert [n["anomaly_id"] for n in page][:1] == [first]
    assert (await client.get("/api/v1/notifications")).status == 401
    assert known["handler"] == (await principal(db, "handler")).user_id


async def test_a_checkpoint_with_anomalies_cannot_be_deleted(login_as, db):
    known = await ids(db)
    admin = await login_as("sjz_admin")
    refused = await json_of(await admin.delete(f"/api/v1/checkpoints/{known['CA-0002']}"), 409)
    assert (refused["code"], refused["detail"]) == (
        "checkpoint_in_use",
        "检查点「冀中纺织成品仓库」已有检查记录（如异常、整改意见），不能删除；不再检查时请标记为退出点",
    )
    assert (await admin.get(f"/api/v1/checkpoints/{known['CA-0002']}")).status == 200


async def test_appointing_a_handler_takes_the_anomalies_waiting_for_one(login_as, db):
    """保定's anomalies were raised where no org up the tree had a handler: an administrator
    who appoints one (a new user, or a role granted) hands them over at once."""
    known = await ids(db)
    admin = await login_as("hb_admin")
    waiting = await json_of(await admin.get(f"{URL}?org_id={known['HB-BD']}"), 200)
    assert waiting["total"] == 2
    assert {a["handler_org_id"] for a in waiting["items"]} == {None}
    # A handler appointed elsewhere (石家庄 already has one) changes nothing here.
    other = await admin.post(
        "/api/v1/users",
        json={
            "username": "sjz_handler2",
            "display_name": "孙处理",
            "password": PASSWORD,
            "org_id": known["HB-SJZ"],
            "roles": ["exception_handler"],
        },
    )
    await json_of(other, 201)
    still = await json_of(await admin.get(f"{URL}?org_id={known['HB-BD']}"), 200)
    assert {a["handler_org_id"] for a in still["items"]} == {None}

    # 保定分行's inspector is given the role: both go to 保定分行, told and in its history.
    user = await json_of(await admin.get(f"/api/v1/users/{known['inspector_bd']}"), 200)
    granted = await admin.patch(
        f"/api/v1/users/{known['inspector_bd']}",
        json={"roles": [*user["roles"], "exception_handler"]},
    )
    assert (await json_of(granted, 200))["org_id"] == known["HB-BD-LC"]
    routed = await json_of(await admin.get(f"{URL}?org_id={known['HB-BD']}"), 200)
    assert {a["handler_org_id"] for a in routed["items"]} == {known["HB-BD-LC"]}
    for item in routed["items"]:
        detail = await json_of(await admin.get(f"{URL}/{item['id']}"), 200)
        assert (detail["state"], detail["deadline"] is not None) == ("open", True)
        assert detail["events"][-1]["kind"] == "reassigned"
        assert detail["events"][-1]["to_org_name"] == "莲池支行"
        assert detail["events"][-1]["comment"] == "已设置异常处理人"
        assert await notifications_of(db, known["inspector_bd"], item["id"]) == [
            ("anomaly_reassigned", f"异常转派：{item['indicator']}")
        ]

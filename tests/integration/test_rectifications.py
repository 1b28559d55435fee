"""Rectifications (整改意见) over real HTTP, on SQLite + files and on PostgreSQL + S3: staff
issue one, the enterprise contact replies with photos through the tokenized link, the bank
closes or reopens; issuing checks every field; lists stay in the jurisdiction. Refused
replies are in ``test_rectifications_replies``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from inspection_api.anomalies.models import Anomaly
from inspection_api.beijing import local_date
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.rectifications import service
from inspection_api.rectifications.models import Rectification
from tests.integration.anomaly_support import (
    Db,
    ids,
    image,
    in_days,
    issue,
    principal,
    reply_form,
    stored,
)
from tests.plugins.api import json_of

URL = "/api/v1/rectifications"


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_issue_reply_with_photos_and_close(client, login_as, db, settings):
    known = await ids(db)
    inspector = await login_as("inspector")
    created = await json_of(
        await inspector.post(
            URL,
            json={
                "checkpoint_id": known["CA-0001"],
                "text": "请提供近三个月的销售台账，并拍照反馈仓库现状",
                "due_date": in_days(7),
            },
        ),
        201,
    )
    rect, link = created["rectification"], created["link"]
    rid, token = rect["id"], link["token"]
    assert (rect["contact_name"], rect["contact_phone"]) == ("刘建国", "13903110001")
    assert (rect["responsible_user_id"], rect["responsible_name"]) == (known["inspector"], "张检查")
    assert (rect["state"], rect["overdue"], rect["link_status"]) == ("issued", False, "valid")
    assert (rect["org_name"], rect["checkpoint_code"]) == ("长安支行", "CA-0001")
    assert link["url"] == f"{settings.public_url}/rectify/{token}" and len(token) == 43
    assert link["qr_svg"].startswith("<svg")
    assert [(e["kind"], e["actor_name"], e["due_date"]) for e in rect["events"]] == [
        ("issued", "张检查", in_days(7))
    ]
    async with db() as session:  # only the digest is kept
        row = await session.get(Rectification, rid)
        assert row is not None and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(await json_of(await inspector.get(f"{URL}/{rid}"), 200))

    page = await client.get(f"/rectify/{token}")  # the contact's phone page, anonymous
    assert page.status == 200 and "整改反馈" in await page.text()
    assert page.headers["Cache-Control"] == "no-store"
    public = await json_of(await client.get(f"/api/v1/rectify/{token}"), 200)
    assert public | {"link_expires_at": "", "history": []} == {
        "checkpoint_name": "华北重工厂区",
        "customer_name": "石家庄华北重工机械有限公司",
        "org_name": "长安支行",
        "contact_name": "刘建国",
        "text": "请提供近三个月的销售台账，并拍照反馈仓库现状",
        "due_date": in_days(7),
        "state": "issued",
        "overdue": False,
        "link_expires_at": "",
        "can_reply": True,
        "max_photos": 9,
        "max_photo_mb": 10,
        "history": [],
    }

    jpeg, png = image("JPEG"), image("PNG", (200, 200, 0))
    form = reply_form(
        "已整理销售台账，仓库现状见照片",
        ("仓库.jpg", jpeg, "image/jpeg"),
        ("台账.png", png, "image/png"),
    )
    replied = await json_of(await client.post(f"/api/v1/rectify/{token}/reply", data=form), 201)
    assert (replied["state"], replied["photos"]) == ("replied", 2)

    objects = await stored(settings, rid)
    sha_jpeg, sha_png = hashlib.sha256(jpeg).hexdigest(), hashlib.sha256(png).hexdigest()
    assert objects == {
        f"rectifications/{rid}/{sha_jpeg}.jpg": jpeg,
        f"rectifications/{rid}/{sha_png}.png": png,
    }

    detail = await json_of(await inspector.get(f"{URL}/{rid}"), 200)
    assert detail["state"] == "replied" and detail["replied_at"]
    reply = detail["events"][-1]
    assert (reply["kind"], reply["actor_user_id"], reply["actor_name"], reply["comment"]) == (
        "replied",
        None,
        "刘建国",
        "已整理销售台账，仓库现状见照片",
    )
    assert [
        (p["filename"], p["content_type"], p["size"], p["sha256"]) for p in reply["photos"]
    ] == [
        ("仓库.jpg", "image/jpeg", len(jpeg), sha_jpeg),
        ("台账.png", "image/png", len(png), sha_png),
    ]
    photo = await inspector.get(reply["photos"][0]["url"])
    assert (photo.status, photo.content_type, await photo.read()) == (200, "image/jpeg", jpeg)

    counts = await json_of(await inspector.get("/api/v1/notifications/unread-count"), 200)
    assert counts["rectifications"] == 1
    (note,) = await json_of(await inspector.get("/api/v1/notifications?unread=true"), 200)
    assert (note["kind"], note["title"], note["rectification_id"]) == (
        "rectification_replied",
        "整改反馈：华北重工厂区",
        rid,
    )
    assert note["body"] == "刘建国提交了整改反馈（2 张照片）：已整理销售台账，仓库现状见照片"

    closed = await json_of(
        await inspector.post(f"{URL}/{rid}/close", json={"comment": "已现场核实"}), 200
    )
    assert (closed["state"], closed["closed_by_user_id"]) == ("closed", known["inspector"])
    public = await json_of(await client.get(f"/api/v1/rectify/{token}"), 200)
    assert (public["state"], public["can_reply"]) == ("closed", False)
    assert [(h["kind"], h["photos"]) for h in public["history"]] == [
        ("issued", 0),
        ("replied", 2),
        ("closed", 0),
    ]
    late = await client.post(
        f"/api/v1/rectify/{token}/reply",
        data=reply_form("补充", ("x.jpg", image("JPEG", (1, 2, 3)), "image/jpeg")),
    )
    body = await json_of(late, 409)
    assert (body["code"], body["detail"]) == (
        "rectification_state_conflict",
        "整改意见当前为「已关闭」，不能提交反馈",
    )
    assert len(await stored(settings, rid)) == 2  # nothing more was kept
    twice = await json_of(await inspector.post(f"{URL}/{rid}/close", json={}), 409)
    assert twice["detail"].startswith("整改意见当前为「已关闭」，不能关闭")

    admin = await login_as("admin")
    audit = await json_of(await admin.get("/api/v1/audit-events?limit=30"), 200)
    trail = [
        (e["action"], e["actor_username"])
        for e in audit
        if e["action"].startswith("rectification_") and e["detail"]["rectification_id"] == rid
    ]
    assert trail == [
        ("rectification_closed", "inspector"),
        ("rectification_replied", "刘建国"),
        ("rectification_created", "inspector"),
    ]


async def test_reopen_then_reply_again_for_an_anomaly(client, login_as, db):
    known = await ids(db)
    async with db() as session:  # the demo's anomaly at CA-0002 (冀中纺织成品仓库)
        anomaly_id = await session.scalar(
            select(Anomaly.id).where(Anomaly.checkpoint_id == known["CA-0002"])
        )
    inspector = await login_as("inspector")
    created = await json_of(
        await inspector.post(
            URL,
            json={"anomaly_id": anomaly_id, "text": "请说明他行逾期原因", "due_date": in_days(3)},
        ),
        201,
    )
    rect = created["rectification"]
    rid, token = rect["id"], created["link"]["token"]
    assert (rect["checkpoint_code"], rect["anomaly_indicator"]) == ("CA-0002", "他行授信逾期")
    assert (rect["contact_name"], rect["contact_phone"]) == ("王秀兰", "0311-85661234")

    early = await json_of(await inspector.post(f"{URL}/{rid}/reopen", json={"comment": "x"}), 409)
    assert early["detail"].startswith("整改意见当前为「已下发」，不能重新整改")
    await json_of(
        await client.post(f"/api/v1/rectify/{token}/reply", data=reply_form("已还清")), 201
    )

    blank = await json_of(await inspector.post(f"{URL}/{rid}/reopen", json={"comment": ""}), 422)
    assert blank["errors"][0]["field"] == "body.comment"
    past = await inspector.post(
        f"{URL}/{rid}/reopen", json={"comment": "请提供还款凭证", "due_date": in_days(-1)}
    )
    assert (await json_of(past, 422))["errors"] == [
        {"field": "body.due_date", "message": "整改期限不能早于今天"}
    ]
    reopened = await json_of(
        await inspector.post(
            f"{URL}/{rid}/reopen", json={"comment": "请提供还款凭证", "due_date": in_days(10)}
        ),
        200,
    )
    assert (reopened["state"], reopened["due_date"]) == ("reopened", in_days(10))
    public = await json_of(await client.get(f"/api/v1/rectify/{token}"), 200)
    assert (public["state"], public["can_reply"], public["due_date"]) == (
        "reopened",
        True,
        in_days(10),
    )
    assert public["history"][-1]["comment"] == "请提供还款凭证"

    not_yet = await json_of(await inspector.post(f"{URL}/{rid}/close", json={}), 409)
    assert (
        not_yet["detail"] == "整改意见当前为「重新整改」，不能关闭（只有已反馈的整改意见可以关闭）"
    )
    again = reply_form("还款凭证见照片", ("凭证.webp", image("WEBP"), "image/webp"))
    await json_of(await client.post(f"/api/v1/rectify/{token}/reply", data=again), 201)
    done = await json_of(await inspector.post(f"{URL}/{rid}/close", json={}), 200)
    assert [e["kind"] for e in done["events"]] == [
        "issued",
        "replied",
        "reopened",
        "replied",
        "closed",
    ]
    assert done["events"][2]["due_date"] == in_days(10)
    listed = await json_of(await inspector.get(f"{URL}?anomaly_id={anomaly_id}"), 200)
    assert [r["id"] for r in listed["items"]] == [rid]


async def test_issuing_checks_every_field(login_as, db, client):
    known = await ids(db)
    inspector = await login_as("inspector")

    async def refused(body: dict[str, Any], status: int = 422) -> Any:
        payload = {"checkpoint_id": known["CA-0001"], "text": "请整改", "due_date": in_days(5)}
        return (await json_of(await inspector.post(URL, json=payload | body), status))["errors"]

    assert await refused({"due_date": in_days(-1)}) == [
        {"field": "body.due_date", "message": "整改期限不能早于今天"}
    ]
    assert (await refused({"checkpoint_id": known["LC-0001"]}))[0]["field"] == "body.checkpoint_id"
    assert (await refused({"checkpoint_id": None}))[0]["message"] == "请选择检查点"
    async with db() as session:
        lc_anomaly = await session.scalar(
            select(Anomaly.id).where(Anomaly.checkpoint_id == known["LC-0001"])
        )
        ca_anomaly = await session.scalar(
            select(Anomaly.id).where(Anomaly.checkpoint_id == known["CA-0002"])
        )
    assert (await refused({"anomaly_id": lc_anomaly}))[0]["field"] == "body.anomaly_id"
    mismatch = await refused({"anomaly_id": ca_anomaly})  # CA-0002's, checkpoint CA-0001
    assert mismatch == [
        {"field": "body.checkpoint_id", "message": "与异常所属的检查点「冀中纺织成品仓库」不一致"}
    ]
    outsider = await refused({"responsible_user_id": known["inspector_bd"]})
    assert outsider[0]["field"] == "body.responsible_user_id"
    assert (await refused({"contact_phone": "12345"}))[0]["field"] == "body.contact_phone"
    assert (await refused({"text": ""}))[0]["field"] == "body.text"
    assert (await refused({"link_days": 0}))[0]["field"] == "body.link_days"

    sjz_admin = await login_as("sjz_admin")
    bare = await json_of(
        await sjz_admin.post(
            "/api/v1/checkpoints",
            json={
                "org_id": known["HB-SJZ-CA"],
                "name": "无联系人厂区",
                "code": "CA-0200",
                "customer_name": "某企业",
            },
        ),
        201,
    )
    payload = {"checkpoint_id": bare["id"], "text": "请整改", "due_date": in_days(5)}
    nobody = await json_of(await sjz_admin.post(URL, json=payload), 422)
    assert nobody["errors"] == [{"field": "body.contact_name", "message": "请填写企业联系人"}]
    # An administrator above may make someone of 石家庄分行 responsible: they oversee 长安支行.
    chosen = await json_of(
        await sjz_admin.post(
            URL, json=payload | {"contact_name": "李四", "responsible_user_id": known["reviewer"]}
        ),
        201,
    )
    assert chosen["rectification"]["responsible_name"] == "王审核"

    for username in ("reviewer", "handler"):
        other = await login_as(username)
        assert (await other.post(URL, json=payload)).status == 403


async def test_jurisdiction_lists_and_new_links(client, login_as, db):
    known = await ids(db)
    token, rid = await issue(db)
    _, due_today = await issue(db, due_date=local_date(utcnow()), text="今日到期")

    stranger = await login_as("inspector_bd")
    assert (await stranger.get(f"{URL}/{rid}")).status == 404
    theirs = await json_of(await stranger.get(URL), 200)
    assert {r["checkpoint_code"] for r in theirs["items"]} == {"LC-0001"}  # the demo's
    reviewer = await login_as("reviewer")
    assert {r["id"] for r in (await json_of(await reviewer.get(URL), 200))["items"]} >= {
        rid,
        due_today,
    }
    assert (await reviewer.post(f"{URL}/{rid}/close", json={})).status == 403
    assert (await reviewer.post(f"{URL}/{rid}/link", json={})).status == 403
    assert (await stranger.get(f"{URL}?org_id={known['HB-SJZ-CA']}")).status == 404

    inspector = await login_as("inspector")
    for query, expected in {
        "state=issued": {rid, due_today},
        "state=closed": set(),
        f"checkpoint_id={known['CA-0001']}": {rid, due_today},
        f"responsible_user_id={known['inspector']}": {rid, due_today},
        "overdue=true": set(),  # due today is not late yet
    }.items():
        found = await json_of(await inspector.get(f"{URL}?{query}"), 200)
        assert {r["id"] for r in found["items"]} == expected, query

    async with db() as session:  # two days later, by the injected clock
        rows, total = await service.list_rectifications(
            session,
            await principal(db, "inspector"),
            {},
            overdue=True,
            now=utcnow() + timedelta(days=2),
        )
    assert ([r.rectification.id for r in rows], total) == ([due_today], 1)

    renewed = await json_of(await inspector.post(f"{URL}/{rid}/link", json={"link_days": 2}), 200)
    assert renewed["token"] != token
    assert (await client.get(f"/api/v1/rectify/{token}")).status == 404  # the old one is dead
    public = await json_of(await client.get(f"/api/v1/rectify/{renewed['token']}"), 200)
    assert public["state"] == "issued"
    detail = await json_of(await inspector.get(f"{URL}/{rid}"), 200)
    assert detail["events"][-1]["kind"] == "link_renewed"
    assert [h["kind"] for h in public["history"]] == ["issued"]  # not the link renewal
    missing_photo = await json_of(await inspector.get(f"{URL}/{rid}/photos/999999"), 404)
    assert missing_photo["detail"] == "整改照片不存在：999999"

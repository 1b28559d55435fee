"""Rectifications (整改意见) over real HTTP, on SQLite + files and on PostgreSQL + S3: staff
issue one, the enterprise contact replies with photos through the tokenized link, the bank
closes or reopens; refused replies (forged or expired link, wrong type, too large) say why
and change nothing.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import FormData
from PIL import Image
from sqlalchemy import select, update

from inspection_api.anomalies.models import Anomaly
from inspection_api.audit.service import Origin
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.rectifications import service
from inspection_api.rectifications.models import Rectification
from inspection_api.rectifications.rules import china_today
from inspection_api.rectifications.schemas import RectificationCreate
from loancheck.resources import open_store
from tests.integration.anomaly_support import Db, ids, principal
from tests.plugins.api import json_of

URL = "/api/v1/rectifications"


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def image(fmt: str, colour: tuple[int, int, int] = (30, 120, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format=fmt)
    return buffer.getvalue()


def reply_form(text: str | None, *photos: tuple[str, bytes, str], **extra: str) -> FormData:
    form = FormData()
    if text is not None:
        form.add_field("text", text)
    for name, data, content_type in photos:
        form.add_field("photos", data, filename=name, content_type=content_type)
    for name, value in extra.items():
        form.add_field(name, value)
    return form


def in_days(days: int) -> str:
    return (china_today(utcnow()) + timedelta(days=days)).isoformat()


async def stored(settings, rectification_id: int) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """The objects under ``rectifications/<id>/`` and their bytes."""
    store = await open_store(settings)
    try:
        return {
            info.key: await store.get_bytes(info.key)
            for info in await store.list(f"rectifications/{rectification_id}/")
        }
    finally:
        await store.close()


async def issue(db: Db, username: str = "inspector", code: str = "CA-0001", **rest: Any):  # type: ignore[no-untyped-def]
    """Issue through the service: (token, rectification id)."""
    known = await ids(db)
    async with db() as session:
        token, row = await service.create(
            session,
            await principal(db, username),
            RectificationCreate(
                checkpoint_id=known[code],
                text=rest.pop("text", "请补充近三个月的水电费缴纳凭证"),
                due_date=rest.pop("due_date", china_today(utcnow()) + timedelta(days=7)),
                **rest,
            ),
            now=utcnow(),
            origin=Origin(),
        )
        await session.commit()
        return token, row.rectification.id


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


async def test_refused_replies_say_why_and_change_nothing(client, db, settings):
    token, rid = await issue(db)
    reply = f"/api/v1/rectify/{token}/reply"

    forged = await json_of(await client.get("/api/v1/rectify/" + "A" * 43), 404)
    assert (forged["code"], forged["detail"]) == ("rectify_link_not_found", "整改反馈链接无效")
    assert (await client.get("/api/v1/rectify/" + "A" * 300)).status == 404
    page = await client.get("/rectify/" + "A" * 43)
    assert page.status == 404 and "整改反馈链接无效" in await page.text()
    assert (
        await client.post("/api/v1/rectify/" + "A" * 43 + "/reply", data=reply_form("x"))
    ).status == 404

    good, gif = image("JPEG"), image("GIF")
    wrong_type = reply_form(
        "整改完成", ("ok.jpg", good, "image/jpeg"), ("photo.jpg", gif, "image/jpeg")
    )
    body = await json_of(await client.post(reply, data=wrong_type), 415)
    assert body["code"] == "photo_type_refused"
    assert body["errors"] == [
        {
            "field": "body.photos.1",
            "message": "「photo.jpg」不是允许的照片格式，请上传 JPEG、PNG、WebP 或 HEIC 照片",
        }
    ]
    english = await json_of(
        await client.post(reply + "?lang=en", data=reply_form("x", ("a.gif", gif, "image/gif"))),
        415,
    )
    assert english["detail"] == "a.gif is not an accepted photo format (JPEG, PNG, WebP or HEIC)"

    ten = reply_form("整改完成", *[(f"{i}.jpg", good, "image/jpeg") for i in range(10)])
    body = await json_of(await client.post(reply, data=ten), 422)
    assert body["errors"] == [{"field": "body.photos", "message": "最多上传 9 张照片"}]
    blank = await json_of(
        await client.post(reply, data=reply_form("  ", ("a.jpg", good, "image/jpeg"))), 422
    )
    assert blank["errors"] == [{"field": "body.text", "message": "请填写整改情况说明"}]
    as_json = await json_of(await client.post(reply, json={"text": "x"}), 422)
    assert as_json["errors"][0]["field"] == "body"
    assert as_json["errors"][0]["message"] == "应以 multipart/form-data 提交（文字和照片）"
    extra = await json_of(await client.post(reply, data=reply_form("x", note="y")), 422)
    assert extra["errors"] == [{"field": "body.note", "message": "不允许的字段"}]

    # Nothing of those was kept: still issued, no reply, no object.
    async with db() as session:
        row = await session.get(Rectification, rid)
        assert row is not None and (row.state, row.replied_at) == ("issued", None)
    assert await stored(settings, rid) == {}

    accepted = await json_of(
        await client.post(reply, data=reply_form("整改完成", ("ok.jpg", good, "image/jpeg"))), 201
    )
    assert accepted["photos"] == 1
    assert list(await stored(settings, rid)) == [
        f"rectifications/{rid}/{hashlib.sha256(good).hexdigest()}.jpg"
    ]

    async with db() as session:
        await session.execute(
            update(Rectification)
            .where(Rectification.id == rid)
            .values(link_expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    expired = await json_of(await client.get(f"/api/v1/rectify/{token}"), 410)
    assert (expired["code"], expired["detail"]) == ("rectify_link_expired", "整改反馈链接已过期")
    assert (await client.post(reply, data=reply_form("补充"))).status == 410
    page = await client.get(f"/rectify/{token}")
    assert page.status == 410 and "整改反馈链接已过期" in await page.text()


async def test_an_oversized_photo_is_cut_off_and_refused(settings, aiohttp_client, db):
    from loancheck.app import create_app

    small = await aiohttp_client(create_app(replace(settings, rectification_photo_max_mb=1)))
    token, rid = await issue(db)
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (1024 * 1024)  # a JPEG signature, 1 MiB + 4 bytes
    form = reply_form(
        "整改完成", ("ok.png", image("PNG"), "image/png"), ("big.jpg", big, "image/jpeg")
    )
    body = await json_of(await small.post(f"/api/v1/rectify/{token}/reply", data=form), 413)
    assert (body["code"], body["errors"]) == (
        "photo_too_large",
        [{"field": "body.photos.1", "message": "照片「big.jpg」超过 1 MB 上限，请压缩后重新上传"}],
    )
    assert await stored(settings, rid) == {}
    fits = reply_form("整改完成", ("fits.jpg", big[: 1024 * 1024], "image/jpeg"))
    assert (await json_of(await small.post(f"/api/v1/rectify/{token}/reply", data=fits), 201))[
        "photos"
    ] == 1


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
    _, due_today = await issue(db, due_date=china_today(utcnow()), text="今日到期")

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

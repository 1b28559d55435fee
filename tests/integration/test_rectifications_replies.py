"""The enterprise contact's replies refused, on both backends: a forged or expired link, a
photo of another type or over the size limit, too many photos, blank text, not a form. Each
says why, naming the field, and nothing of it is kept: the rectification is unchanged and
the store holds no object; a correct reply afterwards goes through.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.rectifications.models import Rectification
from tests.integration.anomaly_support import Db, image, issue, reply_form, stored
from tests.plugins.api import json_of


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


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


async def test_a_reply_without_photos_may_come_as_a_plain_form(client, db):
    token, _rid = await issue(db)
    plain = await client.post(f"/api/v1/rectify/{token}/reply", data={"text": "已整改完毕"})
    assert (await json_of(plain, 201))["photos"] == 0
    extra = await client.post(f"/api/v1/rectify/{token}/reply", data={"text": "x", "photos": "y"})
    assert (await json_of(extra, 422))["errors"] == [
        {"field": "body.photos", "message": "不允许的字段"}
    ]


async def test_text_with_nul_in_a_reply_is_refused_by_name(client, db):
    """PostgreSQL stores no U+0000: it was a 500 there (docs/api.md)."""
    token, _rid = await issue(db)
    reply = f"/api/v1/rectify/{token}/reply"
    nul = "不能包含空字符 (U+0000)"
    text_nul, photo_nul = f"内容：{nul}", f"照片（第 1 项）：{nul}"
    # As a phone may send it: the file name percent-encoded, read back decoded (uploads.py).
    boundary = "nulboundary"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n已整改\0完毕\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
            f'filename="a%00.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + image("JPEG")
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    refused = await json_of(await client.post(reply, data=form, headers=headers), 422)
    assert refused["errors"] == [
        {"field": "body.text", "message": text_nul},
        {"field": "body.photos.0", "message": photo_nul},
    ]
    plain = await json_of(await client.post(reply, data={"text": "已整改\0"}), 422)
    assert plain["errors"] == [{"field": "body.text", "message": text_nul}]
    assert await json_of(await client.post(reply, data=reply_form("已整改完毕")), 201)

"""Evidence over real HTTP: live captures stored in the object store with their SHA-256,
where and when they were made; every refusal says why and loses nothing accepted before;
inspections and their evidence stay inside the jurisdiction."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient

from inspection_api.db import utcnow
from inspection_api.web.keys import SETTINGS
from loancheck.app import create_app
from loancheck.resources import open_store
from tests.integration.inspection_kit import (
    CA_0001,
    URL,
    evidence_params,
    jpeg,
    label,
    moved,
    ogg_audio,
    png,
    sha256,
    start,
    upload,
    webm_video,
)
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.api import json_of


async def fetch(client: TestClient, url: str) -> tuple[int, bytes]:
    """A signed URL: the app's own /objects/… (under its public URL) or the S3 server's."""
    public_url = client.server.app[SETTINGS].public_url
    if url.startswith(public_url + "/objects/"):
        response = await client.get(url[len(public_url) :])
        return response.status, await response.read()
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.read()


async def started(login_as, settings) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    inspection = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    return inspector, f"{URL}/{inspection['id']}"


async def test_captures_are_stored_with_their_hash_and_served_by_signed_urls(login_as, settings):
    inspector, one = await started(login_as, settings)
    photo = jpeg(seed=1)
    near = moved(CA_0001, 30)
    stored = await upload(inspector, one, "operating_status", photo, at=near, accuracy=6.5)
    assert stored["sha256"] == sha256(photo)
    assert (stored["kind"], stored["mime_type"], stored["size_bytes"]) == (
        "photo",
        "image/jpeg",
        len(photo),
    )
    assert (stored["distance_m"], stored["accuracy_m"]) == (30.0, 6.5)
    assert stored["uploader_name"] == "inspector"
    assert stored["device_id"] == "test-phone-1"
    assert stored["recording_offset_seconds"] is None

    video = await upload(
        inspector, one, "operating_status", webm_video(), "video/webm", kind="video"
    )
    audio = await upload(
        inspector, one, "utilities", ogg_audio(), "audio/ogg; codecs=opus", kind="audio"
    )
    assert (video["mime_type"], audio["mime_type"]) == ("video/webm", "audio/ogg")

    retried = await upload(inspector, one, "operating_status", photo)  # a retried upload
    assert retried["id"] == stored["id"]

    detail = await json_of(await inspector.get(one), 200)
    assert [e["id"] for e in detail["evidence"]] == [stored["id"], video["id"], audio["id"]]
    status, body = await fetch(inspector, detail["evidence"][0]["url"])
    assert (status, body) == (200, photo)
    again = await json_of(await inspector.get(f"{one}/evidence/{stored['id']}"), 200)
    assert (await fetch(inspector, again["url"]))[1] == photo

    store = await open_store(settings)
    try:
        keys = [info.key for info in await store.list(f"inspections/{detail['id']}/evidence/")]
    finally:
        await store.close()
    assert len(keys) == 3
    assert all(k.startswith(f"inspections/{detail['id']}/evidence/") for k in keys)
    assert sorted(k.rsplit(".", 1)[1] for k in keys) == ["jpg", "ogg", "webm"]

    await json_of(await inspector.delete(f"{one}/evidence/{stored['id']}"), 204)
    after = await json_of(await inspector.get(one), 200)
    assert [e["id"] for e in after["evidence"]] == [video["id"], audio["id"]]
    assert after["missing_evidence"][0]["present"] == 0
    assert (await inspector.get(f"{one}/evidence/{stored['id']}")).status == 404


async def test_refused_uploads_say_why_and_keep_what_was_accepted(login_as, settings):
    inspector, one = await started(login_as, settings)
    first = await upload(inspector, one, "operating_status", jpeg(seed=1))
    photo = jpeg(seed=2)

    tampered = await upload(
        inspector, one, "operating_status", photo, digest=sha256(b"x"), status=422
    )
    assert tampered["code"] == "evidence_tampered"
    assert tampered["detail"].startswith("文件校验失败：收到的内容与手机计算的 SHA-256 不一致")

    gif = await upload(inspector, one, "operating_status", photo, "image/gif", status=415)
    assert (gif["code"], gif["detail"]) == (
        "evidence_type_refused",
        "照片只接受以下格式：image/jpeg、image/png、image/webp（收到 image/gif）",
    )
    assert gif["allowed"] == ["image/jpeg", "image/png", "image/webp"]
    video_as_photo = await upload(
        inspector, one, "operating_status", webm_video(), "video/webm", status=415
    )
    assert video_as_photo["code"] == "evidence_type_refused"
    disguised = await upload(inspector, one, "operating_status", png(), "image/jpeg", status=415)
    assert (disguised["code"], disguised["detail"]) == (
        "evidence_content_mismatch",
        "文件内容不是声明的 image/jpeg 格式，请使用本页面的拍摄功能重新采集",
    )

    old = utcnow() - timedelta(hours=3)
    from_gallery = await upload(
        inspector, one, "operating_status", photo, captured_at=old, status=422
    )
    assert from_gallery["code"] == "capture_outside_window"
    assert "不在本次检查期间" in from_gallery["detail"]
    assert from_gallery["detail"].endswith("须在检查现场实时拍摄")
    future = utcnow() + timedelta(minutes=10)
    assert (
        await upload(inspector, one, "operating_status", photo, captured_at=future, status=422)
    )["code"] == "capture_outside_window"

    far = await upload(
        inspector, one, "operating_status", photo, at=moved(CA_0001, 349.6), status=422
    )
    assert far["detail"] == "当前位置距检查点 350 米，超出允许范围 200 米"
    stale = await upload(inspector, one, "operating_status", photo, fix_age_s=600, status=422)
    assert stale["code"] == "location_stale"
    no_fix = await upload(inspector, one, "operating_status", photo, at=None, status=422)
    assert no_fix["errors"][0]["field"] == "query.latitude"
    unknown = await upload(inspector, one, "no_such_item", photo, status=422)
    assert unknown["errors"][0] == {
        "field": "query.item_key",
        "message": "没有此检查项：no_such_item",
    }
    empty = await upload(inspector, one, "operating_status", b"", status=422)
    assert empty["code"] == "evidence_empty"
    params = evidence_params("operating_status", photo)
    half_fix = {k: v for k, v in params.items() if k != "accuracy"}
    response = await inspector.post(
        f"{one}/evidence", params=half_fix, data=photo, headers={"Content-Type": "image/jpeg"}
    )
    assert (await json_of(response, 422))["errors"][0]["field"] == "query"

    detail = await json_of(await inspector.get(one), 200)
    assert [e["id"] for e in detail["evidence"]] == [first["id"]]  # nothing lost, nothing added
    assert detail["state"] == "draft"


async def test_files_over_the_size_limit_are_refused(settings, demo_passwords, aiohttp_client):
    small = replace(settings, evidence_max_mb=1)
    app_client = await aiohttp_client(create_app(small))
    inspector = TestClient(app_client.server, cookie_jar=CookieJar(unsafe=True))
    await inspector.start_server()
    try:
        login = {"username": "inspector", "password": demo_passwords["inspector"]}
        await json_of(await inspector.post("/api/v1/auth/login", json=login), 200)
        ids = await ids_by_code(settings)
        inspection = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
        one = f"{URL}/{inspection['id']}"
        big = jpeg(seed=3, size=(1600, 1300))
        assert len(big) > 1024 * 1024
        refused = await upload(inspector, one, "operating_status", big, status=413)
        assert (refused["code"], refused["detail"], refused["limit_bytes"]) == (
            "evidence_too_large",
            "文件过大，上限为 1 MB",
            1024 * 1024,
        )

        # Without a Content-Length (chunked), the limit holds while reading.
        async def chunks():  # type: ignore[no-untyped-def]
            for start_at in range(0, len(big), 65536):
                yield big[start_at : start_at + 65536]

        response = await inspector.post(
            f"{one}/evidence",
            params=evidence_params("operating_status", big),
            data=chunks(),
            headers={"Content-Type": "image/jpeg"},
        )
        assert (await json_of(response, 413))["code"] == "evidence_too_large"
        assert (await json_of(await inspector.get(one), 200))["evidence"] == []
    finally:
        await inspector.session.close()


async def test_inspections_and_their_evidence_stay_in_the_jurisdiction(login_as, settings):
    inspector, one = await started(login_as, settings)
    evidence = await upload(inspector, one, "operating_status", jpeg(seed=9))
    inspection_id = int(one.rsplit("/", 1)[1])

    other = await login_as("inspector_bd")  # 莲池支行
    for path in (one, f"{one}/evidence/{evidence['id']}"):
        missing = await json_of(await other.get(path), 404)
        assert missing["detail"] == f"检查记录不存在：{inspection_id}"
    assert (await other.patch(one, json={"answers": {}})).status == 404
    assert (await upload(other, one, "operating_status", jpeg(seed=10), status=404))["code"] == (
        "not_found"
    )
    assert (await other.delete(f"{one}/evidence/{evidence['id']}")).status == 404
    listed = await json_of(await other.get(URL), 200)
    assert inspection_id not in {i["id"] for i in listed["items"]}

    for name in ("reviewer", "handler", "sjz_admin"):  # 石家庄分行 sees 长安支行
        user = await login_as(name)
        seen = await json_of(await user.get(one), 200)
        assert seen["evidence"][0]["id"] == evidence["id"]
        page = await json_of(await user.get(f"{URL}?state=draft&kind=on_site"), 200)
        assert inspection_id in {i["id"] for i in page["items"]}
    handler = await login_as("handler")
    assert (await handler.post(f"{one}/approve", json={})).status == 403

    ids = await ids_by_code(settings)
    lc = await json_of(await other.get(f"{URL}?org_id={ids['HB-SJZ-CA']}"), 404)
    assert lc["code"] == "not_found"

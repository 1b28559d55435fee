"""The signed /objects/ links of the embedded store, refused in the app: problem+json in
plain Chinese (English on request) with a machine code, like the rest of the API — a person
who opens an expired photo link or whose page sends a file too large reads why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from inspection_api.web.keys import STORE
from loancheck.app import create_app
from storage.local import LocalObjectStore
from tests.integration.problem_text import problem_problems
from tests.plugins.api import json_of

LATER = timedelta(minutes=5)


async def app_and_store(settings: Any, aiohttp_client: Any) -> tuple[Any, LocalObjectStore]:
    client = await aiohttp_client(create_app(settings))
    store = client.server.app[STORE]
    assert isinstance(store, LocalObjectStore)
    await store.put_bytes("r/photo.jpg", b"jpeg bytes", "image/jpeg")
    return client, store


def local(url: str) -> str:
    """The signed URL's path and query, for the test client."""
    return url[url.index("/objects/") :]


async def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    body = await json_of(response, status)
    assert response.content_type == "application/problem+json"
    assert body["code"] == code and body["status"] == status
    assert problem_problems(body) == [], body
    return dict(body)


async def test_a_signed_link_refused_says_why_in_chinese(embedded_settings, aiohttp_client):
    client, store = await app_and_store(embedded_settings, aiohttp_client)
    good = local(await store.presign_get("r/photo.jpg", LATER))
    assert (await client.get(good)).status == 200  # the boundary: a sound link works

    tampered = good[:-2] + ("00" if not good.endswith("00") else "11")
    body = await problem(await client.get(tampered), 403, "object_link_invalid")
    assert body["detail"] == "文件链接无效：链接不完整或已被改动，请回到原页面重新打开"
    english = await client.get(tampered, headers={"Accept-Language": "en"})
    assert (await json_of(english, 403))["detail"] == "Signed URL invalid"
    unsigned = await client.get("/objects/r/photo.jpg")
    await problem(unsigned, 403, "object_link_invalid")

    expired = local(await store.presign_get("r/photo.jpg", timedelta(seconds=-5)))
    body = await problem(await client.get(expired), 403, "object_link_expired")
    assert body["detail"] == "文件链接已过期，请刷新原页面后重新打开"

    missing = local(await store.presign_get("r/gone.jpg", LATER))
    body = await problem(await client.get(missing), 404, "object_not_found")
    assert body["detail"] == "文件不存在或已被删除"
    assert "gone" not in body["detail"]


async def test_an_invalid_key_names_the_rule_never_the_key(embedded_settings, aiohttp_client):
    client, _store = await app_and_store(embedded_settings, aiohttp_client)
    bait = "<script>alert(1)</script>"
    response = await client.get(f"/objects/a/%2e%2e/{bait}")
    body = await problem(response, 400, "object_key_invalid")
    assert body["detail"] == "文件链接的地址无效，请回到原页面重新打开"
    english = await json_of(
        await client.get(f"/objects/a/%2e%2e/{bait}", headers={"Accept-Language": "en"}), 400
    )
    assert english["detail"] == "Invalid object key: may only contain A-Z a-z 0-9 . _ - and /"
    assert "alert" not in await response.text() and body["instance"] == "/objects/"


async def test_a_put_over_the_limit_says_the_limit(embedded_settings, aiohttp_client):
    client, store = await app_and_store(embedded_settings, aiohttp_client)
    store.max_put_bytes = 3 * 1024 * 1024  # 3 MB: the edge, and one byte past it
    url = local(await store.presign_put("v/clip.webm", LATER, "video/webm"))
    headers = {"Content-Type": "video/webm"}
    at_limit = await client.put(url, data=b"x" * store.max_put_bytes, headers=headers)
    assert at_limit.status == 200, await at_limit.text()
    over = await client.put(url, data=b"x" * (store.max_put_bytes + 1), headers=headers)
    body = await problem(over, 413, "object_too_large")
    assert body["detail"] == "文件过大：超过 3 MB 的上限"
    assert await store.get_bytes("v/clip.webm") == b"x" * store.max_put_bytes

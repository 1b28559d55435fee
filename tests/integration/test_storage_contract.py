"""One contract for both object stores, run against ``local`` (files, with its signed URLs
served by ``storage.web`` on a real aiohttp server) and ``s3`` (SeaweedFS on loopback).
Guards of the local HTTP routes, and ``open_store``, follow at the end."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port
from yarl import URL

from loancheck.resources import open_store
from loancheck.settings import Settings
from storage.base import ObjectInfo, ObjectStore
from storage.errors import InvalidKey, ObjectNotFound, StoreUnavailable
from storage.keys import content_disposition, validate_key
from storage.local import LocalObjectStore
from storage.s3 import S3ObjectStore
from storage.web import setup_object_routes
from tests.plugins.s3 import S3Server

MiB = 1024 * 1024
PUT_LIMIT = 1 * MiB
PART_SIZE = 5 * MiB
STORE_KEY = web.AppKey("store", LocalObjectStore)
LATER = timedelta(minutes=5)


async def serve_local(aiohttp_server: Any, root: Path) -> LocalObjectStore:
    """A local store whose URLs point at a minimal app with only the object routes."""
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    port = unused_port()
    app = web.Application()
    setup_object_routes(app, STORE_KEY)
    app[STORE_KEY] = LocalObjectStore(
        root, f"http://127.0.0.1:{port}", b"contract-test-secret", max_put_bytes=PUT_LIMIT
    )
    await aiohttp_server(app, port=port)
    return app[STORE_KEY]


def s3_store(server: S3Server, bucket: str) -> S3ObjectStore:
    return S3ObjectStore(
        server.endpoint, server.access_key, server.secret_key, bucket, part_size=PART_SIZE
    )


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.services)])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, aiohttp_server: Any
) -> AsyncIterator[ObjectStore]:
    if request.param == "local":
        subject: ObjectStore = await serve_local(aiohttp_server, tmp_path / "objects")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        subject = s3_store(server, await asyncio.to_thread(server.new_bucket))
    yield subject
    await subject.close()


@pytest.fixture
async def local_store(tmp_path: Path, aiohttp_server: Any) -> LocalObjectStore:
    return await serve_local(aiohttp_server, tmp_path / "objects")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def exact(url: str) -> URL:
    """The URL as signed: re-quoting the query would break an S3 signature."""
    return URL(url, encoded=True)


def tampered(url: str) -> URL:
    def flip(match: re.Match[str]) -> str:
        return match.group(1) + match.group(2)[:-1] + ("0" if match.group(2)[-1] != "0" else "1")

    return exact(re.sub(r"((?:sig|X-Amz-Signature)=)([0-9a-f]+)", flip, url))


async def test_put_bytes_round_trip(store: ObjectStore) -> None:
    data = b"\x00binary\xff" * 1000
    info = await store.put_bytes("inspections/1/photo.jpg", data, "image/jpeg")
    assert (info.key, info.size, info.content_type) == (
        "inspections/1/photo.jpg",
        len(data),
        "image/jpeg",
    )
    assert await store.get_bytes("inspections/1/photo.jpg") == data
    assert await store.exists("inspections/1/photo.jpg")


async def test_put_file_and_download_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "in.webm"
    source.write_bytes(os.urandom(300_000))
    info = await store.put_file("recordings/7/part-0001.webm", source, "video/webm")
    assert info.size == 300_000
    target = tmp_path / "out.webm"
    await store.download("recordings/7/part-0001.webm", target)
    assert target.read_bytes() == source.read_bytes()


async def test_overwrite_replaces_content_and_type(store: ObjectStore) -> None:
    await store.put_bytes("reports/r.json", b"first version", "text/plain")
    await store.put_bytes("reports/r.json", b"second", "application/json")
    assert await store.get_bytes("reports/r.json") == b"second"
    info = await store.stat("reports/r.json")
    assert (info.size, info.content_type) == (6, "application/json")


async def test_stat_reports_size_type_and_time(store: ObjectStore) -> None:
    before = datetime.now(UTC)
    await store.put_bytes("exports/list.csv", "名称,金额\n".encode(), "text/csv; charset=utf-8")
    info = await store.stat("exports/list.csv")
    assert info == ObjectInfo("exports/list.csv", 14, "text/csv; charset=utf-8", info.modified)
    assert info.modified.tzinfo is not None
    assert abs(info.modified - before) < timedelta(minutes=1)


async def test_list_by_prefix_is_sorted_and_shows_only_objects(store: ObjectStore) -> None:
    keys = ["rec/2/b.webm", "rec/1/a.webm", "rec/10/c.webm", "reports/x.pdf"]
    for key in keys:
        await store.put_bytes(
            key, key.encode(), "application/pdf" if ".pdf" in key else "video/webm"
        )
    assert [i.key for i in await store.list("rec/")] == [
        "rec/1/a.webm",
        "rec/10/c.webm",
        "rec/2/b.webm",
    ]
    assert [i.key for i in await store.list("rec/1")] == ["rec/1/a.webm", "rec/10/c.webm"]
    assert [i.key for i in await store.list("")] == sorted(keys)
    assert await store.list("nothing/") == []
    [report] = await store.list("reports/")
    assert (report.key, report.size, report.content_type) == (
        "reports/x.pdf",
        13,
        "application/pdf",
    )
    with pytest.raises(InvalidKey):
        await store.list("../")


async def test_delete_is_idempotent(store: ObjectStore) -> None:
    await store.put_bytes("tmp/a/b.txt", b"x", "text/plain")
    await store.delete("tmp/a/b.txt")
    assert not await store.exists("tmp/a/b.txt")
    assert await store.list("tmp/") == []
    await store.delete("tmp/a/b.txt")
    await store.delete("never/existed.txt")
    await store.put_bytes("tmp/a", b"a key where a folder was", "text/plain")
    assert await store.get_bytes("tmp/a") == b"a key where a folder was"


async def test_a_folder_is_not_an_object(store: ObjectStore) -> None:
    await store.put_bytes("rec/1/a.webm", b"x", "video/webm")
    for key in ("rec", "rec/1"):
        assert not await store.exists(key)
        with pytest.raises(ObjectNotFound):
            await store.get_bytes(key)
        await store.delete(key)
    assert await store.get_bytes("rec/1/a.webm") == b"x"


async def test_missing_object_raises_object_not_found(store: ObjectStore, tmp_path: Path) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.get_bytes("missing/key.bin"),
        lambda: store.stat("missing/key.bin"),
        lambda: store.download("missing/key.bin", tmp_path / "out.bin"),
    ]
    for call in calls:
        with pytest.raises(ObjectNotFound) as caught:
            await call()
        assert caught.value.key == "missing/key.bin"
        assert str(caught.value) == "object not found: missing/key.bin"
    assert not await store.exists("missing/key.bin")
    assert not (tmp_path / "out.bin").exists()


BAD_KEYS = [
    "",
    "/abs",
    "a//b",
    "a/",
    "../x",
    "a/./b",
    "a\\b",
    "a\x00b",
    "a b",
    "录像.webm",
    "x" * 513,
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_invalid_keys_are_refused_identically(
    store: ObjectStore, key: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidKey) as expected:
        validate_key(key)
    source = tmp_path / "f"
    source.write_bytes(b"x")
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.put_bytes(key, b"x", "text/plain"),
        lambda: store.put_file(key, source, "text/plain"),
        lambda: store.get_bytes(key),
        lambda: store.download(key, tmp_path / "out"),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.presign_get(key, LATER),
        lambda: store.presign_put(key, LATER, "text/plain"),
    ]
    for call in calls:
        with pytest.raises(InvalidKey) as caught:
            await call()
        assert (caught.value.key, caught.value.reason) == (key, expected.value.reason)
    assert await store.list("") == []


async def test_presigned_get_serves_content_and_ranges(
    store: ObjectStore, http: aiohttp.ClientSession
) -> None:
    data = bytes(range(256)) * 40
    await store.put_bytes("recordings/1/full.webm", data, "video/webm")
    url = exact(await store.presign_get("recordings/1/full.webm", LATER))
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        assert await response.read() == data
        assert response.headers["Content-Type"] == "video/webm"
    for first, last in [(0, 9), (5000, 5009)]:
        async with http.get(url, headers={"Range": f"bytes={first}-{last}"}) as response:
            assert response.status == 206
            assert await response.read() == data[first : last + 1]
            assert response.headers["Content-Range"] == f"bytes {first}-{last}/{len(data)}"


async def test_presigned_get_with_filename_sets_content_disposition(
    store: ObjectStore, http: aiohttp.ClientSession
) -> None:
    await store.put_bytes("recordings/1/full.webm", b"video", "video/webm")
    name = "巡检录像 2024-06-01.webm"
    url = await store.presign_get("recordings/1/full.webm", LATER, filename=name)
    async with http.get(exact(url)) as response:
        assert response.status == 200
        disposition = response.headers["Content-Disposition"]
    assert disposition == content_disposition(name)
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition


async def test_expired_presigned_get_is_refused(
    store: ObjectStore, http: aiohttp.ClientSession
) -> None:
    await store.put_bytes("a/b.txt", b"secret report", "text/plain")
    past = await store.presign_get("a/b.txt", timedelta(seconds=-5))
    soon = await store.presign_get("a/b.txt", timedelta(seconds=1))
    await asyncio.sleep(2.5)
    for url in (past, soon):
        async with http.get(exact(url)) as response:
            assert response.status == 403
            body = await response.text()
            assert "secret report" not in body
            if isinstance(store, LocalObjectStore):
                assert body == "signed URL expired"


async def test_tampered_presigned_urls_are_refused(
    store: ObjectStore, http: aiohttp.ClientSession
) -> None:
    await store.put_bytes("a/b.txt", b"secret report", "text/plain")
    get_url = await store.presign_get("a/b.txt", LATER)
    async with http.get(tampered(get_url)) as response:
        assert response.status == 403
        assert "secret report" not in await response.text()
    put_url = await store.presign_put("a/b.txt", LATER, "text/plain")
    async with http.put(
        tampered(put_url), data=b"forged", headers={"Content-Type": "text/plain"}
    ) as response:
        assert response.status == 403
    assert await store.get_bytes("a/b.txt") == b"secret report"


async def test_presigned_put_uploads_an_object(
    store: ObjectStore, http: aiohttp.ClientSession
) -> None:
    body = os.urandom(200_000)
    url = await store.presign_put("uploads/clip.webm", LATER, "video/webm")
    async with http.put(exact(url), data=body, headers={"Content-Type": "video/webm"}) as response:
        assert response.status == 200, await response.text()
    assert await store.get_bytes("uploads/clip.webm") == body
    assert (await store.stat("uploads/clip.webm")).content_type == "video/webm"
    expired = await store.presign_put("uploads/late.webm", timedelta(seconds=-5), "video/webm")
    async with http.put(
        exact(expired), data=b"late", headers={"Content-Type": "video/webm"}
    ) as response:
        assert response.status == 403
    assert not await store.exists("uploads/late.webm")


async def test_large_file_round_trips(
    store: ObjectStore, tmp_path: Path, http: aiohttp.ClientSession, request: pytest.FixtureRequest
) -> None:
    source = tmp_path / "big.webm"
    source.write_bytes(os.urandom(12 * MiB + 12345))
    info = await store.put_file("recordings/9/big.webm", source, "video/webm")
    assert info.size == 12 * MiB + 12345
    target = tmp_path / "back.webm"
    await store.download("recordings/9/big.webm", target)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest
    if isinstance(store, S3ObjectStore):  # went up in three parts of PART_SIZE
        client = request.getfixturevalue("s3_server").client()
        result = await asyncio.to_thread(client.stat_object, store.bucket, "recordings/9/big.webm")
        assert result.etag.endswith("-3")
    # A seek into the second part, as a video player does.
    url = exact(await store.presign_get("recordings/9/big.webm", LATER))
    async with http.get(url, headers={"Range": f"bytes={6 * MiB}-{6 * MiB + 9}"}) as response:
        assert response.status == 206
        with source.open("rb") as fh:
            fh.seek(6 * MiB)
            assert await response.read() == fh.read(10)


async def test_check_passes(store: ObjectStore) -> None:
    await store.check()


# -- when the store cannot be used ----------------------------------------------------------


async def test_local_check_fails_without_its_directory(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "gone", "http://127.0.0.1:1", b"k")
    with pytest.raises(StoreUnavailable) as caught:
        await store.check()
    assert (
        str(caught.value)
        == f"object store unavailable: {tmp_path / 'gone'} is not a writable directory"
    )


@pytest.mark.services
async def test_s3_check_fails_without_bucket_or_server(s3_server: S3Server) -> None:
    missing = s3_store(s3_server, "lc-test-no-such-bucket")
    with pytest.raises(StoreUnavailable) as caught:
        await missing.check()
    assert caught.value.detail == "bucket lc-test-no-such-bucket does not exist"
    with pytest.raises(StoreUnavailable):
        await missing.get_bytes("a")
    await missing.close()
    dead = S3ObjectStore(f"http://127.0.0.1:{unused_port()}", "a", "b", "bucket", timeout=2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await dead.check()
    assert time.monotonic() - started < 10
    await dead.close()


# -- guards of the local store's HTTP routes ------------------------------------------------


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


async def test_path_traversal_over_http_never_leaves_the_root(
    local_store: LocalObjectStore, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    deadline = int(time.time()) + 300
    # Even correctly signed, a key that climbs out is refused.
    sig = local_store.signature("GET", "../secret.txt", deadline, "")
    query = f"expires={deadline}&sig={sig}"
    for path in [
        "/objects/../secret.txt",
        "/objects/%2e%2e/secret.txt",
        "/objects/%2E%2E%2Fsecret.txt",
        "/objects/a/%2e%2e/%2e%2e/secret.txt",
        "/objects/..%5csecret.txt",
        "/objects/%2fetc%2fpasswd",
    ]:
        url = URL(f"{local_store.base_url}{path}?{query}", encoded=True)
        async with http.get(url) as response:
            assert response.status == 400, path
            assert "TOP SECRET" not in await response.text()


async def test_symlink_out_of_the_root_is_not_followed(
    local_store: LocalObjectStore, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "objects" / "link").symlink_to(outside)
    with pytest.raises(InvalidKey) as caught:
        await local_store.get_bytes("link/secret.txt")
    assert caught.value.reason == "resolves outside the store"
    assert await local_store.list("") == []
    url = await local_store.presign_get("link/secret.txt", LATER)
    async with http.get(exact(url)) as response:
        assert response.status == 400
        assert "TOP SECRET" not in await response.text()


async def test_put_over_the_limit_is_refused_and_keeps_the_old_object(
    local_store: LocalObjectStore, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    await local_store.put_bytes("v/clip.webm", b"old clip", "video/webm")
    url = exact(await local_store.presign_put("v/clip.webm", LATER, "video/webm"))
    headers = {"Content-Type": "video/webm"}
    async with http.put(url, data=b"x" * (PUT_LIMIT + 1), headers=headers) as response:
        assert response.status == 413
        assert await response.text() == f"object larger than the limit of {PUT_LIMIT} bytes"

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: caught while streaming
        for _ in range(3):
            yield b"y" * (PUT_LIMIT // 2)

    async with http.put(url, data=chunked(), headers=headers) as response:
        assert response.status == 413
    assert await local_store.get_bytes("v/clip.webm") == b"old clip"
    assert files_under(tmp_path / "objects") == ["v/clip.webm", "v/clip.webm~meta.json"]


async def test_signatures_bind_method_filename_and_content_type(
    local_store: LocalObjectStore, http: aiohttp.ClientSession
) -> None:
    await local_store.put_bytes("a.txt", b"text", "text/plain")
    get_url = await local_store.presign_get("a.txt", LATER, filename="a.txt")
    async with http.get(exact(get_url.replace("filename=a.txt", "filename=b.exe"))) as response:
        assert (response.status, await response.text()) == (403, "signed URL invalid")
    async with http.put(exact(get_url), data=b"forged") as response:
        assert (response.status, await response.text()) == (403, "signed URL invalid")
    put_url = exact(await local_store.presign_put("a.txt", LATER, "text/plain"))
    async with http.put(put_url, data=b"<script>", headers={"Content-Type": "text/html"}) as r:
        assert (r.status, await r.text()) == (403, "signed URL invalid")
    async with http.get(URL(f"{local_store.base_url}/objects/a.txt")) as response:
        assert (response.status, await response.text()) == (403, "signed URL invalid")
    assert await local_store.get_bytes("a.txt") == b"text"


async def test_get_headers_head_and_no_compressed_substitute(
    local_store: LocalObjectStore, http: aiohttp.ClientSession
) -> None:
    await local_store.put_bytes("d/report.csv", b"a,b\n1,2\n", "text/csv")
    await local_store.put_bytes("d/report.csv.gz", b"another object", "application/gzip")
    url = exact(await local_store.presign_get("d/report.csv", LATER))
    async with http.get(url, headers={"Accept-Encoding": "gzip, br"}) as response:
        assert response.status == 200
        assert "Content-Encoding" not in response.headers
        assert await response.read() == b"a,b\n1,2\n"
        control = response.headers["Cache-Control"]
    match = re.fullmatch(r"private, max-age=(\d+)", control)
    assert match and 0 < int(match.group(1)) <= 300
    async with http.head(url) as response:
        assert response.status == 200
        assert response.headers["Content-Length"] == "8"
        assert await response.read() == b""
    missing = exact(await local_store.presign_get("d/none.csv", LATER))
    async with http.get(missing) as response:
        assert (response.status, await response.text()) == (404, "object not found: d/none.csv")


async def test_routes_answer_404_without_a_local_store(
    aiohttp_server: Any, http: aiohttp.ClientSession
) -> None:
    app = web.Application()
    setup_object_routes(app, STORE_KEY)
    server = await aiohttp_server(app)
    async with http.get(server.make_url("/objects/a.txt?expires=1&sig=00")) as response:
        assert response.status == 404


# -- open_store ------------------------------------------------------------------------------


def settings_for(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {"LOANCHECK_DATA_DIR": str(tmp_path), "LOANCHECK_SECRET_KEY": "s" * 40, **env}
    )


async def test_open_store_file_url_creates_the_directory(tmp_path: Path) -> None:
    root = tmp_path / "新建 objects"
    settings = settings_for(tmp_path, LOANCHECK_OBJECT_STORE=root.as_uri())
    store = await open_store(settings)
    assert isinstance(store, LocalObjectStore)
    assert root.is_dir()
    await store.put_bytes("a/b.txt", b"x", "text/plain")
    assert (root / "a" / "b.txt").read_bytes() == b"x"
    url = await store.presign_get("a/b.txt", LATER)
    assert url.startswith(f"{settings.public_url}/objects/a/b.txt?expires=")
    await store.close()


@pytest.mark.services
async def test_open_store_s3_url_creates_the_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = f"lc-test-open-{os.urandom(6).hex()}"
    settings = settings_for(
        tmp_path,
        LOANCHECK_OBJECT_STORE=f"s3://{bucket}",
        LOANCHECK_S3_ENDPOINT=s3_server.endpoint,
        LOANCHECK_S3_ACCESS_KEY=s3_server.access_key,
        LOANCHECK_S3_SECRET_KEY=s3_server.secret_key,
    )
    store = await open_store(settings)
    assert isinstance(store, S3ObjectStore)
    assert await asyncio.to_thread(s3_server.client().bucket_exists, bucket)
    await store.check()
    await store.close()
    await (await open_store(settings)).close()  # an existing bucket is fine

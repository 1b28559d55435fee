"""Resumable uploads (tus core + checksum) over real HTTP, on both object stores: a cut
upload resumes from the last acknowledged byte and re-sends at most the chunk that was cut."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import uuid
from typing import Any
from urllib.parse import urlsplit

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.uploads.models import ResumableUpload
from loancheck.resources import open_store
from tests.integration.tus_client import TUS, TusUpload, checksum, metadata
from tests.plugins.api import json_of

MB = 1024 * 1024


async def stored(settings: Any, key: str) -> bytes:
    store = await open_store(settings)
    try:
        return await store.get_bytes(key)
    finally:
        await store.close()


async def test_options_name_the_protocol_and_its_limits(client):
    response = await client.options("/api/v1/uploads")
    assert response.status == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == (
        "creation,creation-with-upload,checksum,termination"
    )
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert response.headers["Tus-Max-Size"] == str(50 * MB)


async def test_a_file_sent_in_chunks_is_assembled_and_hashed(login_as, settings):
    inspector = await login_as("inspector")
    data = os.urandom(12 * MB + 12345)  # three parts on S3, the last one short
    upload = TusUpload(inspector, data)
    await upload.create()
    assert await upload.offset() == 0
    assert await upload.send() == len(data)
    assert upload.sent == len(data)
    again = TusUpload(inspector, data, client_uuid=upload.client_uuid)
    await again.create(status=200)  # the same file again: the same upload, complete
    assert again.location == upload.location
    assert await again.offset() == len(data)
    assert await stored(settings, f"uploads/{await user_id(inspector)}/{upload.upload_id}") == data


async def user_id(user: Any) -> int:
    return int((await json_of(await user.get("/api/v1/auth/me"), 200))["id"])


async def test_an_upload_cut_at_half_resumes_re_sending_at_most_one_chunk(login_as, settings):
    inspector = await login_as("inspector")
    chunk = 5 * MB
    data = os.urandom(4 * chunk + 777)
    upload = TusUpload(inspector, data, chunk=chunk)
    await upload.create()
    half = len(data) // 2
    acknowledged = await upload.send(stop_after=half - chunk)
    # The next chunk is cut mid-way: the connection drops after part of its body.
    await cut_patch(inspector, upload, acknowledged, data[acknowledged : acknowledged + chunk])
    resumed_at = await upload.offset()
    assert resumed_at == acknowledged  # nothing of the cut chunk was kept
    assert await upload.send() == len(data)
    resent = upload.sent - len(data)
    assert 0 < resent <= chunk
    key = f"uploads/{await user_id(inspector)}/{upload.upload_id}"
    assert await stored(settings, key) == data


async def cut_patch(user: Any, upload: TusUpload, offset: int, body: bytes) -> None:
    """Send a PATCH over a raw socket and close it after half of the body."""
    server = user.server
    cookies = "; ".join(f"{c.key}={c.value}" for c in user.session.cookie_jar)
    path = urlsplit(upload.location).path
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Upload-Offset: {offset}\r\nUpload-Checksum: {checksum(body)}\r\n"
        f"Origin: {server.make_url('/').origin()}\r\n"
        f"Content-Length: {len(body)}\r\nCookie: {cookies}\r\n\r\n"
    ).encode()
    _reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head + body[: len(body) // 2])
    await writer.drain()
    upload.sent += len(body) // 2
    writer.transport.abort()  # a phone losing its network mid-chunk
    await asyncio.sleep(0.3)


async def test_chunks_are_checked_and_refused_whole(login_as):
    inspector = await login_as("inspector")
    data = os.urandom(300_000)
    upload = TusUpload(inspector, data)
    await upload.create()
    bad = await upload.patch(0, data[:1000], digest=checksum(b"something else"))
    assert bad.status == 460
    assert (await bad.json())["code"] == "upload_checksum_mismatch"
    assert bad.headers["Tus-Resumable"] == "1.0.0"
    assert await upload.offset() == 0
    wrong_offset = await upload.patch(5, data[5:10])
    assert wrong_offset.status == 409
    assert wrong_offset.headers["Upload-Offset"] == "0"
    past = await upload.patch(0, data + b"x")
    assert (await json_of(past, 413))["code"] == "upload_past_length"
    unknown = await upload.patch(0, data, digest="md5 AAAA")
    assert (await json_of(unknown, 400))["code"] == "upload_checksum_unsupported"
    no_version = await inspector.head(upload.location)
    assert no_version.status == 412
    assert (await upload.patch(0, data)).status == 204
    assert await upload.offset() == len(data)


async def test_limits_and_ownership(login_as, settings):
    inspector = await login_as("inspector")

    async def create(length: int) -> Any:
        return await inspector.post(
            "/api/v1/uploads",
            headers={
                **TUS,
                "Upload-Length": str(length),
                "Upload-Metadata": metadata(client_uuid=str(uuid.uuid4())),
            },
        )

    assert (await json_of(await create(50 * MB + 1), 413))["code"] == "upload_too_large"
    assert (await create(50 * MB)).status == 201  # the limit itself is accepted
    no_uuid = await inspector.post(
        "/api/v1/uploads", headers={**TUS, "Upload-Length": "10", "Upload-Metadata": ""}
    )
    assert (await json_of(no_uuid, 422))["errors"][0]["field"] == (
        "header.Upload-Metadata.client_uuid"
    )
    mine = TusUpload(inspector, b"12345")
    await mine.create()
    other = await login_as("inspector_bd")
    assert (await other.head(mine.location, headers=TUS)).status == 404
    gone = await inspector.delete(mine.location, headers=TUS)
    assert gone.status == 204
    assert (await inspector.head(mine.location, headers=TUS)).status == 404


async def test_a_small_file_goes_up_with_its_creation(login_as, settings):
    inspector = await login_as("inspector")
    data = os.urandom(70_000)
    upload = TusUpload(inspector, data)
    response = await inspector.post(
        "/api/v1/uploads",
        data=data,
        headers={
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Length": str(len(data)),
            "Upload-Checksum": checksum(data),
            "Upload-Metadata": metadata(client_uuid=upload.client_uuid),
        },
    )
    assert response.status == 201, await response.text()
    assert response.headers["Upload-Offset"] == str(len(data))
    upload.location = response.headers["Location"]
    key = f"uploads/{await user_id(inspector)}/{upload.upload_id}"
    assert await stored(settings, key) == data


async def upload_row(settings: Any, upload_id: str) -> ResumableUpload:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            row = await session.get(ResumableUpload, upload_id)
            assert row is not None
            return row
    finally:
        await engine.dispose()


async def test_a_file_with_its_creation_is_checked_and_hashed_once_whatever_the_checksum(
    login_as, settings
):
    """A file sent whole with its creation is stored in one put and hashed once: its SHA-256
    is the file's whether the chunk's checksum was SHA-256 or SHA-1, a wrong checksum stores
    nothing, and a file of zero bytes is complete at once."""
    inspector = await login_as("inspector")
    data = os.urandom(200_000)

    async def create(body: bytes, digest: str, length: int | None = None) -> Any:
        return await inspector.post(
            "/api/v1/uploads",
            data=body,
            headers={
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Length": str(len(body) if length is None else length),
                "Upload-Checksum": digest,
                "Upload-Metadata": metadata(client_uuid=str(uuid.uuid4())),
            },
        )

    sha1 = "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()
    for digest in (checksum(data), sha1):
        response = await create(data, digest)
        assert response.status == 201, await response.text()
        upload_id = response.headers["Location"].rsplit("/", 1)[1]
        row = await upload_row(settings, upload_id)
        assert row.completed_at is not None
        assert row.stored_sha256 == hashlib.sha256(data).hexdigest()
        assert row.head_hex == data[:64].hex()
        assert await stored(settings, row.object_key) == data
    for wrong in (checksum(data[:-1]), "sha1 " + base64.b64encode(b"x" * 20).decode()):
        refused = await create(data, wrong)
        assert (await json_of(refused, 460))["code"] == "upload_checksum_mismatch"
    store = await open_store(settings)
    try:
        # Only the two accepted files: nothing of the refused ones was stored.
        assert len(await store.list(f"uploads/{await user_id(inspector)}/")) == 2
    finally:
        await store.close()
    # A file of one chunk that is not the whole file stays in progress, at its offset.
    part = await create(data[:1000], checksum(data[:1000]), length=len(data))
    assert part.status == 201 and part.headers["Upload-Offset"] == "1000"
    row = await upload_row(settings, part.headers["Location"].rsplit("/", 1)[1])
    assert row.completed_at is None and row.stored_sha256 is None

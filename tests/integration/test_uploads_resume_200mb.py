"""An interrupted 200 MB video resumes (issue #10): sent by tus in 5 MiB chunks over real
HTTP, the connection closed mid-chunk at half-way (a raw socket aborted after part of the
body), resumed from the offset HEAD answers; no more than one chunk is sent twice and the
assembled object has the file's SHA-256. On both deployments: the local store and
SeaweedFS (an S3 multipart upload). The file is generated chunk by chunk from its index and
never held whole: the test keeps one chunk and a running hash."""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.uploads.models import ResumableUpload
from loancheck.app import create_app
from loancheck.resources import open_store
from tests.integration.test_uploads import cut_patch, user_id
from tests.integration.tus_client import TUS, TusUpload, checksum, metadata

MB = 1024 * 1024
CHUNK = 5 * MB
CHUNKS = 40  # 200 MiB
LENGTH = CHUNK * CHUNKS
CUT_AT = CHUNKS // 2  # the chunk that is cut: it starts at 50 %


@pytest.fixture
async def client(settings: Any, aiohttp_client: Any) -> Any:
    """The app with room for the file (LOANCHECK_EVIDENCE_MAX_MB is 50 by default)."""
    return await aiohttp_client(create_app(replace(settings, evidence_max_mb=256)))


def chunk_at(index: int) -> bytes:
    """Chunk ``index`` of the file: the same bytes every time it is asked for."""
    return random.Random(index).randbytes(CHUNK)


def file_sha256() -> str:
    digest = hashlib.sha256()
    for index in range(CHUNKS):
        digest.update(chunk_at(index))
    return digest.hexdigest()


async def stored_sha256(settings: Any, key: str, tmp_path: Path) -> tuple[int, str]:
    """The assembled object's size and SHA-256, read back from the store through a file."""
    store = await open_store(settings)
    target = tmp_path / "assembled"
    try:
        await store.download(key, target)
    finally:
        await store.close()
    digest = hashlib.sha256()
    with target.open("rb") as file:
        while block := file.read(MB):
            digest.update(block)
    size = target.stat().st_size
    target.unlink()
    return size, digest.hexdigest()


async def upload_row(settings: Any, upload_id: str) -> ResumableUpload:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            row = await session.get(ResumableUpload, upload_id)
            assert row is not None
            return row
    finally:
        await engine.dispose()


async def test_a_200_mb_upload_cut_at_half_resumes_re_sending_at_most_one_chunk(
    login_as, settings, tmp_path
):
    began = time.monotonic()
    inspector = await login_as("inspector")
    expected = file_sha256()
    upload = TusUpload(inspector, b"", filetype="video/webm", chunk=CHUNK)
    created = await inspector.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            "Upload-Length": str(LENGTH),
            "Upload-Metadata": metadata(
                client_uuid=str(uuid.uuid4()), sha256=expected, filetype="video/webm"
            ),
        },
    )
    assert created.status == 201, await created.text()
    upload.location = created.headers["Location"]

    async def send_from(offset: int) -> int:
        while offset < LENGTH:
            body = chunk_at(offset // CHUNK)[offset % CHUNK :]
            if offset // CHUNK == CUT_AT and not cut:
                return offset
            response = await upload.patch(offset, body, digest=checksum(body))
            assert response.status == 204, await response.text()
            offset = int(response.headers["Upload-Offset"])
        return offset

    cut = False
    acknowledged = await send_from(0)
    assert acknowledged == CUT_AT * CHUNK == LENGTH // 2
    # The phone loses its network half-way through the next chunk's body.
    await cut_patch(inspector, upload, acknowledged, chunk_at(CUT_AT))
    cut = True
    resumed_at = await upload.offset()  # HEAD: where the server stands
    assert resumed_at == acknowledged
    assert await send_from(resumed_at) == LENGTH
    resent = upload.sent - LENGTH
    assert 0 < resent <= CHUNK

    row = await upload_row(settings, upload.upload_id)
    assert row.completed_at is not None
    assert row.stored_sha256 == expected
    key = f"uploads/{await user_id(inspector)}/{upload.upload_id}"
    assert await stored_sha256(settings, key, tmp_path) == (LENGTH, expected)
    print(
        f"\n200 MiB by tus, cut at 50 %: {resent} bytes re-sent, {time.monotonic() - began:.1f} s"
    )

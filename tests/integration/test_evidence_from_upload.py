"""Online captures sent by resumable upload (tus) and then attached to their item: the same
checks as a raw upload, on the assembled file; a retried attach stores nothing twice; an
incomplete, foreign or already used upload is refused with the reason in Chinese."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from inspection_api.db import utcnow
from tests.integration.inspection_kit import CA_0001, jpeg, moved, sha256, webm_video
from tests.integration.test_inspections_evidence import fetch, started
from tests.integration.tus_client import TusUpload
from tests.plugins.api import json_of


def attach_body(
    upload: TusUpload, item_key: str, *, kind: str = "photo", at: Any = CA_0001, **extra: Any
) -> dict[str, Any]:
    captured = utcnow()
    body: dict[str, Any] = {
        "upload_id": upload.upload_id,
        "item_key": item_key,
        "kind": kind,
        "sha256": sha256(upload.data),
        "captured_at": captured.isoformat(),
        "device_id": "test-phone-1",
    }
    if at is not None:
        body["fix"] = {
            "latitude": at.latitude,
            "longitude": at.longitude,
            "accuracy": 7.0,
            "captured_at": (captured - timedelta(seconds=1)).isoformat(),
        }
    body.update(extra)
    return body


async def sent(user: Any, data: bytes, filetype: str = "image/jpeg", **kw: Any) -> TusUpload:
    upload = TusUpload(user, data, filetype=filetype, **kw)
    await upload.create()
    assert await upload.send() == len(data)
    return upload


async def test_an_uploaded_capture_is_attached_with_its_hash(login_as, settings):
    inspector, one = await started(login_as, settings)
    photo = jpeg(seed=7)
    upload = await sent(inspector, photo)
    body = attach_body(upload, "operating_status", at=moved(CA_0001, 25))
    stored = await json_of(await inspector.post(f"{one}/evidence/from-upload", json=body), 201)
    assert stored["sha256"] == sha256(photo)
    assert (stored["kind"], stored["mime_type"], stored["size_bytes"]) == (
        "photo",
        "image/jpeg",
        len(photo),
    )
    assert stored["distance_m"] == 25.0
    assert (await fetch(inspector, stored["url"])) == (200, photo)
    # The answer was lost and the phone tries again: the same evidence, not a second one.
    again = await json_of(await inspector.post(f"{one}/evidence/from-upload", json=body), 201)
    assert again["id"] == stored["id"]
    detail = await json_of(await inspector.get(one), 200)
    assert [e["id"] for e in detail["evidence"]] == [stored["id"]]
    # Another item cannot take the same upload.
    other = {**body, "item_key": "utilities"}
    used = await json_of(await inspector.post(f"{one}/evidence/from-upload", json=other), 409)
    assert (used["code"], used["detail"]) == ("upload_in_use", "该上传文件已用于另一条取证记录")


async def test_a_video_in_chunks_is_attached_when_complete(login_as, settings):
    inspector, one = await started(login_as, settings)
    video = webm_video() + bytes(6 * 1024 * 1024)  # two chunks of 5 MiB
    upload = TusUpload(inspector, video, filetype="video/webm")
    await upload.create()
    await upload.send(stop_after=1)
    body = attach_body(upload, "operating_status", kind="video")
    early = await json_of(await inspector.post(f"{one}/evidence/from-upload", json=body), 409)
    assert early["code"] == "upload_incomplete"
    assert early["detail"] == (
        f"文件尚未上传完成（{5 * 1024 * 1024}/{len(video)} 字节），请续传后再提交"
    )
    assert await upload.send() == len(video)
    stored = await json_of(await inspector.post(f"{one}/evidence/from-upload", json=body), 201)
    assert (stored["kind"], stored["size_bytes"], stored["sha256"]) == (
        "video",
        len(video),
        sha256(video),
    )


async def test_attaching_is_checked_like_a_raw_upload(login_as, settings):
    inspector, one = await started(login_as, settings)
    photo = jpeg(seed=8)
    upload = await sent(inspector, photo)
    path = f"{one}/evidence/from-upload"

    tampered = attach_body(upload, "operating_status", sha256=sha256(b"other"))
    assert (await json_of(await inspector.post(path, json=tampered), 422))[
        "code"
    ] == "evidence_tampered"
    far = attach_body(upload, "operating_status", at=moved(CA_0001, 900))
    assert (await json_of(await inspector.post(path, json=far), 422))[
        "code"
    ] == "location_out_of_range"
    as_video = attach_body(upload, "operating_status", kind="video")
    assert (await json_of(await inspector.post(path, json=as_video), 415))[
        "code"
    ] == "evidence_type_refused"
    old = attach_body(upload, "operating_status")
    old["captured_at"] = (utcnow() - timedelta(days=1)).isoformat()
    assert (await json_of(await inspector.post(path, json=old), 422))[
        "code"
    ] == "capture_outside_window"
    # Strict input: a number where the id belongs is refused, not coerced.
    numeric = {**attach_body(upload, "operating_status"), "upload_id": 12}
    assert (await inspector.post(path, json=numeric)).status == 422
    # Refusals kept nothing, and the upload can still be attached.
    assert (await json_of(await inspector.get(one), 200))["evidence"] == []
    good = await json_of(
        await inspector.post(path, json=attach_body(upload, "operating_status")), 201
    )
    assert good["sha256"] == sha256(photo)

    # Someone else's upload is not there for me (404), nor mine for another inspector.
    colleague = await login_as("inspector_bd")
    theirs = await sent(colleague, jpeg(seed=9))
    foreign = await inspector.post(path, json=attach_body(theirs, "operating_status"))
    assert (await json_of(foreign, 404))["code"] == "not_found"


async def test_a_phone_retrying_after_a_crash_gets_one_evidence_row(login_as, settings):
    """The phone kept the capture under its UUID (a page reloaded mid-send, the answers of
    the creation and of the attach lost): it creates the upload again with that UUID and
    attaches it again, five times at once — one upload, one evidence row, with that UUID."""
    inspector, one = await started(login_as, settings)
    photo = jpeg(seed=21)
    first = await sent(inspector, photo)
    body = attach_body(first, "operating_status", at=moved(CA_0001, 10))
    stored = await json_of(await inspector.post(f"{one}/evidence/from-upload", json=body), 201)

    again = TusUpload(inspector, photo, client_uuid=first.client_uuid)
    await again.create(status=200)  # the same upload, already complete
    assert again.upload_id == first.upload_id
    assert await again.offset() == len(photo)
    answers = await asyncio.gather(
        *(inspector.post(f"{one}/evidence/from-upload", json=body) for _ in range(5))
    )
    ids = {(await json_of(answer, 201))["id"] for answer in answers}
    assert ids == {stored["id"]}
    detail = await json_of(await inspector.get(one), 200)
    assert [(e["id"], e["sha256"]) for e in detail["evidence"]] == [(stored["id"], sha256(photo))]


async def test_attaching_one_upload_five_times_at_once_stores_one_row(login_as, settings):
    """Never attached yet, sent five times at once (the phone's retry racing its first try):
    one evidence row, and every answer names it."""
    inspector, one = await started(login_as, settings)
    upload = await sent(inspector, jpeg(seed=22))
    body = attach_body(upload, "operating_status", at=moved(CA_0001, 10))
    answers = await asyncio.gather(
        *(inspector.post(f"{one}/evidence/from-upload", json=body) for _ in range(5))
    )
    statuses = [answer.status for answer in answers]
    ids = {(await answer.json()).get("id") for answer in answers}
    assert statuses == [201] * 5, [await a.text() for a in answers]
    detail = await json_of(await inspector.get(one), 200)
    assert len(detail["evidence"]) == 1 and ids == {detail["evidence"][0]["id"]}

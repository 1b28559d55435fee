"""企业自检 online by tus: the contact's phone sends a capture by resumable upload under its
link (/api/v1/self-checks/{token}/uploads) and attaches it with
``POST /api/v1/self-checks/{token}/evidence/from-upload``, as staff do with theirs: stored
with the phone's SHA-256, once however often it is retried, and only the link's own upload
while the link is open."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from inspection_api.db import utcnow
from tests.integration.inspection_kit import CA_0001, URL, jpeg, moved, sha256, webm_video
from tests.integration.test_evidence_from_upload import attach_body, sent
from tests.integration.test_inspections_evidence import fetch, started
from tests.integration.test_selfcheck_offline import Phone, change_invite, invite
from tests.integration.tus_client import TusUpload
from tests.plugins.api import json_of


async def linked(phone: Phone, data: bytes, filetype: str = "image/jpeg") -> TusUpload:
    """``data`` sent whole by tus under the phone's link."""
    return await sent(phone, data, filetype, uploads=phone.uploads)


def attach(phone: Phone, body: dict[str, Any]) -> Any:
    return phone.post(f"{phone.link}/evidence/from-upload", json=body)


async def test_a_links_upload_is_attached_with_the_phones_hash_once(login_as, settings, client):
    inspector, created, phone = await invite(login_as, settings, client)
    photo = jpeg(seed=21)
    upload = await linked(phone, photo)
    body = attach_body(upload, "operating_status", at=moved(CA_0001, 25))
    stored = await json_of(await attach(phone, body), 201)
    assert stored["sha256"] == sha256(photo)
    assert (stored["kind"], stored["mime_type"], stored["size_bytes"]) == (
        "photo",
        "image/jpeg",
        len(photo),
    )
    assert stored["distance_m"] == 25.0
    assert (await fetch(client, stored["url"])) == (200, photo)
    # The answer was lost and the phone tries again: the same evidence, not a second one.
    again = await json_of(await attach(phone, body), 201)
    assert again["id"] == stored["id"]
    staff = await json_of(await inspector.get(f"{URL}/{created['inspection']['id']}"), 200)
    assert [(e["id"], e["uploader_name"]) for e in staff["evidence"]] == [(stored["id"], "刘建国")]
    # Another item cannot take the same upload.
    other = {**body, "item_key": "utilities"}
    used = await json_of(await attach(phone, other), 409)
    assert (used["code"], used["detail"]) == ("upload_in_use", "该上传文件已用于另一条取证记录")


async def test_an_incomplete_upload_waits_and_the_checks_are_the_staff_ones(
    login_as, settings, client
):
    _inspector, _created, phone = await invite(login_as, settings, client)
    video = webm_video() + bytes(6 * 1024 * 1024)  # two chunks of 5 MiB
    upload = TusUpload(phone, video, filetype="video/webm", uploads=phone.uploads)
    await upload.create()
    await upload.send(stop_after=1)
    body = attach_body(upload, "operating_status", kind="video")
    early = await json_of(await attach(phone, body), 409)
    assert early["code"] == "upload_incomplete"
    # Resumed from the server's offset, then attached.
    assert await upload.offset() == 5 * 1024 * 1024
    assert await upload.send() == len(video)
    far = attach_body(upload, "operating_status", kind="video", at=moved(CA_0001, 350))
    assert (await json_of(await attach(phone, far), 422))["code"] == "location_out_of_range"
    no_fix = attach_body(upload, "operating_status", kind="video", at=None)
    missing = await json_of(await attach(phone, no_fix), 422)
    assert missing["code"] == "validation_failed"
    assert missing["errors"][0]["message"] == "现场取证须附带拍摄时的GPS定位"
    tampered = attach_body(upload, "operating_status", kind="video", sha256=sha256(b"x"))
    assert (await json_of(await attach(phone, tampered), 422))["code"] == "evidence_tampered"
    inside = attach_body(upload, "operating_status", kind="video", at=moved(CA_0001, 199))
    stored = await json_of(await attach(phone, inside), 201)
    assert (stored["kind"], stored["size_bytes"], stored["sha256"]) == (
        "video",
        len(video),
        sha256(video),
    )


async def test_another_links_or_staffs_upload_is_not_found(login_as, settings, client):
    inspector, _created, phone = await invite(login_as, settings, client)
    _other_inspector, _other, other = await invite(login_as, settings, client)
    theirs = await linked(other, jpeg(seed=22))
    refused = await json_of(await attach(phone, attach_body(theirs, "operating_status")), 404)
    assert refused["code"] == "not_found"
    staffs = await sent(inspector, jpeg(seed=23))
    refused = await json_of(await attach(phone, attach_body(staffs, "operating_status")), 404)
    assert refused["code"] == "not_found"
    # Nor is the link's upload the staff's to attach, to an inspection of their own.
    mine = await linked(phone, jpeg(seed=24))
    _same, own = await started(login_as, settings)
    taken = await inspector.post(
        f"{own}/evidence/from-upload", json=attach_body(mine, "operating_status")
    )
    assert (await json_of(taken, 404))["code"] == "not_found"
    # The other link still attaches its own (the other side of the edge).
    assert (await json_of(await attach(other, attach_body(theirs, "operating_status")), 201))[
        "sha256"
    ] == sha256(theirs.data)


async def test_a_closed_link_attaches_nothing(login_as, settings, client):
    inspector, created, phone = await invite(login_as, settings, client)
    upload = await linked(phone, jpeg(seed=25))
    body = attach_body(upload, "operating_status")
    await json_of(await inspector.post(f"{URL}/{created['inspection']['id']}/revoke-invites"), 200)
    revoked = await json_of(await attach(phone, body), 410)
    assert (revoked["code"], revoked["detail"]) == ("invite_revoked", "链接已被撤销")

    _inspector, expiring, late = await invite(login_as, settings, client)
    upload = await linked(late, jpeg(seed=26))
    body = attach_body(upload, "operating_status")
    # Before its end the link attaches; at its end it does not (not even the same again).
    await change_invite(settings, expiring["token"], expires_at=utcnow() + timedelta(minutes=1))
    assert (await json_of(await attach(late, body), 201))["sha256"] == sha256(upload.data)
    await change_invite(settings, expiring["token"], expires_at=utcnow())
    expired = await json_of(await attach(late, body), 410)
    assert expired["code"] == "invite_expired"
    staff = await json_of(await inspector.get(f"{URL}/{created['inspection']['id']}"), 200)
    assert staff["evidence"] == []

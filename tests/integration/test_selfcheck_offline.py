"""企业自检 offline: an enterprise contact's self-check made without network lands by its
link (tus uploads and a sync under /api/v1/self-checks/{token}) exactly as the staff sync
lands an inspection: once, with the phone's hashes, checked as online at the phone's
times, and refused with a reason when the link has closed or the record is not this
self-check's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from inspection_api.audit.service import Origin
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.inspections import selfcheck_sync
from inspection_api.inspections.errors import SelfCheckLinkClosed
from inspection_api.inspections.models import CheckIn, Evidence, Inspection, SelfCheckInvite
from inspection_api.inspections.sync_endpoints import offline_item
from inspection_api.inspections.sync_records import Receipt
from inspection_api.inspections.sync_schemas import SelfCheckInspectionIn
from inspection_api.tokens import digest
from inspection_api.uploads.models import ResumableUpload
from tests.integration.inspection_kit import CA_0001, COMPLETE, URL, label, moved, sha256
from tests.integration.offline_kit import captures, phone_inspection
from tests.integration.test_anomalies_push import Console
from tests.integration.test_checkpoints import ids_by_code
from tests.integration.test_inspections_evidence import fetch
from tests.integration.tus_client import TUS
from tests.plugins.api import json_of
from tests.plugins.browser import LiveServer, StartServer

DEVICE = "phone-of-liu"


@pytest.fixture
async def app_sessions(settings: Any) -> AsyncIterator[Any]:
    """Sessions on the test server's database, to call the sync's service at chosen times."""
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


class Phone:
    """The contact's phone: no session, the link and its ``X-Device-Id`` on every call."""

    def __init__(self, client: Any, token: str, device: str = DEVICE) -> None:
        self.client, self.device = client, device
        self.link = f"/api/v1/self-checks/{token}"
        self.uploads = f"{self.link}/uploads"

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        kw["headers"] = {"X-Device-Id": self.device, **kw.get("headers", {})}
        return getattr(self.client, method)(path, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self._call("get", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self._call("post", path, **kw)

    def head(self, path: str, **kw: Any) -> Any:
        return self._call("head", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self._call("patch", path, **kw)

    async def sync(self, item: dict[str, Any], status: int = 200) -> Any:
        body = {"sent_at": utcnow().isoformat(), "device_id": self.device, "inspections": [item]}
        return await json_of(await self.post(f"{self.link}/sync", json=body), status)


async def invite(login_as: Any, settings: Any, client: Any, code: str = "CA-0001") -> Any:
    """A self-check of ``code`` opened by the inspector; its link opened once by the phone
    (online: it binds the link to the phone)."""
    inspector = await login_as("inspector")
    ids = await ids_by_code(settings)
    body = {"checkpoint_id": ids[code], "contact_name": "刘建国"}
    created = await json_of(await inspector.post(f"{URL}/self-check", json=body), 201)
    phone = Phone(client, created["token"])
    opened = await json_of(await phone.get(phone.link), 200)
    # The link's end, for the phone to say by when to come online (to the contact only).
    assert opened["link_expires_at"] == created["expires_at"]
    staff = await json_of(await inspector.get(f"{URL}/{created['inspection']['id']}"), 200)
    assert staff["link_expires_at"] is None
    return inspector, created, phone


async def in_db(settings: Any, query: Any) -> Any:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return (await session.execute(query)).scalar()
    finally:
        await engine.dispose()


async def change_invite(settings: Any, token: str, **values: Any) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(
                update(SelfCheckInvite)
                .where(SelfCheckInvite.token_hash == digest(token))
                .values(**values)
            )
            await session.commit()
    finally:
        await engine.dispose()


async def nothing_stored(settings: Any, inspection_id: int) -> None:
    """The self-check as the invite left it: no record claimed it, no check-in, no file."""
    claimed = await in_db(
        settings, select(Inspection.client_uuid).where(Inspection.id == inspection_id)
    )
    evidence = await in_db(
        settings,
        select(func.count()).select_from(Evidence).where(Evidence.inspection_id == inspection_id),
    )
    check_ins = await in_db(
        settings,
        select(func.count()).select_from(CheckIn).where(CheckIn.inspection_id == inspection_id),
    )
    assert (claimed, evidence, check_ins) == (None, 0, 0)


async def offline_record(phone: Phone, **kw: Any) -> dict[str, Any]:
    item = await phone_inspection(phone, "", uploads=phone.uploads, **kw)
    del item["qr"]  # the contact scans no label unless asked to: the link names the site
    return item


async def test_an_offline_self_check_lands_whole_with_the_phones_hashes(login_as, settings, client):
    inspector, created, phone = await invite(login_as, settings, client)
    files = captures()  # photos, a video and an audio clip
    item = await offline_record(phone, files=files)
    result = (await phone.sync(item))["results"][0]
    assert (result["status"], result["problem"]) == ("submitted", None), result
    assert result["inspection_id"] == created["inspection"]["id"]
    assert [c["status"] for c in result["evidence"]] == ["attached"] * len(files)

    detail = await json_of(await inspector.get(f"{URL}/{result['inspection_id']}"), 200)
    assert (detail["kind"], detail["state"], detail["offline"]) == (
        "self_check",
        "submitted",
        True,
    )
    assert detail["clock_flagged"] is False and abs(detail["clock_offset_seconds"]) < 5
    assert 170 < detail["sync_delay_seconds"] < 200  # submitted 3 minutes before the sync
    assert [(c["outcome"], c["by_name"]) for c in detail["check_ins"]] == [("verified", "刘建国")]
    by_hash = {e["sha256"]: e for e in detail["evidence"]}
    assert len(by_hash) == len(files)
    for _item_key, kind, data, _mime in files:
        stored = by_hash[sha256(data)]
        assert stored["kind"] == kind
        assert (await fetch(inspector, stored["url"]))[1] == data


async def test_the_links_page_names_the_links_own_home_screen_app(login_as, settings, client):
    """The HTML itself names the link's manifest: a browser reading it as the page loads
    never sees the staff's 我的任务 app (the offline shell swaps it in script)."""
    _inspector, created, _phone = await invite(login_as, settings, client)
    page = f"/self-check/{created['token']}"
    response = await client.get(page)
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    html = await response.text()
    assert f'<link rel="manifest" href="{page}/manifest.webmanifest">' in html
    assert "/static/manifest.webmanifest" not in html
    manifest = await json_of(await client.get(f"{page}/manifest.webmanifest"), 200)
    assert (manifest["start_url"], manifest["scope"]) == (page, page)


async def test_a_self_check_replayed_five_times_at_once_lands_once(login_as, settings, client):
    _inspector, created, phone = await invite(login_as, settings, client)
    item = await offline_record(phone, media=False)
    replies = await asyncio.gather(*(phone.sync(item) for _ in range(5)))
    assert {r["results"][0]["status"] for r in replies} == {"submitted"}, replies
    assert {r["results"][0]["inspection_id"] for r in replies} == {created["inspection"]["id"]}
    again = await phone.sync(item)  # and once more, after the fact
    assert again["results"][0]["status"] == "submitted"
    inspection_id = created["inspection"]["id"]
    evidence = await in_db(
        settings,
        select(func.count()).select_from(Evidence).where(Evidence.inspection_id == inspection_id),
    )
    check_ins = await in_db(
        settings,
        select(func.count()).select_from(CheckIn).where(CheckIn.inspection_id == inspection_id),
    )
    assert (evidence, check_ins) == (len(item["evidence"]), 1)
    # The uploads too: one per file, owned by the link.
    uploads = await in_db(
        settings,
        select(func.count())
        .select_from(ResumableUpload)
        .where(ResumableUpload.user_id.is_(None), ResumableUpload.evidence_id.is_not(None))
        .where(ResumableUpload.id.in_([c["upload_id"] for c in item["evidence"]])),
    )
    assert uploads == len(item["evidence"])


async def test_out_of_the_radius_is_refused_with_the_reason_and_nothing_stored(
    login_as, settings, client
):
    _inspector, created, phone = await invite(login_as, settings, client)
    item = await offline_record(phone, at=moved(CA_0001, 350), media=False)
    result = (await phone.sync(item))["results"][0]
    assert result["status"] == "refused"
    problem = result["problem"]
    assert (problem["status"], problem["code"]) == (422, "location_out_of_range")
    assert problem["detail"] == "当前位置距检查点 350 米，超出允许范围 200 米"
    await nothing_stored(settings, created["inspection"]["id"])
    # Inside the radius, the same link takes it (the other side of the edge).
    inside = await offline_record(phone, at=moved(CA_0001, 150), media=False)
    assert (await phone.sync(inside))["results"][0]["status"] == "submitted"


async def test_a_closed_link_refuses_the_sync_and_its_uploads(login_as, settings, client):
    inspector, created, phone = await invite(login_as, settings, client)
    item = await offline_record(phone, media=False)
    one = f"{URL}/{created['inspection']['id']}/revoke-invites"
    await json_of(await inspector.post(one), 200)
    body = await phone.sync(item, status=410)
    assert body["code"] == "self_check_link_closed"
    assert body["detail"].startswith("企业自检链接已于 ")
    assert "被撤销，本次自检未能上传；数据仍保存在本机，可导出" in body["detail"]
    await nothing_stored(settings, created["inspection"]["id"])
    # Its uploads say the same: nothing more is taken by a closed link.
    head = await phone.head(f"{phone.uploads}/{item['evidence'][0]['upload_id']}", headers=TUS)
    assert head.status == 410


async def test_another_links_upload_is_not_found(login_as, settings, client):
    inspector, _created, phone = await invite(login_as, settings, client)
    _other_inspector, _other, other = await invite(login_as, settings, client)
    item = await offline_record(phone, media=False)
    upload_id = item["evidence"][0]["upload_id"]
    mine = await phone.head(f"{phone.uploads}/{upload_id}", headers=TUS)
    assert mine.status == 200
    theirs = await other.head(f"{other.uploads}/{upload_id}", headers=TUS)
    assert theirs.status == 404
    assert (await inspector.head(f"/api/v1/uploads/{upload_id}", headers=TUS)).status == 404
    # Named in the other link's record, it is refused there and stays this link's.
    stolen = await offline_record(other, media=False)
    stolen["evidence"][0]["upload_id"] = upload_id
    stolen["evidence"][0]["sha256"] = item["evidence"][0]["sha256"]
    result = (await other.sync(stolen))["results"][0]
    # As for staff: the record is kept (not submitted), the capture refused as unknown.
    assert (result["status"], result["evidence"][0]["status"]) == ("saved", "refused")
    assert result["evidence"][0]["problem"]["code"] == "not_found"
    assert (await phone.sync(item))["results"][0]["status"] == "submitted"


async def test_the_links_end_both_sides(login_as, settings, client, app_sessions):
    """Valid while the sync's receipt is before ``expires_at``; at it, closed."""
    _inspector, created, phone = await invite(login_as, settings, client)
    token = created["token"]
    ends = utcnow() + timedelta(hours=1)
    await change_invite(settings, token, expires_at=ends)
    body = await offline_record(phone, media=False)
    item = offline_item(SelfCheckInspectionIn.model_validate(body), DEVICE)

    at_end = Receipt(sent_at=ends, received_at=ends)
    try:
        await selfcheck_sync.link_for_sync(app_sessions, token, DEVICE, now=ends)
    except SelfCheckLinkClosed as closed:
        assert closed.status == 410
    else:
        raise AssertionError("a sync received at the link's end was admitted")
    # Admitted just before, the sync's own transaction still judges the link at receipt.
    link = await selfcheck_sync.link_for_sync(
        app_sessions, token, DEVICE, now=ends - timedelta(microseconds=1)
    )
    refused = await selfcheck_sync.sync_self_check(
        app_sessions, settings, link, item, at_end, origin=Origin(), submitted=()
    )
    assert refused.status == "refused"
    assert refused.problem is not None and refused.problem.code == "self_check_link_closed"
    await nothing_stored(settings, created["inspection"]["id"])

    before = ends - timedelta(microseconds=1)
    landed = await selfcheck_sync.sync_self_check(
        app_sessions,
        settings,
        link,
        item,
        Receipt(sent_at=before, received_at=before),
        origin=Origin(),
        submitted=(),
    )
    assert (landed.status, landed.inspection_id) == ("submitted", created["inspection"]["id"])

    # Over HTTP: a link whose end has passed is refused, a little before it is taken.
    _i, second, other = await invite(login_as, settings, client)
    late = await offline_record(other, media=False)
    await change_invite(settings, second["token"], expires_at=utcnow() - timedelta(seconds=1))
    assert (await other.sync(late, status=410))["code"] == "self_check_link_closed"
    await change_invite(settings, second["token"], expires_at=utcnow() + timedelta(seconds=30))
    assert (await other.sync(late))["results"][0]["status"] == "submitted"


async def test_a_label_must_be_the_self_checks_checkpoints(login_as, settings, client):
    inspector, created, phone = await invite(login_as, settings, client)
    ids = await ids_by_code(settings)
    item = await offline_record(phone, media=False)
    item["qr"] = await label(inspector, ids["CA-0002"])
    result = (await phone.sync(item))["results"][0]
    assert result["status"] == "refused"
    assert (result["problem"]["status"], result["problem"]["code"]) == (
        422,
        "self_check_wrong_label",
    )
    assert "不是本次自检的检查点「" in result["problem"]["detail"]
    await nothing_stored(settings, created["inspection"]["id"])
    item["qr"] = "https://example.com/s/1.1.1.AAAAAAAAAAAAAAAAAAAAAA"  # forged
    forged = (await phone.sync(item))["results"][0]
    assert (forged["status"], forged["problem"]["code"]) == ("refused", "qr_invalid")
    item["qr"] = await label(inspector, ids["CA-0001"])  # its own label: taken
    assert (await phone.sync(item))["results"][0]["status"] == "submitted"


async def test_a_second_record_of_the_same_self_check_is_refused(login_as, settings, client):
    _inspector, _created, phone = await invite(login_as, settings, client)
    first = await offline_record(phone, media=False)
    assert (await phone.sync(first))["results"][0]["status"] == "submitted"
    second = await offline_record(phone, media=False)  # the phone's data cleared, done again
    result = (await phone.sync(second))["results"][0]
    assert result["status"] == "refused"
    assert (result["problem"]["status"], result["problem"]["code"]) == (
        409,
        "self_check_synced_elsewhere",
    )
    assert result["problem"]["detail"].endswith("数据仍保存在本机，可导出")


async def test_a_landed_record_is_answered_again_after_the_link_closed(login_as, settings, client):
    """A phone that missed the answer of its sync hears it again once the link has closed;
    nothing else gets through a closed link."""
    inspector, created, phone = await invite(login_as, settings, client)
    item = await offline_record(phone, media=False)
    other = await offline_record(phone, media=False)  # its files uploaded while open
    first = (await phone.sync(item))["results"][0]
    assert first["status"] == "submitted"
    await json_of(await inspector.post(f"{URL}/{created['inspection']['id']}/revoke-invites"), 200)

    again = (await phone.sync(item))["results"][0]
    assert again == first
    assert (await phone.sync(other, status=410))["code"] == "self_check_link_closed"
    stranger = Phone(client, created["token"], device="another-phone")
    assert (await stranger.sync(item, status=410))["code"] == "self_check_link_closed"


@pytest.fixture
async def server(settings, live_server_factory: StartServer) -> LiveServer:
    return await live_server_factory(settings)


async def test_an_offline_self_checks_findings_are_pushed_once(server, settings, demo_passwords):
    """As the staff sync (``test_offline_sync_pushes``): the 异常处理人 hears of the findings,
    live, after the sync's commit; the record replayed pushes nothing again."""
    ids = await ids_by_code(settings)
    handler = Console()
    jar = {"cookie_jar": aiohttp.CookieJar(unsafe=True), "headers": {"Origin": server.origin}}
    async with (
        aiohttp.ClientSession(base_url=server.url, **jar) as staff,
        aiohttp.ClientSession(base_url=server.url, **jar) as contact,
    ):
        login = {"username": "inspector", "password": demo_passwords["inspector"]}
        assert (await staff.post("/api/v1/auth/login", json=login)).status == 200
        body = {"checkpoint_id": ids["CA-0001"], "contact_name": "刘建国"}
        created = await json_of(await staff.post(f"{URL}/self-check", json=body), 201)
        phone = Phone(contact, created["token"])
        await json_of(await phone.get(phone.link), 200)
        try:
            await handler.connect(server, "handler", demo_passwords["handler"])
            item = await offline_record(phone, media=False)
            item["answers"] = {**COMPLETE, "other_bank_overdue": True}  # a finding
            result = (await phone.sync(item))["results"][0]
            assert (result["status"], result["problem"]) == ("submitted", None)
            told = await handler.next("notification_created")
            assert (told["kind"], told["title"]) == ("anomaly_raised", "新异常：他行授信逾期")
            again = (await phone.sync(item))["results"][0]
            assert again["status"] == "submitted"
            await asyncio.sleep(0.5)
            assert [e for e, _ in handler.received if e == "notification_created"] == []
        finally:
            await handler.client.disconnect()
            await handler.client.shutdown()

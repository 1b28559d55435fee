"""远程巡检 and 企业自检 over real HTTP: the checklist beside a call, with snapshots stamped by
their offset into the recording and the 整改意见; a self-check filled in by the enterprise
contact through an invite link bound to one phone, under the on-site rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.remote.models import RemoteSession, SessionState
from tests.integration.inspection_kit import (
    CA_0001,
    COMPLETE,
    URL,
    capture_all,
    fix,
    jpeg,
    moved,
    upload,
)
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.api import json_of


async def call_started(settings: Any, session_id: int, ago: timedelta) -> Any:
    """The call began ``ago`` (what the first join does in signaling)."""
    began = utcnow() - ago
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        await session.execute(
            update(RemoteSession)
            .where(RemoteSession.id == session_id)
            .values(state=SessionState.ACTIVE, started_at=began)
        )
        await session.commit()
    await engine.dispose()
    return began


async def test_a_remote_session_opened_for_a_checkpoint_keeps_to_it(login_as, settings):
    """The session takes the checkpoint's 支行 and borrower; its checklist is of that
    checkpoint, without naming it again, and no other."""
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    sessions = "/api/v1/remote-sessions"
    remote = await json_of(
        await inspector.post(sessions, json={"title": "季度检查", "checkpoint_id": ids["CA-0002"]}),
        201,
    )
    assert remote["checkpoint_id"] == ids["CA-0002"]
    assert remote["enterprise_name"] == "河北冀中纺织品有限公司"
    assert remote["org_id"] == ids["HB-SJZ-CA"]

    foreign = await inspector.post(sessions, json={"title": "x", "checkpoint_id": ids["LC-0001"]})
    problem = await json_of(foreign, 422)
    assert problem["errors"][0]["field"] == "body.checkpoint_id"
    assert problem["errors"][0]["message"].endswith("不存在或不在您的辖区内")
    neither = await json_of(await inspector.post(sessions, json={"title": "x"}), 422)
    assert neither["errors"][0]["field"] == "body.enterprise_name"
    assert neither["errors"][0]["message"] == "请选择检查点或填写企业名称"

    other = {"remote_session_id": remote["id"], "checkpoint_id": ids["CA-0001"]}
    refused = await json_of(await inspector.post(f"{URL}/remote", json=other), 422)
    assert refused["errors"][0]["field"] == "body.checkpoint_id"
    assert refused["errors"][0]["message"] == "与本次远程巡检创建时选定的检查点不一致"
    started = await json_of(
        await inspector.post(f"{URL}/remote", json={"remote_session_id": remote["id"]}), 201
    )
    assert started["checkpoint_id"] == ids["CA-0002"]

    # An older session without a checkpoint still names one when the checklist starts.
    old = await json_of(
        await inspector.post(sessions, json={"title": "旧会话", "enterprise_name": "某企业"}), 201
    )
    assert old["checkpoint_id"] is None
    unnamed = await inspector.post(f"{URL}/remote", json={"remote_session_id": old["id"]})
    assert (await json_of(unnamed, 422))["errors"][0]["message"] == "请选择被检查企业的检查点"


async def test_remote_checklist_with_snapshots_stamped_into_the_recording(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    remote = await json_of(
        await inspector.post(
            "/api/v1/remote-sessions",
            json={"title": "华北重工远程巡检", "enterprise_name": "石家庄华北重工机械有限公司"},
        ),
        201,
    )
    body = {"remote_session_id": remote["id"], "checkpoint_id": ids["CA-0001"]}
    created = await json_of(await inspector.post(f"{URL}/remote", json=body), 201)
    assert (created["kind"], created["remote_session_id"]) == ("remote", remote["id"])
    assert created["remote_session"]["replay_url"] == f"/replay/{remote['id']}"
    linked = await json_of(await inspector.post(f"{URL}/remote", json=body), 409)
    assert (linked["code"], linked["inspection_id"]) == ("remote_already_linked", created["id"])
    found = await json_of(await inspector.get(f"{URL}?remote_session_id={remote['id']}"), 200)
    assert [i["id"] for i in found["items"]] == [created["id"]]

    one = f"{URL}/{created['id']}"
    early = await upload(inspector, one, "operating_status", jpeg(seed=1), at=None, status=409)
    assert early["detail"] == "远程巡检通话尚未开始，开始通话后才能截图取证"

    began = await call_started(settings, remote["id"], timedelta(0))  # after the checklist
    snapshot = await upload(
        inspector,
        one,
        "operating_status",
        jpeg(seed=2),
        at=None,
        captured_at=began + timedelta(seconds=1.5),
    )
    assert snapshot["recording_offset_seconds"] == 1.5
    assert snapshot["latitude"] is None
    before_call = began - timedelta(minutes=3)
    refused = await upload(
        inspector,
        one,
        "operating_status",
        jpeg(seed=3),
        at=None,
        captured_at=before_call,
        status=422,
    )
    assert refused["code"] == "capture_outside_window"

    opinion = "请企业于 12 月 31 日前补充提供近三个月水电缴费单据。"
    saved = await json_of(
        await inspector.patch(one, json={"answers": COMPLETE, "rectification_opinion": opinion}),
        200,
    )
    assert saved["rectification_opinion"] == opinion
    await capture_all(
        inspector, one, {"operating_status": 1, "utilities": 1, "tax_paid_ytd": 1}, at=None
    )
    await capture_all(
        inspector, one, {"collateral_adverse_change": 1, "license_invalid": 1}, seed=700, at=None
    )
    done = await json_of(await inspector.post(f"{one}/submit", json={}), 200)  # no fix remotely
    assert (done["state"], done["submit_fix"]) == ("submitted", None)

    other = await login_as("inspector_bd")
    foreign = {"remote_session_id": remote["id"], "checkpoint_id": ids["LC-0001"]}
    assert (await other.post(f"{URL}/remote", json=foreign)).status == 404


async def test_a_checkpoint_with_inspections_is_never_deleted(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    body = {"title": "冀中纺织远程巡检", "enterprise_name": "河北冀中纺织品有限公司"}
    remote = await json_of(await inspector.post("/api/v1/remote-sessions", json=body), 201)
    start = {"remote_session_id": remote["id"], "checkpoint_id": ids["CA-0002"]}
    await json_of(await inspector.post(f"{URL}/remote", json=start), 201)
    admin = await login_as("sjz_admin")  # never scanned on site, but inspected remotely
    refused = await json_of(await admin.delete(f"/api/v1/checkpoints/{ids['CA-0002']}"), 409)
    assert refused["code"] == "checkpoint_in_use"
    assert (await admin.get(f"/api/v1/checkpoints/{ids['CA-0002']}")).status == 200


async def test_self_check_by_invite_on_one_phone_under_the_on_site_rules(
    login_as, settings, client
):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    invite = {"checkpoint_id": ids["CA-0002"], "contact_name": "王秀兰"}
    unlocated = await json_of(await inspector.post(f"{URL}/self-check", json=invite), 409)
    assert unlocated["detail"] == (
        "检查点「冀中纺织成品仓库」尚未设定GPS位置，须由客户经理到现场扫码设定位置后才能开展企业自检"
    )
    invite = {"checkpoint_id": ids["CA-0001"], "contact_name": "刘建国", "expires_in_minutes": 120}
    created = await json_of(await inspector.post(f"{URL}/self-check", json=invite), 201)
    assert created["url"] == f"http://127.0.0.1:8080/self-check/{created['token']}"
    assert created["qr_svg"].startswith("<?xml") or "<svg" in created["qr_svg"]
    assert created["inspection"]["kind"] == "self_check"
    assert created["inspection"]["inspector_name"] == "刘建国"
    staff_url = f"{URL}/{created['inspection']['id']}"
    link = f"/api/v1/self-checks/{created['token']}"
    phone = {"X-Device-Id": "phone-of-liu"}

    opened = await json_of(await client.get(link, headers=phone), 200)  # anonymous, by link
    assert (opened["checkpoint"]["name"], opened["can_edit"]) == ("华北重工厂区", True)
    assert opened["invites"] == []
    second = await json_of(await client.get(link, headers={"X-Device-Id": "another"}), 409)
    assert second["code"] == "invite_in_use"
    nobody = await json_of(await client.get(link + "x", headers=phone), 404)
    assert nobody["code"] == "invite_not_found"

    far = moved(CA_0001, 349.6)
    refused = await json_of(
        await client.post(f"{link}/check-in", json={"fix": fix(far)}, headers=phone), 422
    )
    assert refused["detail"] == "当前位置距检查点 350 米，超出允许范围 200 米"
    checked = await json_of(
        await client.post(f"{link}/check-in", json={"fix": fix()}, headers=phone), 200
    )
    assert checked["check_in"]["outcome"] == "verified"

    opinion = await json_of(
        await client.patch(link, json={"rectification_opinion": "x"}, headers=phone), 422
    )
    assert opinion["errors"][0]["field"] == "body"
    saved = await json_of(await client.patch(link, json={"answers": COMPLETE}, headers=phone), 200)
    assert saved["answers"] == COMPLETE
    staff_edit = await json_of(await inspector.patch(staff_url, json={"answers": {}}), 403)
    assert staff_edit["code"] == "not_the_inspector"

    class Phone:  # the upload helper posts with a client; this one sends the device header
        async def post(self, url: str, **kwargs: Any) -> Any:
            return await client.post(url, headers={**kwargs.pop("headers"), **phone}, **kwargs)

    no_fix = await upload(Phone(), link, "operating_status", jpeg(seed=1), at=None, status=422)
    assert no_fix["errors"][0]["field"] == "query.latitude"
    await capture_all(Phone(), link)
    far_submit = await json_of(
        await client.post(f"{link}/submit", json={"fix": fix(far)}, headers=phone), 422
    )
    assert far_submit["code"] == "location_out_of_range"
    done = await json_of(
        await client.post(f"{link}/submit", json={"fix": fix()}, headers=phone), 200
    )
    assert done["state"] == "submitted"

    detail = await json_of(await inspector.get(staff_url), 200)
    assert detail["evidence"][0]["uploader_name"] == "刘建国"
    assert [(i["status"], i["device_bound"]) for i in detail["invites"]] == [("valid", True)]
    reviewer = await login_as("reviewer")
    await json_of(
        await reviewer.post(f"{staff_url}/return", json={"comment": "请补拍营业执照"}), 200
    )
    await json_of(await inspector.post(f"{staff_url}/revoke-invites"), 200)
    revoked = await json_of(await client.get(link, headers=phone), 410)
    assert (revoked["code"], revoked["detail"]) == ("invite_revoked", "链接已被撤销")

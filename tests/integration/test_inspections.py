"""On-site inspections over real HTTP: a valid label and a GPS fix start one, answers are
saved as they come (never invalid), submitting needs the phone on site, every required
answer and every required piece of evidence; reviewers approve or return; other domains
hear of it through the hooks, in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from inspection_api.audit.models import AuditEvent
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.errors import Conflict
from inspection_api.inspections.models import Inspection
from inspection_api.web.keys import INSPECTION_APPROVED, INSPECTION_SUBMITTED
from tests.integration.inspection_kit import (
    CA_0001,
    COMPLETE,
    URL,
    capture_all,
    fix,
    label,
    moved,
    start,
)
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.api import json_of


async def total(user: Any) -> int:
    return int((await json_of(await user.get(URL), 200))["total"])


async def test_a_label_and_a_fix_at_the_checkpoint_start_an_inspection(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    before = await total(inspector)  # the demo inspections
    qr = await label(inspector, ids["CA-0001"])

    forged = await start(inspector, qr[:-4] + "AAAA", status=404)
    assert (forged["code"], forged["detail"]) == (
        "qr_invalid",
        "二维码无效：不是本平台的检查点标签，或标签已损坏",
    )
    far = await start(inspector, qr, fix(moved(CA_0001, 349.6)), status=422)
    assert (far["code"], far["detail"]) == (
        "location_out_of_range",
        "当前位置距检查点 350 米，超出允许范围 200 米",
    )
    assert (far["distance_m"], far["radius_m"]) == (350, 200)
    assert await total(inspector) == before  # refusals start nothing

    started = await start(inspector, qr, fix(moved(CA_0001, 40)))
    assert started["check_in"]["outcome"] == "verified"
    assert started["check_in"]["distance_m"] == 40.0
    assert started["resumed"] is False
    inspection = started["inspection"]
    assert inspection["kind"] == "on_site"
    assert inspection["state"] == "draft"
    assert inspection["inspector_name"] == "张检查"
    assert inspection["org_name"] == "长安支行"
    assert inspection["checkpoint"]["code"] == "CA-0001"
    assert inspection["check_in"]["distance_m"] == 40.0
    assert inspection["checklist"]["template_name"] == "中小企业贷后管理“明白纸”"
    assert inspection["checklist_version_id"] == inspection["checklist"]["id"]
    assert inspection["can_edit"] is True
    assert {m["item_key"] for m in inspection["missing_evidence"]} == {
        "operating_status",
        "utilities",
        "tax_paid_ytd",
        "collateral_adverse_change",
        "license_invalid",
    }

    again = await start(inspector, qr)  # the same person scanning again resumes it
    assert again["resumed"] is True
    assert again["inspection"]["id"] == inspection["id"]
    assert await total(inspector) == before + 1

    admin = await login_as("sjz_admin")  # a retired label starts nothing
    await json_of(await admin.post(f"/api/v1/checkpoints/{ids['CA-0001']}/qr/regenerate"), 200)
    retired = await start(inspector, qr, status=410)
    assert retired["code"] == "qr_retired"


async def test_the_first_scan_binds_an_unlocated_checkpoint(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    qr = await label(inspector, ids["CA-0002"])
    started = await start(inspector, qr, fix(moved(CA_0001, 900)))
    assert started["check_in"]["outcome"] == "bound"
    assert started["inspection"]["checkpoint"]["latitude"] is not None
    admin = await login_as("sjz_admin")  # an inspected checkpoint is no "mistake" to delete
    refused = await json_of(await admin.delete(f"/api/v1/checkpoints/{ids['CA-0002']}"), 409)
    assert refused["code"] == "checkpoint_in_use"


async def test_draft_saves_take_incomplete_answers_but_never_invalid_ones(login_as, settings):
    """The merge item by item is in test_inspections_answers.py."""
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    inspection = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    one = f"{URL}/{inspection['id']}"

    partial = {"operating_status": "正常", "payroll": {"headcount": 120}, "tax_paid_ytd": 35.2}
    saved = await json_of(await inspector.patch(one, json={"answers": partial}), 200)
    assert saved["answers"] == partial

    bad = {**partial, "tax_paid_ytd": -5, "operating_status": "很好", "nonsense": 1}
    refused = await json_of(await inspector.patch(one, json={"answers": bad}), 422)
    assert [(e["field"], e["message"]) for e in refused["errors"]] == [
        ("body.answers.operating_status", "企业经营状况：应为以下之一：正常、半正常、异常"),
        ("body.answers.tax_paid_ytd", "截至上月末企业本年度纳税金额：不能小于 0"),
        ("body.answers.nonsense", "没有此检查项「nonsense」"),
    ]
    assert refused["saved"] == ["payroll"]  # the one good answer sent again
    flags = [{"item_key": "no_such_item", "note": "?"}]
    refused = await json_of(await inspector.patch(one, json={"flags": flags}), 422)
    assert refused["errors"][0]["field"] == "body.flags.0.item_key"
    kept = await json_of(await inspector.get(one), 200)
    assert kept["answers"] == partial  # what was accepted before stays

    flags = [{"item_key": "payroll", "note": "代发工资人数明显减少"}]
    saved = await json_of(await inspector.patch(one, json={"flags": flags}), 200)
    assert saved["flags"] == flags
    assert saved["answers"] == partial  # fields not sent do not change

    admin = await login_as("sjz_admin")  # someone else's inspection: not theirs to fill in
    foreign = await json_of(await admin.patch(one, json={"answers": {}}), 403)
    assert foreign["detail"] == "只有本次检查的检查人员可以保存"


async def test_submitting_needs_the_phone_on_site_all_answers_and_all_evidence(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    inspection = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    one = f"{URL}/{inspection['id']}"
    submit = f"{one}/submit"

    no_fix = await json_of(await inspector.post(submit, json={}), 422)
    assert no_fix["errors"][0]["field"] == "body.fix"
    far = await json_of(await inspector.post(submit, json={"fix": fix(moved(CA_0001, 349.6))}), 422)
    assert far["detail"] == "当前位置距检查点 350 米，超出允许范围 200 米"
    english = await json_of(
        await inspector.post(f"{submit}?lang=en", json={"fix": fix(moved(CA_0001, 349.6))}), 422
    )
    assert english["detail"] == "You are 350 m from the checkpoint, outside the allowed 200 m"

    partial = {k: v for k, v in COMPLETE.items() if k not in {"conclusion", "license_invalid"}}
    await json_of(await inspector.patch(one, json={"answers": partial}), 200)
    unanswered = await json_of(await inspector.post(submit, json={"fix": fix()}), 422)
    assert unanswered["code"] == "validation_failed"
    assert [(e["field"], e["message"]) for e in unanswered["errors"]] == [
        ("answers.license_invalid", "「生产经营相关许可证是否已失效」为必填项"),
        ("answers.conclusion", "「检查初步结论」为必填项"),
    ]

    answers = {**COMPLETE, "other_bank_overdue": True, "conclusion": "watch"}
    flags = [{"item_key": "payroll", "note": "代发工资人数明显减少"}]
    await json_of(await inspector.patch(one, json={"answers": answers, "flags": flags}), 200)
    await capture_all(inspector, one, {"operating_status": 1, "utilities": 1})
    missing = await json_of(await inspector.post(submit, json={"fix": fix()}), 422)
    assert missing["code"] == "evidence_missing"
    assert missing["detail"] == (
        "取证不全，不能提交：「企业经营状况」还缺照片 1 张；"
        "「截至上月末企业本年度纳税金额」还缺照片 1 张；"
        "「抵（质）押物的品质状态是否发生重大不利变化」还缺照片 1 张；"
        "「生产经营相关许可证是否已失效」还缺照片 1 张"
    )
    assert missing["missing"][0] == {
        "item_key": "operating_status",
        "item_label": "企业经营状况",
        "kind": "photo",
        "required": 2,
        "present": 1,
        "missing": 1,
    }
    english = await json_of(await inspector.post(f"{submit}?lang=en", json={"fix": fix()}), 422)
    assert english["detail"].startswith(
        "Evidence is missing, cannot submit: operating_status: 1 more photo; tax_paid_ytd"
    )
    state = await json_of(await inspector.get(one), 200)
    assert (state["state"], state["answers"], len(state["evidence"])) == ("draft", answers, 2)

    rest = {"operating_status": 1, "tax_paid_ytd": 1, "collateral_adverse_change": 1}
    await capture_all(inspector, one, {**rest, "license_invalid": 1}, seed=5000)
    near = moved(CA_0001, 120)
    done = await json_of(await inspector.post(submit, json={"fix": fix(near)}), 200)
    assert (done["state"], done["submission_count"], done["conclusion"]) == (
        "submitted",
        1,
        "watch",
    )
    assert done["submit_fix"]["distance_m"] == 120.0
    assert done["missing_evidence"] == []
    assert [(f["source"], f["item_key"], f["indicator"]) for f in done["findings"]] == [
        ("rule", "other_bank_overdue", "他行授信逾期"),
        ("rule", "conclusion", "检查结论为关注及以下"),
        ("inspector", "payroll", "检查人员标记"),
    ]
    assert done["findings"][2]["note"] == "代发工资人数明显减少"
    assert done["can_edit"] is False
    twice = await json_of(await inspector.post(submit, json={"fix": fix()}), 409)
    assert twice["detail"] == "检查记录当前为「已提交」，不能提交"
    locked = await json_of(await inspector.patch(one, json={"answers": {}}), 409)
    assert locked["code"] == "inspection_state_conflict"


async def submitted(login_as, settings) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    inspection = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    one = f"{URL}/{inspection['id']}"
    await json_of(await inspector.patch(one, json={"answers": COMPLETE}), 200)
    await capture_all(inspector, one)
    await json_of(await inspector.post(f"{one}/submit", json={"fix": fix()}), 200)
    return inspector, one


async def test_reviewers_return_and_approve_never_their_own(login_as, settings):
    inspector, one = await submitted(login_as, settings)
    reviewer = await login_as("reviewer")
    assert (await json_of(await reviewer.get(one), 200))["can_review"] is True

    no_reason = await json_of(await reviewer.post(f"{one}/return", json={"comment": ""}), 422)
    assert no_reason["errors"][0]["field"] == "body.comment"
    assert (await json_of(await inspector.post(f"{one}/approve", json={}), 403))["code"] == (
        "forbidden"
    )
    returned = await json_of(
        await reviewer.post(f"{one}/return", json={"comment": "水电数据请补充燃气读数"}), 200
    )
    assert (returned["state"], returned["review_comment"]) == ("returned", "水电数据请补充燃气读数")
    assert (await json_of(await reviewer.post(f"{one}/approve", json={}), 409))["detail"] == (
        "检查记录当前为「已退回」，不能审核通过"
    )

    answers = {**COMPLETE, "utilities": {"electricity": 12000.5, "gas": 800}}
    await json_of(await inspector.patch(one, json={"answers": answers}), 200)
    again = await json_of(await inspector.post(f"{one}/submit", json={"fix": fix()}), 200)
    assert (again["state"], again["submission_count"]) == ("submitted", 2)
    approved = await json_of(await reviewer.post(f"{one}/approve", json={"comment": "同意"}), 200)
    assert approved["state"] == "approved"
    assert [(r["submission"], r["decision"], r["comment"]) for r in approved["reviews"]] == [
        (1, "returned", "水电数据请补充燃气读数"),
        (2, "approved", "同意"),
    ]
    events = await json_of(await reviewer.get("/api/v1/audit-events?limit=100"), 200)
    mine = [e["action"] for e in events if e["detail"].get("inspection_id") == approved["id"]]
    assert mine[:4] == [
        "inspection_approved",
        "inspection_submitted",
        "inspection_returned",
        "inspection_submitted",
    ]

    # An administrator who ran an inspection cannot approve it.
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    own = (await start(admin, await label(admin, ids["CA-0001"])))["inspection"]
    own_url = f"{URL}/{own['id']}"
    await json_of(await admin.patch(own_url, json={"answers": COMPLETE}), 200)
    await capture_all(admin, own_url)
    await json_of(await admin.post(f"{own_url}/submit", json={"fix": fix()}), 200)
    refused = await json_of(await admin.post(f"{own_url}/approve", json={}), 403)
    assert (refused["code"], refused["detail"]) == ("own_review", "不能审核本人开展的检查")


async def test_hooks_hear_submissions_and_approvals_inside_the_transaction(
    client, login_as, settings
):
    heard: list[tuple[str, int, list[str]]] = []

    def hook(name: str, fail: bool = False):  # type: ignore[no-untyped-def]
        async def on_event(session, inspection, findings):  # type: ignore[no-untyped-def]
            heard.append((name, inspection.id, [f.item_key for f in findings]))
            session.add(AuditEvent(action=f"hook_{name}", ip="", user_agent="", detail={}))
            if fail:
                raise Conflict(label=("任务", "task"), value=inspection.id, field="task")

        return on_event

    app = client.server.app
    app[INSPECTION_SUBMITTED].append(hook("submitted", fail=True))
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    inspection = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    one = f"{URL}/{inspection['id']}"
    answers = {**COMPLETE, "litigation": True}
    await json_of(await inspector.patch(one, json={"answers": answers}), 200)
    await capture_all(inspector, one)

    refused = await json_of(await inspector.post(f"{one}/submit", json={"fix": fix()}), 409)
    assert refused["code"] == "conflict"  # the hook's refusal undoes the whole submission
    assert (await json_of(await inspector.get(one), 200))["state"] == "draft"

    app[INSPECTION_SUBMITTED][:] = [hook("submitted")]
    app[INSPECTION_APPROVED].append(hook("approved"))
    await json_of(await inspector.post(f"{one}/submit", json={"fix": fix()}), 200)
    reviewer = await login_as("reviewer")
    await json_of(await reviewer.post(f"{one}/approve", json={}), 200)
    assert heard == [
        ("submitted", inspection["id"], ["litigation"]),
        ("submitted", inspection["id"], ["litigation"]),
        ("approved", inspection["id"], ["litigation"]),
    ]
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
        stored = await session.get(Inspection, inspection["id"])
    await engine.dispose()
    assert actions.count("hook_submitted") == 1  # the failed attempt left nothing
    assert actions.count("hook_approved") == 1
    assert stored is not None and stored.state == "approved"


async def task_states(user: Any, mine: bool = True) -> dict[str, tuple[str, str | None]]:
    """(state, started_at) of the caller's tasks (or those it oversees) by checkpoint code."""
    query = "mine=true&limit=100" if mine else "limit=100"
    tasks = (await json_of(await user.get(f"/api/v1/tasks?{query}"), 200))["items"]
    return {t["checkpoint_code"]: (t["state"], t["started_at"]) for t in tasks}


async def test_starting_any_kind_of_inspection_puts_its_plan_task_in_progress(login_as, settings):
    """The composition root wires plans into the start hook: the demo plan's task of this
    month goes 待检查 → 进行中 when an inspection of its checkpoint starts on site, beside a
    remote call or as an invited self-check; a refused start or a resumed one changes
    nothing."""
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    manager = await login_as("sjz_admin")
    before = await task_states(manager, mine=False)
    assert before["CA-0001"] == ("pending", None) and before["CA-0002"] == ("pending", None)

    qr = await label(inspector, ids["CA-0001"])
    await start(inspector, qr, fix(moved(CA_0001, 350)), status=422)  # too far: refused
    assert (await task_states(inspector))["CA-0001"] == ("pending", None)
    await start(inspector, qr)
    state, started_at = (await task_states(inspector))["CA-0001"]
    assert state == "in_progress" and started_at is not None
    assert (await start(inspector, qr))["resumed"] is True
    assert (await task_states(inspector))["CA-0001"] == ("in_progress", started_at)

    body = {"title": "冀中纺织远程巡检", "enterprise_name": "河北冀中纺织品有限公司"}
    remote = await json_of(await inspector.post("/api/v1/remote-sessions", json=body), 201)
    linked = {"remote_session_id": remote["id"], "checkpoint_id": ids["CA-0002"]}
    await json_of(await inspector.post(f"{URL}/remote", json=linked), 201)
    after = await task_states(manager, mine=False)
    assert after["CA-0002"][0] == "in_progress"
    untouched = {code: state for code, state in after.items() if code not in {"CA-0001", "CA-0002"}}
    assert untouched and untouched == {code: before[code] for code in untouched}, after


async def test_an_invited_self_check_puts_its_plan_task_in_progress(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    invite = {"checkpoint_id": ids["CA-0001"], "contact_name": "刘建国"}
    await json_of(await inspector.post(f"{URL}/self-check", json=invite), 201)
    assert (await task_states(inspector))["CA-0001"][0] == "in_progress"


async def test_a_submitted_inspection_does_its_plan_task(login_as, settings):
    """The composition root wires plans into the submission hook: the demo plan's task of
    this month for CA-0001 is done by the inspection."""
    inspector, one = await submitted(login_as, settings)
    inspection_id = int(one.rsplit("/", 1)[1])
    tasks = (await json_of(await inspector.get("/api/v1/tasks?mine=true"), 200))["items"]
    ca = [t for t in tasks if t["checkpoint_code"] == "CA-0001"]
    assert [(t["state"], t["inspection_id"]) for t in ca] == [("done", inspection_id)], ca


async def test_a_submitted_inspections_findings_reach_the_exception_handler(login_as, settings):
    """The composition root wires anomalies into the submission hook: each finding becomes
    an anomaly for the 异常处理人 above the 支行, once (a resubmission raises none again)."""
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    inspection = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    one = f"{URL}/{inspection['id']}"
    answers = {**COMPLETE, "other_bank_overdue": True}
    await json_of(await inspector.patch(one, json={"answers": answers}), 200)
    await capture_all(inspector, one)
    inspection = await json_of(await inspector.post(f"{one}/submit", json={"fix": fix()}), 200)
    assert [f["item_key"] for f in inspection["findings"]] == ["other_bank_overdue"]
    handler = await login_as("handler")
    query = f"/api/v1/anomalies?inspection_id={inspection['id']}&limit=100"
    raised = (await json_of(await handler.get(query), 200))["items"]
    assert sorted(a["item_key"] for a in raised) == sorted(
        f["item_key"] for f in inspection["findings"]
    )


async def test_every_check_in_is_kept_and_a_rescan_after_reset_rebinds(login_as, settings):
    """重置GPS while an inspection is open: the rescan binds the position anew, the
    inspection's check-in becomes that one, and its history keeps each check-in."""
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    qr = await label(inspector, ids["CA-0001"])
    first = await start(inspector, qr, fix(moved(CA_0001, 40)))
    one = f"{URL}/{first['inspection']['id']}"

    admin = await login_as("sjz_admin")
    reset = f"/api/v1/checkpoints/{ids['CA-0001']}/reset-position"
    await json_of(await admin.post(reset), 200)
    elsewhere = moved(CA_0001, 800, bearing=180)  # the plant's new gate
    again = await start(inspector, qr, fix(elsewhere, accuracy=6))
    assert again["resumed"] is True and again["inspection"]["id"] == first["inspection"]["id"]
    near = moved(elsewhere, 25)
    await start(inspector, qr, fix(near))

    detail = await json_of(await inspector.get(one), 200)
    history = detail["check_ins"]
    assert [(c["outcome"], c["bound_position"], c["distance_m"]) for c in history] == [
        ("verified", False, 40.0),
        ("bound", True, 0.0),
        ("verified", False, 25.0),
    ]
    assert all(c["by_name"] == "张检查" and c["radius_m"] == 200 for c in history)
    assert (history[1]["latitude"], history[1]["longitude"]) == (
        elsewhere.latitude,
        elsewhere.longitude,
    )
    assert history[1]["accuracy_m"] == 6
    assert history[0]["at"] < history[1]["at"] < history[2]["at"]
    # The inspection's check-in is the latest one, not the one before the reset.
    latest = detail["check_in"]
    assert (latest["latitude"], latest["longitude"]) == (near.latitude, near.longitude)
    assert (latest["outcome"], latest["distance_m"]) == ("verified", 25.0)
    assert detail["checkpoint"]["latitude"] == elsewhere.latitude
    # What the reviewer sees (another user, same API).
    reviewer = await login_as("reviewer")
    assert (await json_of(await reviewer.get(one), 200))["check_ins"] == history


async def test_a_self_checks_contact_check_in_is_in_the_history(login_as, settings, client):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    invite = {"checkpoint_id": ids["CA-0001"], "contact_name": "刘建国"}
    created = await json_of(await inspector.post(f"{URL}/self-check", json=invite), 201)
    link = f"/api/v1/self-checks/{created['token']}"
    phone = {"X-Device-Id": "phone-of-liu"}
    body = {"fix": fix(moved(CA_0001, 60))}
    await json_of(await client.post(f"{link}/check-in", json=body, headers=phone), 200)
    detail = await json_of(await inspector.get(f"{URL}/{created['inspection']['id']}"), 200)
    assert [(c["outcome"], c["distance_m"], c["by_name"]) for c in detail["check_ins"]] == [
        ("verified", 60.0, "刘建国")
    ]

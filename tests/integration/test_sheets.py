"""The briefing sheet (明白纸): 上级管理条线意见 by the managers above (never the inspector),
the one-page PDF, the print window and its lock at the deadline's edge, unlock requests
approved online, the unlock report."""

from __future__ import annotations

import io
import shutil
from datetime import datetime, timedelta
from typing import Any

import pypdfium2
from pypdf import PdfReader

from tests.integration import sheet_support
from tests.integration.inspection_kit import label, start
from tests.integration.sheet_support import MovableClock, submitted_inspection
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.api import json_of

# The app reads the print window against a clock the tests move.
client = sheet_support.client
clock = sheet_support.clock

REPORT = "/api/v1/sheet-unlock-report"
REQUESTS = "/api/v1/sheet-unlock-requests"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def audit_actions(user: Any) -> list[str]:
    events = await json_of(await user.get("/api/v1/audit-events?limit=200"), 200)
    return [e["action"] for e in events]


async def test_only_the_managers_above_write_the_supervisor_opinion(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    one = await submitted_inspection(inspector, ids["CA-0001"])
    # The inspector neither answers it in the checklist nor writes it as a record.
    detail = await json_of(await inspector.get(one), 200)
    keys = [i["key"] for s in detail["checklist"]["sections"] for i in s["items"]]
    assert "supervisor_opinion" not in keys
    refused = await json_of(
        await inspector.post(f"{one}/supervisor-opinions", json={"text": "我觉得没问题"}), 403
    )
    assert refused["code"] == "forbidden"
    assert refused["detail"] == "无权执行此操作：填写上级管理条线意见"
    for name in ("handler", "inspector_bd"):
        other = await login_as(name)
        response = await other.post(f"{one}/supervisor-opinions", json={"text": "x"})
        assert response.status == 403, name
    # The managers above: the reviewer and the org admins up the tree, after submission.
    reviewer = await login_as("reviewer")
    written = await json_of(
        await reviewer.post(f"{one}/supervisor-opinions", json={"text": "  同意检查结论。 "}),
        201,
    )
    assert written["text"] == "同意检查结论。"
    assert (written["author_name"], written["author_org_name"]) == ("王审核", "石家庄分行")
    await json_of(await reviewer.post(f"{one}/approve", json={}), 200)
    sjz_admin = await login_as("sjz_admin")
    await json_of(
        await sjz_admin.post(f"{one}/supervisor-opinions", json={"text": "请一个月内复查。"}),
        201,
    )
    blank = await json_of(await sjz_admin.post(f"{one}/supervisor-opinions", json={}), 422)
    assert blank["errors"][0]["field"] == "body.text"
    wrong_type = await json_of(
        await sjz_admin.post(f"{one}/supervisor-opinions", json={"text": 5}), 422
    )
    assert wrong_type["errors"][0]["field"] == "body.text"
    sheet = await json_of(await inspector.get(f"{one}/sheet"), 200)
    assert [o["text"] for o in sheet["opinions"]] == ["同意检查结论。", "请一个月内复查。"]
    assert sheet["can_write_opinion"] is False
    assert (await json_of(await sjz_admin.get(f"{one}/sheet"), 200))["can_write_opinion"]
    assert (await audit_actions(sjz_admin)).count("supervisor_opinion_added") == 2


async def test_the_inspector_cannot_answer_the_supervisor_opinion_in_the_checklist(
    login_as, settings
):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    started = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    one = f"/api/v1/inspections/{started['id']}"
    refused = await json_of(
        await inspector.patch(one, json={"answers": {"supervisor_opinion": "同意"}}), 422
    )
    assert refused["errors"][0]["field"] == "body.answers.supervisor_opinion"
    assert "上级管理人员" in refused["errors"][0]["message"]


async def test_an_administrator_never_writes_the_opinion_of_an_inspection_they_ran(
    login_as, settings
):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    one = await submitted_inspection(admin, ids["CA-0001"])
    response = await admin.post(f"{one}/supervisor-opinions", json={"text": "好"})
    refused = await json_of(response, 403)
    assert refused["code"] == "own_inspection_opinion"


async def test_the_sheet_prints_as_one_a4_page_with_its_chinese_font_embedded(
    login_as, settings, tmp_path
):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    one = await submitted_inspection(
        inspector, ids["CA-0001"], special_remarks="二号车间停产检修。", conclusion="watch"
    )
    reviewer = await login_as("reviewer")
    await json_of(
        await reviewer.post(f"{one}/supervisor-opinions", json={"text": "同意，按月跟踪。"}), 201
    )
    response = await inspector.post(f"{one}/sheet/print")
    assert response.status == 200, await response.text()
    assert response.content_type == "application/pdf"
    pdf = await response.read()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
    text = page.extract_text()
    for words in (
        "中小企业贷后管理“明白纸”",
        "客户名称：石家庄华北重工机械有限公司",
        "金额：500.00 万元",
        "放款日期：2025-03-15",
        "五级分类：正常",
        "五级分类",
        "企业运营状况",
        "企业财务信息",
        "企业实际控制人信息",
        "其他信息",
        "他行授信是否逾期",
        "二号车间停产检修。",
        "检查初步结论",
        "上级管理条线参与",
        "同意，按月跟踪。（王审核（石家庄分行）",
        "填表说明",
    ):
        assert words in text, words
    # Every font is embedded (a FontFile2: TrueType subset), none left to the viewer.
    resources: Any = page["/Resources"]
    fonts = resources["/Font"]
    names = []
    for ref in fonts.values():
        font = ref.get_object()
        names.append(str(font["/BaseFont"]))
        descriptor = font.get("/FontDescriptor")
        assert descriptor is not None, font["/BaseFont"]  # a standard font is never embedded
        assert "/FontFile2" in descriptor.get_object(), font["/BaseFont"]
    assert any(name.endswith("+WenQuanYiMicroHei-0") for name in names), names
    # Rendered: the page is ink on white, the boxes drawn (a blank render would be white).
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=1.5).to_pil().convert("L")
    document.close()
    image.save(tmp_path / "sheet.png")
    shutil.copyfile(tmp_path / "sheet.png", "/tmp/briefing-sheet.png")  # for a person to look at
    dark = sum(image.histogram()[:128])
    assert 0.02 < dark / (image.width * image.height) < 0.3
    # The grid's outer frame: a dark line from top to bottom about the 12 mm margin in.
    margin = round(12 / 25.4 * 72 * 1.5)
    frame = max(
        sum(1 for y in range(image.height) if image.getpixel((x, y)) < 128)  # type: ignore[operator]
        for x in range(margin - 4, margin + 5)
    )
    assert frame > image.height * 0.5


async def test_nothing_to_print_before_the_first_submission(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    started = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    one = f"/api/v1/inspections/{started['id']}"
    refused = await json_of(await inspector.post(f"{one}/sheet/print"), 409)
    assert refused["code"] == "sheet_not_available"
    sheet = await json_of(await inspector.get(f"{one}/sheet"), 200)
    assert (sheet["available"], sheet["locked"], sheet["can_print"]) == (False, False, False)


async def test_the_sheet_locks_one_second_past_its_deadline_and_unlocks_by_approval(
    login_as, settings, clock: MovableClock
):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    one = await submitted_inspection(inspector, ids["CA-0001"])
    sheet = await json_of(await inspector.get(f"{one}/sheet"), 200)
    detail = await json_of(await inspector.get(one), 200)
    deadline = at(sheet["print_deadline"])
    assert deadline == at(detail["submitted_at"]) + timedelta(hours=settings.sheet_print_hours)

    clock.at = deadline  # exactly at the deadline: still open
    sheet = await json_of(await inspector.get(f"{one}/sheet"), 200)
    assert (sheet["locked"], sheet["can_print"], sheet["can_request_unlock"]) == (
        False, True, False,
    )  # fmt: skip
    not_locked = await json_of(
        await inspector.post(f"{one}/sheet/unlock-requests", json={"reason": "x"}), 409
    )
    assert not_locked["code"] == "sheet_not_locked"
    reviewer = await login_as("reviewer")
    await json_of(await reviewer.post(f"{one}/supervisor-opinions", json={"text": "可"}), 201)

    clock.at = deadline + timedelta(seconds=1)  # one second past: locked
    sheet = await json_of(await inspector.get(f"{one}/sheet"), 200)
    assert (sheet["locked"], sheet["can_print"], sheet["can_request_unlock"]) == (
        True, False, True,
    )  # fmt: skip
    locked = await json_of(await inspector.post(f"{one}/sheet/print"), 423)
    assert locked["code"] == "sheet_locked"
    assert locked["detail"].startswith("明白纸未在打印期限（")
    assert locked["detail"].endswith("）内打印，已自动锁定，不能打印明白纸；请申请上级解锁")
    assert at(locked["print_deadline"]) == deadline
    opinion = await json_of(
        await reviewer.post(f"{one}/supervisor-opinions", json={"text": "迟到的意见"}), 423
    )
    assert opinion["detail"].endswith("不能填写上级管理条线意见；请申请上级解锁")

    # 申请解锁: with a reason, one at a time.
    no_reason = await json_of(
        await inspector.post(f"{one}/sheet/unlock-requests", json={"reason": " "}), 422
    )
    assert no_reason["errors"][0]["field"] == "body.reason"
    request = await json_of(
        await inspector.post(
            f"{one}/sheet/unlock-requests", json={"reason": "出差未及时打印，申请补打"}
        ),
        201,
    )
    assert (request["state"], request["approver_org_name"]) == ("pending", "石家庄分行")
    again = await json_of(
        await inspector.post(f"{one}/sheet/unlock-requests", json={"reason": "再次申请"}), 409
    )
    assert again["code"] == "unlock_request_pending"
    approve = f"{REQUESTS}/{request['id']}/approve"
    # Not the inspector, nor a reviewer; an administrator of a sub-branch elsewhere sees nothing.
    assert (await inspector.post(approve, json={})).status == 403
    assert (await reviewer.post(approve, json={})).status == 403
    # The superior (石家庄分行's administrator) has it in the inbox and the list.
    sjz_admin = await login_as("sjz_admin")
    notes = await json_of(await sjz_admin.get("/api/v1/notifications"), 200)
    assert any(n["kind"] == "sheet_unlock_requested" for n in notes)
    listed = await json_of(await sjz_admin.get(f"{REQUESTS}?state=pending"), 200)
    assert [(r["id"], r["can_decide"]) for r in listed["items"]] == [(request["id"], True)]
    mine = await json_of(await inspector.get(REQUESTS), 200)
    assert [(r["id"], r["can_decide"]) for r in mine["items"]] == [(request["id"], False)]
    no_comment = await json_of(
        await sjz_admin.post(f"{REQUESTS}/{request['id']}/refuse", json={}), 422
    )
    assert no_comment["errors"][0]["field"] == "body.comment"

    clock.at = deadline + timedelta(hours=2)
    approved = await json_of(await sjz_admin.post(approve, json={"comment": "同意补打"}), 200)
    assert approved["state"] == "approved"
    assert at(approved["reopened_until"]) == clock.at + timedelta(hours=settings.sheet_unlock_hours)
    twice = await json_of(await sjz_admin.post(approve, json={}), 409)
    assert twice["code"] == "unlock_state_conflict"
    assert twice["detail"] == "解锁申请当前为「已同意」，不能同意解锁"
    notes = await json_of(await inspector.get("/api/v1/notifications"), 200)
    assert any(n["kind"] == "sheet_unlock_decided" for n in notes)

    sheet = await json_of(await inspector.get(f"{one}/sheet"), 200)
    assert (sheet["locked"], sheet["can_print"], sheet["unlock_count"]) == (False, True, 1)
    assert sheet["last_unlocked_by_name"] == "石家庄分行管理员"
    assert at(sheet["print_deadline"]) == at(approved["reopened_until"])
    # The reopened window ends the same way: open at its end…
    clock.at = at(approved["reopened_until"])
    response = await inspector.post(f"{one}/sheet/print")
    assert response.status == 200
    # …and printed inside it, the sheet never locks again.
    clock.at = at(approved["reopened_until"]) + timedelta(days=30)
    sheet = await json_of(await inspector.get(f"{one}/sheet"), 200)
    assert (sheet["locked"], sheet["print_count"]) == (False, 1)
    assert (await inspector.post(f"{one}/sheet/print")).status == 200

    actions = await audit_actions(sjz_admin)
    for action in ("sheet_unlock_requested", "sheet_unlock_approved", "sheet_printed"):
        assert action in actions, action


async def test_a_refused_unlock_keeps_the_sheet_locked_and_the_report_counts_both(
    login_as, settings, clock: MovableClock
):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    one = await submitted_inspection(inspector, ids["CA-0001"])
    deadline = at((await json_of(await inspector.get(f"{one}/sheet"), 200))["print_deadline"])
    clock.at = deadline + timedelta(seconds=1)
    sjz_admin = await login_as("sjz_admin")
    first = await json_of(
        await inspector.post(f"{one}/sheet/unlock-requests", json={"reason": "忘记打印"}), 201
    )
    refused = await json_of(
        await sjz_admin.post(f"{REQUESTS}/{first['id']}/refuse", json={"comment": "理由不充分"}),
        200,
    )
    assert (refused["state"], refused["comment"]) == ("refused", "理由不充分")
    assert (await json_of(await inspector.get(f"{one}/sheet"), 200))["locked"] is True
    second = await json_of(
        await inspector.post(f"{one}/sheet/unlock-requests", json={"reason": "客户要求补打"}), 201
    )
    hb_admin = await login_as("hb_admin")  # above the approver org: may decide too
    await json_of(await hb_admin.post(f"{REQUESTS}/{second['id']}/approve", json={}), 200)

    report = await json_of(await sjz_admin.get(REPORT), 200)
    assert (report["total_requested"], report["total_approved"]) == (2, 1)
    assert [(x["name"], x["requested"], x["approved"], x["refused"]) for x in report["by_org"]] == [
        ("长安支行", 2, 1, 1)
    ]
    assert [(x["name"], x["approved"]) for x in report["by_requester"]] == [("张检查", 1)]
    assert sorted((x["name"], x["approved"], x["refused"]) for x in report["by_approver"]) == [
        ("省行管理员", 1, 0),
        ("石家庄分行管理员", 0, 1),
    ]
    narrowed = await json_of(
        await sjz_admin.get(REPORT, params={"since": (clock.at + timedelta(days=1)).isoformat()}),
        200,
    )
    assert narrowed["total_requested"] == 0
    wrong = await json_of(await sjz_admin.get(REPORT, params={"since": "yesterday"}), 422)
    assert wrong["errors"][0]["field"] == "query.since"
    assert (await inspector.get(REPORT)).status == 403
    outside = await login_as("inspector_bd")
    assert (await outside.get(f"{one}/sheet")).status == 404


async def test_printing_exactly_at_the_deadline_keeps_the_sheet_open(
    login_as, settings, clock: MovableClock
):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    one = await submitted_inspection(inspector, ids["CA-0001"])
    deadline = at((await json_of(await inspector.get(f"{one}/sheet"), 200))["print_deadline"])
    clock.at = deadline
    assert (await inspector.post(f"{one}/sheet/print")).status == 200
    clock.at = deadline + timedelta(seconds=1)
    sheet = await json_of(await inspector.get(f"{one}/sheet"), 200)
    assert (sheet["locked"], sheet["print_count"]) == (False, 1)

"""Draft saves merge answers item by item over real HTTP: each key sent replaces that item's
answer, null clears it, keys not sent stay; one bad value is refused on its own (422
``answers_refused`` naming the item by its title) while the good ones of the same request
are stored; strict types; radio answers (是/否, choices, 结论) come back exactly; the same
for the enterprise contact's self-check link."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.inspection_kit import CA_0001, URL, fix, label, moved, start
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.api import json_of

# Every kind of radio/select answer of the 明白纸, with both booleans.
RADIOS = {
    "operating_status": "半正常",
    "other_bank_overdue": True,
    "litigation": False,
    "conclusion": "watch",
}


async def started(login_as: Any, settings: Any) -> tuple[Any, str]:
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    inspection = (await start(inspector, await label(inspector, ids["CA-0001"])))["inspection"]
    return inspector, f"{URL}/{inspection['id']}"


async def answers_of(user: Any, one: str) -> dict[str, Any]:
    return dict((await json_of(await user.get(one), 200))["answers"])


async def test_a_save_merges_answers_item_by_item_and_null_clears_one(login_as, settings):
    inspector, one = await started(login_as, settings)
    first = {"operating_status": "正常", "tax_paid_ytd": 35.2}
    saved = await json_of(await inspector.patch(one, json={"answers": first}), 200)
    assert saved["answers"] == first

    # Another item alone: the ones not sent stay.
    saved = await json_of(await inspector.patch(one, json={"answers": {"litigation": True}}), 200)
    assert saved["answers"] == {**first, "litigation": True}

    # A key sent replaces that answer only; null clears one (and clearing nothing is fine).
    body = {"answers": {"tax_paid_ytd": 40, "operating_status": None, "special_remarks": None}}
    saved = await json_of(await inspector.patch(one, json=body), 200)
    assert saved["answers"] == {"tax_paid_ytd": 40, "litigation": True}

    # Flags and the answers are separate: sending flags leaves the answers alone.
    flags = [{"item_key": "payroll", "note": "代发工资人数明显减少"}]
    saved = await json_of(await inspector.patch(one, json={"flags": flags}), 200)
    assert (saved["flags"], saved["answers"]) == (flags, {"tax_paid_ytd": 40, "litigation": True})
    assert await answers_of(inspector, one) == {"tax_paid_ytd": 40, "litigation": True}


async def test_one_bad_value_is_refused_by_its_title_and_the_good_ones_are_saved(
    login_as, settings
):
    inspector, one = await started(login_as, settings)
    before = {"payroll": {"headcount": 120, "amount": 96.5}, "settlement_inflow": 800.25}
    await json_of(await inspector.patch(one, json={"answers": before}), 200)

    body = {
        "answers": {
            **RADIOS,
            "payroll": {"headcount": 12.5, "amount": 101},  # 人数 must be whole
            "tax_paid_ytd": 35.2,
        }
    }
    refused = await json_of(await inspector.patch(one, json=body), 422)
    assert refused["code"] == "answers_refused"
    assert refused["errors"] == [
        {
            "field": "body.answers.payroll.headcount",
            "item_key": "payroll",
            "message": "人数：应为整数",
        }
    ]
    assert refused["detail"] == "人数：应为整数（未保存），其余已保存"
    assert "body." not in refused["detail"]
    assert sorted(refused["saved"]) == sorted([*RADIOS, "payroll", "tax_paid_ytd"])
    # What is stored: every good answer, 金额 of the same group too; 人数 keeps its old value.
    expected = {
        **RADIOS,
        "payroll": {"headcount": 120, "amount": 101},
        "tax_paid_ytd": 35.2,
        "settlement_inflow": 800.25,
    }
    assert refused["inspection"]["answers"] == expected
    assert await answers_of(inspector, one) == expected

    # A bad value for an item never answered: refused, nothing else changes.
    body = {"answers": {"tax_paid_ytd": -5, "conclusion": "close_watch"}}
    refused = await json_of(await inspector.patch(one, json=body), 422)
    assert [(e["item_key"], e["message"]) for e in refused["errors"]] == [
        ("tax_paid_ytd", "截至上月末企业本年度纳税金额：不能小于 0")
    ]
    assert refused["saved"] == ["conclusion"]
    assert await answers_of(inspector, one) == {**expected, "conclusion": "close_watch"}

    # Only bad values: nothing saved, nothing lost, and the detail says nothing was kept.
    body = {"answers": {"payroll": {"headcount": 12.5}, "nonsense": 1}}
    refused = await json_of(await inspector.patch(one, json=body), 422)
    assert refused["saved"] == []
    assert [(e["item_key"], e["message"]) for e in refused["errors"]] == [
        ("payroll", "人数：应为整数"),
        ("nonsense", "没有此检查项「nonsense」"),
    ]
    assert refused["detail"] == "人数：应为整数；没有此检查项「nonsense」（未保存）"
    assert await answers_of(inspector, one) == {**expected, "conclusion": "close_watch"}

    english = await json_of(
        await inspector.patch(f"{one}?lang=en", json={"answers": {"tax_paid_ytd": -5}}), 422
    )
    assert english["detail"] == "Not saved: answers.tax_paid_ytd: must not be less than 0"

    # Bad flags are refused, the answers of the same save are stored.
    body = {"answers": {"litigation": True}, "flags": [{"item_key": "no_such", "note": "?"}]}
    refused = await json_of(await inspector.patch(one, json=body), 422)
    assert [(e["field"], e["item_key"]) for e in refused["errors"]] == [
        ("body.flags.0.item_key", None)
    ]
    assert refused["saved"] == ["litigation"]
    detail = await json_of(await inspector.get(one), 200)
    assert (detail["answers"]["litigation"], detail["flags"]) == (True, [])


async def test_types_are_strict_item_by_item(login_as, settings):
    inspector, one = await started(login_as, settings)
    body = {
        "answers": {
            "tax_paid_ytd": "35.2",  # a string where a number belongs
            "other_bank_overdue": "true",  # a string where a boolean belongs
            "litigation": 0,  # a number where a boolean belongs
            "settlement_inflow": True,  # a boolean where a number belongs
            "operating_status": "正常",
            "guarantor_overdue": False,
        }
    }
    refused = await json_of(await inspector.patch(one, json=body), 422)
    assert [(e["item_key"], e["message"]) for e in refused["errors"]] == [
        ("tax_paid_ytd", "截至上月末企业本年度纳税金额：应为数字"),
        ("other_bank_overdue", "他行授信是否逾期：应为是（true）或否（false）"),
        ("litigation", "企业是否涉及法律纠纷、负面信息：应为是（true）或否（false）"),
        ("settlement_inflow", "截至上月末借款人我行公司结算账户累计入账金额：应为数字"),
    ]
    assert sorted(refused["saved"]) == ["guarantor_overdue", "operating_status"]
    assert await answers_of(inspector, one) == {
        "operating_status": "正常",
        "guarantor_overdue": False,
    }
    # Both sides of the boundary: the same values typed right are taken.
    body = {"answers": {"tax_paid_ytd": 35.2, "other_bank_overdue": True, "litigation": False}}
    saved = await json_of(await inspector.patch(one, json=body), 200)
    assert saved["answers"]["tax_paid_ytd"] == 35.2
    # The request itself must still be an object of items.
    refused = await json_of(await inspector.patch(one, json={"answers": [1]}), 422)
    assert refused["code"] == "validation_failed"
    assert await answers_of(inspector, one) == {
        "operating_status": "正常",
        "guarantor_overdue": False,
        "tax_paid_ytd": 35.2,
        "other_bank_overdue": True,
        "litigation": False,
    }


async def test_radio_answers_come_back_exactly_as_saved(login_as, settings):
    """是/否 (both booleans), a single choice and the conclusion, saved one at a time as a
    page does, then read back by another request (the reopened page)."""
    inspector, one = await started(login_as, settings)
    for key, value in RADIOS.items():
        await json_of(await inspector.patch(one, json={"answers": {key: value}}), 200)
    detail = await json_of(await inspector.get(one), 200)
    assert detail["answers"] == RADIOS
    assert [type(detail["answers"][k]) for k in RADIOS] == [str, bool, bool, str]
    # Scanning the label again (the phone page reopened) shows them too.
    ids = await ids_by_code(settings)
    again = await start(inspector, await label(inspector, ids["CA-0001"]))
    assert again["resumed"] is True
    assert again["inspection"]["answers"] == RADIOS


async def test_the_self_check_link_saves_item_by_item(login_as, settings, client):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    invite = {"checkpoint_id": ids["CA-0001"], "contact_name": "刘建国"}
    created = await json_of(await inspector.post(f"{URL}/self-check", json=invite), 201)
    link = f"/api/v1/self-checks/{created['token']}"
    phone = {"X-Device-Id": "phone-of-liu"}
    body = {"fix": fix(moved(CA_0001, 60))}
    await json_of(await client.post(f"{link}/check-in", json=body, headers=phone), 200)

    body = {"answers": {**RADIOS, "payroll": {"headcount": 12.5, "amount": 80}}}
    refused = await json_of(await client.patch(link, json=body, headers=phone), 422)
    assert refused["code"] == "answers_refused"
    assert [(e["item_key"], e["message"]) for e in refused["errors"]] == [
        ("payroll", "人数：应为整数")
    ]
    expected = {**RADIOS, "payroll": {"amount": 80}}
    assert refused["inspection"]["answers"] == expected
    saved = await json_of(await client.get(link, headers=phone), 200)
    assert saved["answers"] == expected

    body = {"answers": {"payroll": {"headcount": 12, "amount": 80}, "conclusion": None}}
    saved = await json_of(await client.patch(link, json=body, headers=phone), 200)
    assert saved["answers"] == {
        **{k: v for k, v in RADIOS.items() if k != "conclusion"},
        "payroll": {"headcount": 12, "amount": 80},
    }
    # The bank's inspector sees what the contact saved.
    one = f"{URL}/{created['inspection']['id']}"
    assert await answers_of(inspector, one) == saved["answers"]


async def test_saves_at_the_same_time_never_lose_each_others_answers(login_as, settings):
    """A page sends one item at a time; two tabs (or a retry) may overlap: every answer of
    every save is kept."""
    inspector, one = await started(login_as, settings)
    answers = {
        "other_bank_overdue": True,
        "litigation": False,
        "controller_unreachable": True,
        "controller_credit_abnormal": False,
        "controller_adverse_event": True,
        "collateral_adverse_change": False,
        "guarantor_overdue": True,
        "guarantor_litigation": False,
    }
    responses = await asyncio.gather(
        *(inspector.patch(one, json={"answers": {key: value}}) for key, value in answers.items())
    )
    assert [r.status for r in responses] == [200] * len(answers)
    assert await answers_of(inspector, one) == answers

"""The briefing sheet's pure rules: the lock at the deadline's edge, who approves an
unlock, what the sheet prints for each answer, and the inspector's form without
上级管理条线意见 (as the default template's version 1 still has it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from inspection_api.checklists.content import Checklist
from inspection_api.checklists.defaults import default_checklist
from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.inspections.rules import inspector_form, supervisor_opinion_errors
from inspection_api.sheets.content import CHECKED, UNCHECKED, answer_text, layout, money
from inspection_api.sheets.rules import (
    approver_org_path,
    first_deadline,
    is_locked,
    reopened_deadline,
)

DEADLINE = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def test_the_deadline_itself_is_open_and_one_second_past_it_is_locked():
    assert not is_locked(DEADLINE, None, DEADLINE)
    assert is_locked(DEADLINE, None, DEADLINE + timedelta(seconds=1))
    assert is_locked(DEADLINE, None, DEADLINE + timedelta(microseconds=1))
    assert not is_locked(DEADLINE, None, DEADLINE - timedelta(seconds=1))


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
def test_a_sheet_printed_in_its_window_never_locks(later: timedelta):
    assert not is_locked(DEADLINE, DEADLINE, DEADLINE + later)


def test_windows_count_from_the_submission_and_from_the_approval():
    submitted = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert first_deadline(submitted, 72) == datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    assert reopened_deadline(submitted, 24) == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def test_the_approver_org_is_levels_above_and_never_above_the_root():
    assert approver_org_path("/1/4/9/", 1) == "/1/4/"
    assert approver_org_path("/1/4/9/", 2) == "/1/"
    assert approver_org_path("/1/4/9/", 0) == "/1/4/9/"
    assert approver_org_path("/1/4/9/", 5) == "/1/"
    assert approver_org_path("/1/", 1) == "/1/"


def item(checklist: Checklist, key: str) -> Any:
    found = checklist.item(key)
    assert found is not None
    return found


def test_answers_print_as_the_paper_form_writes_them():
    form = default_checklist()
    assert answer_text(item(form, "operating_status"), "半正常") == (
        f"{UNCHECKED}正常  {CHECKED}半正常  {UNCHECKED}异常"
    )
    assert answer_text(item(form, "other_bank_overdue"), False) == f"{UNCHECKED}是  {CHECKED}否"
    assert answer_text(item(form, "other_bank_overdue"), None) == f"{UNCHECKED}是  {UNCHECKED}否"
    assert answer_text(item(form, "tax_paid_ytd"), 35.2) == "35.20 万元"
    assert answer_text(item(form, "utilities"), {"electricity": 12000.5}) == (
        "水：\n电：12000.50 千瓦时\n气："
    )
    assert money(None) == ""
    from decimal import Decimal

    assert money(Decimal("5000000")) == "500.00 万元"


def legacy_version() -> ChecklistVersionOut:
    """Version 1 of the default template as seeded before: with the opinion item."""
    sections = default_checklist().model_dump(mode="json")["sections"]
    sections.append(
        {
            "title": "上级管理条线意见",
            "items": [
                {
                    "key": "supervisor_opinion",
                    "label": "上级管理条线参与，请简要说明意见",
                    "type": "text",
                    "required": False,
                }
            ],
        }
    )
    now = datetime(2026, 11, 29, tzinfo=UTC)
    return ChecklistVersionOut.model_validate(
        {
            "id": 1,
            "template_id": 1,
            "template_name": "中小企业贷后管理“明白纸”",
            "number": 1,
            "status": "published",
            "revision": 1,
            "created_at": now,
            "updated_at": now,
            "published_at": now,
            "sections": sections,
        }
    )


def test_the_inspector_is_never_given_the_supervisor_opinion_to_answer():
    legacy = legacy_version()
    assert legacy.item("supervisor_opinion") is not None
    form = inspector_form(legacy)
    assert form.item("supervisor_opinion") is None
    assert [s.title for s in form.sections][-1] == "检查初步结论"
    assert legacy.item("supervisor_opinion") is not None  # a copy: the version is untouched
    (error,) = supervisor_opinion_errors({"supervisor_opinion": "同意"}, prefix="body.answers")
    assert error.field == "body.answers.supervisor_opinion"
    assert supervisor_opinion_errors({"conclusion": "normal"}, prefix="body.answers") == []
    # And the sheet prints an old answer to it nowhere: opinions come from their records.
    columns, remarks, conclusion = layout(
        legacy, {"supervisor_opinion": "检查员自己写的", "conclusion": "watch"}
    )
    assert "检查员自己写的" not in remarks
    assert all(
        cell.label != "上级管理条线参与，请简要说明意见" for c in columns for cell in c.cells
    )
    assert conclusion == "watch"

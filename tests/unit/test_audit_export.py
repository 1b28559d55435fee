"""审计日志's CSV rows: a cell Excel would run as a formula is text, the record an event is
about is named as the page names it, and every 对象类型 says which record that is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspection_api.audit import export
from inspection_api.audit.actions import ACTIONS, ObjectType
from inspection_api.audit.models import AuditEvent
from inspection_api.audit.repository import OBJECT_KINDS, object_ref, ref_keys
from inspection_api.audit.service import NamedEvent
from storage.keys import content_disposition


def event(action: str, **detail: Any) -> AuditEvent:
    return AuditEvent(
        id=1,
        at=datetime(2026, 12, 5, 16, 0, tzinfo=UTC),
        action=action,
        actor_user_id=7,
        actor_username="reviewer",
        ip="10.0.0.1",
        detail=detail,
    )


def named(e: AuditEvent, names: dict[str, str] | None = None) -> NamedEvent:
    return NamedEvent(event=e, actor_name="王审核", names=names or {}, refs=ref_keys(e))


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_formula_start_is_quoted(text):
    assert export.cell(text) == f"'{text}"


@pytest.mark.parametrize("text", ["", "1=1", "a+b", "王-五", "'=1", " =1", "2026-12-06 00:00:00"])
def test_anything_else_is_as_is(text):
    assert export.cell(text) == text


@given(st.text())
def test_no_cell_starts_a_formula_and_none_loses_text(text):
    guarded = export.cell(text)
    assert not guarded.startswith(export.FORMULA_STARTS)
    assert guarded in (text, f"'{text}")


def test_every_object_type_says_which_record_it_is_about():
    assert set(OBJECT_KINDS) == set(ObjectType)


def test_the_object_is_the_record_of_the_events_object_type():
    # A task is known by its checkpoint; an inspection by itself before its checkpoint.
    assert object_ref(event("task_assigned", task_id=3, checkpoint_id=5)) == ("checkpoint", 5)
    both = event("inspection_submitted", checkpoint_id=5, inspection_id=12)
    assert object_ref(both) == ("inspection", 12)
    # session_id is a login's session in 登录与账号, a remote inspection in 远程巡检.
    assert object_ref(event("login_succeeded", session_id=9)) == ("login_session", 9)
    assert object_ref(event("remote_session_ended", session_id=9)) == ("remote_session", 9)
    # Nothing to name: an unknown action, a detail without the record, a flag, a list.
    assert object_ref(event("rocket_launched", checkpoint_id=5)) is None
    assert object_ref(event("checkpoint_updated", plan_id=5)) is None
    assert object_ref(event("org_renamed", org_id=True)) is None
    assert object_ref(event("checkpoint_updated", checkpoint_id=[1, 2])) is None


def test_a_row_reads_as_the_page_reads():
    updated = event("checkpoint_updated", checkpoint_id=5)
    row = export.row_of(named(updated, {"checkpoint:5": "华北重工厂区（CA-0001）"}))
    assert row == [
        "2026-12-06 00:00:00",  # 16:00 UTC is the next day's midnight in Beijing
        "修改检查点",
        "检查点",
        "华北重工厂区（CA-0001）",
        "王审核",
        "reviewer",
        "10.0.0.1",
        "检查点：华北重工厂区（CA-0001）",  # 详情 as the page words it
    ]
    # Outside the jurisdiction a record keeps its bare id; a numbered one says its kind.
    assert export.row_of(named(updated))[3] == "#5"
    assert export.row_of(named(updated))[7] == "检查点：#5"
    submitted = event("inspection_submitted", inspection_id=12, checkpoint_id=5)
    assert export.row_of(named(submitted, {"inspection:12": "华北重工厂区"}))[3] == "检查记录 #12"
    # An action the table does not know is said as recorded, with no 对象类型.
    assert export.row_of(named(event("rocket_launched")))[1:4] == ["rocket_launched", "", ""]
    # No account: the name recorded at the time.
    anonymous = NamedEvent(event("login_failed"), None, {}, {})
    assert export.row_of(anonymous)[4:6] == ["reviewer", "reviewer"]
    assert set(ACTIONS) >= {"checkpoint_updated", "inspection_submitted", "login_failed"}


def test_the_file_is_named_in_chinese_for_the_day_in_beijing():
    name = export.filename(datetime(2026, 12, 5, 16, 30, tzinfo=UTC))
    assert name == "审计日志-20261206-0030.csv"
    assert content_disposition(name, fallback="audit-log.csv") == (
        "attachment; filename=\"audit-log.csv\"; filename*=UTF-8''"
        "%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97-20261206-0030.csv"
    )

"""审计日志's 详情 in words: every label the page shows, codes by their label, records by name
(a numbered one by its number, one outside the jurisdiction by its bare id), an edit's
changes 「旧 → 新」, a session by what it is; a key or value no table knows, as recorded."""

from __future__ import annotations

from typing import Any

import pytest

from inspection_api.audit.detail import (
    DETAIL_LABELS,
    NUMBERED,
    SESSION_LABELS,
    VALUE_LABELS,
    DetailChange,
    DetailPart,
    DetailValue,
    detail_line,
    detail_parts,
    record_text,
    value_text,
)


def line(detail: Any, action: str = "checkpoint_updated", **kwargs: Any) -> str:
    return detail_line(
        detail_parts(action, detail, kwargs.get("refs", {}), kwargs.get("names", {}))
    )


@pytest.mark.parametrize(("key", "label"), DETAIL_LABELS.items())
def test_every_key_reads_by_its_label(key, label):
    assert line({key: "x"}) == f"{label}：x"


@pytest.mark.parametrize(
    ("key", "code", "label"),
    [(key, code, label) for key, labels in VALUE_LABELS.items() for code, label in labels.items()],
)
def test_every_code_reads_by_its_label(key, code, label):
    assert line({key: code}) == f"{DETAIL_LABELS[key]}：{label}"


def test_the_pages_words_for_roles_severities_and_reasons():
    # As the page said them (labels.js, anomaly-detail.js) before the server did.
    assert line({"roles": ["inspector", "reviewer"]}) == "角色：客户经理/检查员、审核人"
    assert line({"executor_role": "org_admin"}) == "执行角色：机构管理员"
    assert line({"severity": "high"}) == "严重程度：严重"
    assert line({"severity": "medium"}) == "严重程度：较重"
    assert line({"reason": "inactive"}) == "原因：账号已停用"
    assert line({"source": "inspector"}) == "来源：检查员标记"
    assert line({"password": "reset"}) == "密码：已重置"


@pytest.mark.parametrize(("kind", "label"), SESSION_LABELS.items())
def test_a_session_says_what_it_is(kind, label):
    names = {f"{kind}:9": "王审核 2026-12-06 08:30 登录，有效至 2026-12-06 16:30"}
    parts = detail_parts("login_succeeded", {"session_id": 9}, {"session_id": kind}, names)
    assert parts == [DetailPart("session_id", label, names[f"{kind}:9"], ref=f"{kind}:9")]
    # Outside the jurisdiction: what it is, by its bare id, nothing to link to.
    assert line({"session_id": 9}, refs={"session_id": kind}) == f"{label}：#9"


def test_a_session_the_server_cannot_tell_is_a_session():
    assert line({"session_id": 9}, action="rocket_launched") == "会话：9"


@pytest.mark.parametrize(("kind", "label"), NUMBERED.items())
def test_a_numbered_record_says_its_kind_and_number(kind, label):
    names = {f"{kind}:12": "华北重工厂区"}
    assert record_text(kind, 12, names) == f"{label} #12"
    part = detail_parts("x", {"id": 12}, {"id": kind}, names)[0]
    assert (part.text, part.ref) == (f"{label} #12", f"{kind}:12")
    # Outside the jurisdiction: the same words, nothing to link to.
    assert detail_parts("x", {"id": 12}, {"id": kind}, {})[0].ref is None


def test_a_record_reads_by_its_name_or_its_bare_id():
    refs = {"checkpoint_id": "checkpoint"}
    names = {"checkpoint:5": "华北重工厂区（CA-0001）"}
    assert detail_parts("x", {"checkpoint_id": 5}, refs, names) == [
        DetailPart("checkpoint_id", "检查点", "华北重工厂区（CA-0001）", ref="checkpoint:5")
    ]
    assert line({"checkpoint_id": 5}, refs=refs) == "检查点：#5"
    # Not an id: said as a value.
    assert line({"checkpoint_id": True}, refs=refs) == "检查点：是"
    assert line({"checkpoint_id": [5, 6]}, refs=refs, names=names) == "检查点：5、6"


def test_an_edit_says_each_field_old_to_new():
    refs = {"checkpoint_id": "checkpoint", "org_id": "org"}
    names = {"org:2": "长安支行", "org:3": "石家庄分行"}
    detail = {"checkpoint_id": 5, "changes": {"org_id": [2, 3], "radius_m": [100, 200.0]}}
    parts = detail_parts("checkpoint_updated", detail, refs, names)
    assert parts[1].changes == (
        DetailChange(
            "org_id",
            "机构",
            before=DetailValue("长安支行", "org:2"),
            after=DetailValue("石家庄分行", "org:3"),
        ),
        DetailChange(
            "radius_m", "误差范围（米）", before=DetailValue("100"), after=DetailValue("200")
        ),
    )
    assert detail_line(parts) == (
        "检查点：#5；修改：机构 长安支行 → 石家庄分行，误差范围（米） 100 → 200"
    )
    # A field with no before (not a pair) says the value; so do a user's edits, which
    # record only the new values (a list of two roles is not a before and after).
    assert line({"changes": {"name": "新名称"}}) == "修改：名称 新名称"
    user = {"changes": {"roles": ["inspector", "reviewer"], "is_active": False}}
    assert line(user, action="user_updated") == "修改：角色 客户经理/检查员、审核人，启用 否"
    assert line({"changes": {}}) == "修改："
    # Changes that are not fields: said as recorded.
    assert line({"changes": [1, 2]}) == "修改：1、2"


def test_an_unknown_key_or_value_reads_as_recorded():
    assert line({"rocket": "launched"}) == "rocket：launched"
    assert line({"severity": "apocalyptic"}) == "严重程度：apocalyptic"
    assert line({"roles": ["astronaut"]}) == "角色：astronaut"
    assert line({"changes": {"fuel": [1, 2]}}) == "修改：fuel 1 → 2"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "无"),
        ("", "无"),
        ([], "无"),
        (True, "是"),
        (False, "否"),
        (0, "0"),
        (100.0, "100"),
        (0.5, "0.5"),
        ({"stage": 2, "名": "值"}, '{"stage":2,"名":"值"}'),
        ([{"a": 1}, None], '{"a":1}、无'),
        ("2026-12-06", "2026-12-06"),
    ],
)
def test_a_value_reads_as_the_page_read_it(value, text):
    assert value_text("note", value) == text


def test_a_detail_that_is_not_an_object_says_nothing():
    assert detail_parts("x", None, {}, {}) == []
    assert detail_parts("x", [1, 2], {}, {}) == []
    assert line({}) == ""


def test_the_parts_join_in_the_details_order():
    detail = {"reason": "bad_credentials", "username": "wang", "sessions_ended": 2}
    assert line(detail, action="login_failed") == (
        "原因：用户名或密码错误；用户名：wang；结束会话数：2"
    )

"""zh-CN messages of input errors: Chinese whatever pydantic says (issue #12.5)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import pytest
from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from inspection_api.checkpoints.models import ExitReason
from inspection_api.field_labels import FIELD_LABELS, field_label
from inspection_api.i18n import field_errors


class Form(BaseModel):
    name: str = Field(min_length=1)
    code: str = Field(min_length=3)
    amount: Decimal
    url: str | None = Field(default=None, pattern=r"^https://")


def errors_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(data)
    return {e.field: e.zh for e in field_errors(caught.value, "body")}


def test_an_empty_required_text_is_required_not_a_length():
    found = errors_of({"name": "", "code": "ab", "amount": "1"})
    assert found["body.name"] == "名称：必填"
    assert found["body.code"] == "编号：长度至少为 3"


def test_no_english_reaches_a_chinese_reader():
    found = errors_of({"name": "x", "code": "abc", "amount": "twelve", "url": "http://x"})
    assert found["body.amount"] == "请求内容：应为数字"  # a field we have no name for
    for message in found.values():
        assert not re.search(r"[A-Za-z]{3,}", message), message


class Device(BaseModel):
    ident: UUID


def test_an_error_type_without_a_translation_falls_back_to_chinese():
    with pytest.raises(ValidationError) as caught:
        Device.model_validate({"ident": "not-a-uuid"})
    [error] = field_errors(caught.value, "body")
    assert error.zh == "请求内容：格式不正确"
    assert error.en.startswith("Input should be a valid UUID")


class Exit(BaseModel):
    reason: ExitReason
    org_ids: list[int] = []
    answers: dict[str, dict[str, int]] = {}


def test_an_enum_lists_its_chinese_labels_not_pydantics_english():
    with pytest.raises(ValidationError) as caught:
        Exit.model_validate({"reason": "gone"})
    [error] = field_errors(caught.value, "body")
    assert error.zh == "原因：应为以下之一：已退出、已核销、已结清、纯贴现用户"
    assert error.en == "Input should be 'exited', 'written_off', 'settled' or 'discount_only'"


def test_a_list_entry_is_named_by_its_position_a_nested_key_by_its_nearest_named_parent():
    with pytest.raises(ValidationError) as caught:
        Exit.model_validate(
            {"reason": "settled", "org_ids": [1, "x"], "answers": {"payroll": {"headcount": 1.5}}}
        )
    found = {e.field: e.zh for e in field_errors(caught.value, "body")}
    assert found == {
        "body.org_ids.1": "机构（第 2 项）：应为整数",
        "body.answers.payroll.headcount": "检查结果：应为整数",
    }


class Both(BaseModel):
    a: int | None = None
    b: int | None = None

    @model_validator(mode="after")
    def _together(self) -> Both:
        if (self.a is None) != (self.b is None):
            raise ValueError("纬度、经度须同时提供 (send both or neither)")
        if self.a == 13:
            raise ValueError("unlucky number")
        return self


def test_a_validator_of_ours_says_its_chinese_part_a_foreign_one_says_format():
    with pytest.raises(ValidationError) as caught:
        Both.model_validate({"a": 1})
    [error] = field_errors(caught.value, "query")
    assert (error.field, error.zh) == ("query", "查询条件：纬度、经度须同时提供")
    with pytest.raises(ValidationError) as caught:
        Both.model_validate({"a": 13, "b": 1})
    [error] = field_errors(caught.value, "query")
    assert error.zh == "查询条件：格式不正确"


def test_every_field_label_is_chinese():
    for name, label in FIELD_LABELS.items():
        assert re.search(r"[\u4e00-\u9fff]", label), name


def _custom(value: str) -> str:
    # As signaling/messages.py gives its Chinese text: a PydanticCustomError's ``msg``.
    raise PydanticCustomError("value_error", "longer than 4 bytes", {"msg": "不能超过 4 字节"})


class Message(BaseModel):
    to: Annotated[str, AfterValidator(_custom)]


def test_a_custom_errors_chinese_text_is_what_a_chinese_reader_sees():
    with pytest.raises(ValidationError) as caught:
        Message.model_validate({"to": "abcdef"})
    [error] = field_errors(caught.value, "data")
    assert (error.field, error.zh, error.en) == (
        "data.to",
        "对方：不能超过 4 字节",
        "longer than 4 bytes",
    )


def test_a_key_of_digits_other_than_ascii_is_a_key_not_a_position():
    assert field_label("body", ("answers", "²")) == "检查结果"
    assert field_label("body", ("org_ids", "12")) == "机构（第 13 项）"

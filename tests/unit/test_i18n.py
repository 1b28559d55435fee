"""zh-CN messages of input errors: Chinese whatever pydantic says (issue #12.5)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, Field, ValidationError

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
    assert found["body.name"] == "必填"
    assert found["body.code"] == "长度至少为 3"


def test_no_english_reaches_a_chinese_reader():
    found = errors_of({"name": "x", "code": "abc", "amount": "twelve", "url": "http://x"})
    assert found["body.amount"] == "应为数字"
    for message in found.values():
        assert not re.search(r"[A-Za-z]{3,}", message), message


class Device(BaseModel):
    ident: UUID


def test_an_error_type_without_a_translation_falls_back_to_chinese():
    with pytest.raises(ValidationError) as caught:
        Device.model_validate({"ident": "not-a-uuid"})
    [error] = field_errors(caught.value, "body")
    assert error.zh == "格式不正确"
    assert error.en.startswith("Input should be a valid UUID")

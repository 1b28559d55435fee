"""Signaling errors: one base, subclasses with a zh-CN/English message.

Socket.IO events acknowledge them as ``{"ok": false, "error": {...}}``; the error object has
the same members as the API's problem+json (``code``, ``detail``, optional ``errors``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from inspection_api.errors import FieldError


class SignalingError(Exception):
    code: ClassVar[str] = "signaling_error"
    zh: ClassVar[str] = "实时消息处理失败"
    en: ClassVar[str] = "Real-time message failed"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return (self.zh if lang == "zh" else self.en).format(**self.params)

    def as_error(self, lang: str) -> dict[str, Any]:
        return {"code": self.code, "detail": self.message(lang)}

    def ack(self, lang: str) -> dict[str, Any]:
        return {"ok": False, "error": self.as_error(lang)}


class InvalidMessage(SignalingError):
    code = "validation_failed"
    zh = "消息格式有误：{fields}"
    en = "Invalid message: {fields}"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(fields=", ".join(e.field for e in errors))

    def as_error(self, lang: str) -> dict[str, Any]:
        return {
            **super().as_error(lang),
            "errors": [{"field": e.field, "message": e.message(lang)} for e in self.errors],
        }


class UnknownEvent(SignalingError):
    code = "unknown_event"
    zh = "不支持的事件：{event}"
    en = "Unknown event: {event}"


class InternalError(SignalingError):
    code = "internal_error"
    zh = "服务器内部错误，已记录日志"
    en = "Internal error; it was logged"

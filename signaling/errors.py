"""Signaling errors: one base, subclasses with a zh-CN/English message.

Socket.IO events acknowledge them as ``{"ok": false, "error": {...}}``; the error object has
the same members as the API's problem+json (``code``, ``detail``, optional ``errors``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from socketio.exceptions import ConnectionRefusedError as Refused

from inspection_api.errors import FieldError, InspectionError, field_summary
from inspection_api.field_labels import field_label


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


def data_error(name: str | None, zh: str, en: str) -> FieldError:
    """A bad member ``name`` of an event's payload (None: the payload), its message led by
    the member's Chinese name as a person reads it."""
    label = field_label("data", [name] if name else [])
    return FieldError(f"data.{name}" if name else "data", f"{label}：{zh}", en)


class InvalidMessage(SignalingError):
    code = "validation_failed"
    zh = "消息格式有误，{fields}"
    en = "Invalid message: {fields}"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        self.fields = field_summary(errors)  # the messages in zh-CN, the paths in English
        super().__init__()

    def message(self, lang: str) -> str:
        return (self.zh if lang == "zh" else self.en).format(fields=self.fields[lang != "zh"])

    @classmethod
    def extra_arguments(cls) -> InvalidMessage:
        """An event sent with more than its one payload."""
        return cls([data_error(None, "只接受一个参数", "takes one argument")])

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


class NotJoined(SignalingError):
    code = "not_joined"
    zh = "尚未加入通话"
    en = "Join the call first"


class AlreadyJoined(SignalingError):
    code = "already_joined"
    zh = "已在通话中"
    en = "Already in the call"


class Superseded(SignalingError):
    code = "superseded"
    zh = "已在另一个连接上加入通话"
    en = "A newer connection of this participant is in the call"


class NotInRoom(SignalingError):
    code = "not_in_room"
    zh = "对方不在本次通话中：{to}"
    en = "Participant {to} is not in this call"


class NotAllowed(SignalingError):
    code = "forbidden"
    zh = "无权执行此操作：{action}"
    en = "Not allowed: {action}"

    def __init__(self, action: tuple[str, str]) -> None:
        self.action = action
        super().__init__()

    def message(self, lang: str) -> str:
        return (self.zh if lang == "zh" else self.en).format(action=self.action[lang != "zh"])


class RateLimited(SignalingError):
    code = "rate_limited"
    zh = "消息过于频繁（每秒最多 {rate} 条），已丢弃"
    en = "Too many messages (at most {rate} per second); dropped"


class DomainRefused(SignalingError):
    """A domain refusal (``InspectionError``) as a signaling error: same code and message,
    e.g. ``invite_expired`` 链接已过期."""

    def __init__(self, cause: InspectionError) -> None:
        self.cause = cause
        super().__init__()

    def message(self, lang: str) -> str:
        return self.cause.message(lang)

    def as_error(self, lang: str) -> dict[str, Any]:
        error = {"code": self.cause.code, "detail": self.message(lang)}
        errors = self.cause.extra(lang).get("errors")
        return {**error, "errors": errors} if errors else error


def call_ack(exc: SignalingError, lang: str) -> dict[str, Any]:
    """The /call acknowledgement of an error: ``{"ok": false, "error": {"code", "message",
    "detail", "errors"?}}`` — ``message`` as the call protocol names it, ``detail`` as
    /console and the REST problems do (same text)."""
    error = exc.as_error(lang)
    return {"ok": False, "error": {"code": error["code"], "message": error["detail"], **error}}


def refusal(code: str, zh: str, en: str, lang: str) -> Refused:
    """A handshake refusal the client can read: ``connect_error`` with ``message`` = the code
    and ``data`` = {code, message, detail} in the caller's language."""
    text = zh if lang == "zh" else en
    return Refused(code, {"code": code, "message": text, "detail": text})

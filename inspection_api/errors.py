"""Domain errors. One base, subclasses that carry fields and a zh-CN/English message.

The web layer turns any ``InspectionError`` into an RFC 9457 problem+json response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

# Resource names as users read them, for messages that name a resource.
RESOURCES: dict[str, tuple[str, str]] = {
    "org": ("机构", "organisation"),
    "user": ("用户", "user"),
    "token": ("API 令牌", "API token"),
    "object": ("文件", "object"),
    "remote_session": ("远程巡检", "remote inspection"),
    "invite": ("邀请", "invite"),
    "checkpoint": ("检查点", "checkpoint"),
    "checklist_template": ("检查模板", "checklist template"),
    "checklist_version": ("检查模板版本", "checklist template version"),
    "plan_rule": ("检查规则", "plan rule"),
    "plan": ("检查计划", "plan"),
    "task": ("检查任务", "task"),
    "inspection": ("检查记录", "inspection"),
    "inspection_evidence": ("取证文件", "evidence"),
    "anomaly": ("异常", "anomaly"),
    "notification": ("消息", "notification"),
    "rectification": ("整改意见", "rectification"),
    "rectification_photo": ("整改照片", "rectification photo"),
    "sheet_unlock_request": ("明白纸解锁申请", "briefing sheet unlock request"),
    "upload": ("上传文件", "upload"),
}


@dataclass(frozen=True)
class FieldError:
    field: str
    zh: str
    en: str

    def message(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class InspectionError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    zh: ClassVar[str] = "请求无效"
    en: ClassVar[str] = "Bad request"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.message("en"))

    def _format_params(self, lang: str) -> dict[str, Any]:
        """Params may be (zh, en) pairs; ``resource`` may name an entry of RESOURCES."""
        index = 0 if lang == "zh" else 1
        params: dict[str, Any] = {}
        for name, value in self.params.items():
            if name == "resource" and value in RESOURCES:
                value = RESOURCES[value]
            params[name] = value[index] if isinstance(value, tuple) else value
        return params

    def message(self, lang: str) -> str:
        template = self.zh if lang == "zh" else self.en
        return template.format(**self._format_params(lang))

    def extra(self, lang: str) -> dict[str, Any]:
        """Additional problem members (RFC 9457 extensions)."""
        return {}

    def headers(self) -> dict[str, str]:
        return {}


class Unauthenticated(InspectionError):
    status = 401
    code = "unauthenticated"
    zh = "请先登录"
    en = "Authentication required"


class InvalidCredentials(InspectionError):
    status = 401
    code = "invalid_credentials"
    zh = "用户名或密码错误"
    en = "Wrong username or password"


class Forbidden(InspectionError):
    status = 403
    code = "forbidden"
    zh = "无权执行此操作：{action}"
    en = "Not allowed: {action}"


class SelfChangeForbidden(Forbidden):
    # An administrator who moved themselves down the tree, or dropped their own role, could
    # not undo it: the rights to do so went with the change.
    code = "self_change_forbidden"
    zh = "不能修改自己的{label}，{remedy}"
    en = "You cannot change your own {label}; {remedy}"

    def __init__(
        self,
        *,
        field: str,
        label: tuple[str, str],
        remedy: tuple[str, str] = ("请由其他管理员操作", "ask another administrator"),
    ) -> None:
        super().__init__(field=field, label=label, remedy=remedy)

    def extra(self, lang: str) -> dict[str, Any]:
        return {"errors": [{"field": self.params["field"], "message": self.message(lang)}]}


class OutsideJurisdiction(InspectionError):
    # 404, not 403: a user must not learn that another sub-branch's record exists.
    status = 404
    code = "not_found"
    zh = "{resource}不存在：{id}"
    en = "{resource} {id} not found"


class NotFound(OutsideJurisdiction):
    pass


class OriginRejected(InspectionError):
    status = 403
    code = "origin_rejected"
    zh = "请求来源不被允许：「{origin}」"
    en = "Request origin not allowed: {origin}"


class Conflict(InspectionError):
    status = 409
    code = "conflict"
    zh = "{label}已存在：{value}"
    en = "{label} already exists: {value}"

    def extra(self, lang: str) -> dict[str, Any]:
        return {"errors": [{"field": self.params["field"], "message": self.message(lang)}]}


class RateLimited(InspectionError):
    status = 429
    code = "rate_limited"
    zh = "尝试次数过多，请 {retry_after} 秒后再试"
    en = "Too many attempts, try again in {retry_after} s"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.params["retry_after"])}


class PayloadTooLarge(InspectionError):
    status = 413
    code = "payload_too_large"
    zh = "请求内容过大（上限 {limit} 字节）"
    en = "Request body too large (limit {limit} bytes)"


# The signed links of the embedded object store (storage/web.py, /objects/…): what a person
# who opens a photo or a download link, or whose page sends a file, is told.
class ObjectLinkInvalid(InspectionError):
    status = 403
    code = "object_link_invalid"
    zh = "文件链接无效：链接不完整或已被改动，请回到原页面重新打开"
    en = "Signed URL invalid"


class ObjectLinkExpired(InspectionError):
    status = 403
    code = "object_link_expired"
    zh = "文件链接已过期，请刷新原页面后重新打开"
    en = "Signed URL expired"


class ObjectKeyInvalid(InspectionError):
    # Names the rule, never the key: a crafted link must not make the platform's own origin
    # echo text the link's author wrote.
    status = 400
    code = "object_key_invalid"
    zh = "文件链接的地址无效，请回到原页面重新打开"
    en = "Invalid object key: {reason}"


class ObjectMissing(InspectionError):
    status = 404
    code = "object_not_found"
    zh = "文件不存在或已被删除"
    en = "Object not found"


class ObjectKeyConflict(InspectionError):
    status = 409
    code = "object_key_conflict"
    zh = "文件地址与已有文件冲突，请重新上传"
    en = "The object key clashes with an existing object"


class ObjectTooLarge(InspectionError):
    status = 413
    code = "object_too_large"
    zh = "文件过大：超过 {limit_mb} MB 的上限"
    en = "Object larger than the limit of {limit_mb} MB"


_SHOWN_ERRORS = 3  # in a problem's detail; ``errors`` lists them all


def field_summary(errors: list[FieldError]) -> tuple[str, str]:
    """What a detail says of bad fields: for a zh-CN reader the first messages (each led by
    its field's Chinese name), not paths; in English the paths."""
    shown = "；".join(e.zh for e in errors[:_SHOWN_ERRORS])
    if len(errors) > _SHOWN_ERRORS:
        shown += f"，共 {len(errors)} 处"
    return shown, ", ".join(e.field for e in errors)


class ValidationFailed(InspectionError):
    status = 422
    code = "validation_failed"
    zh = "请求数据有误，{fields}"
    en = "Invalid request data: {fields}"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(fields=field_summary(errors))

    def extra(self, lang: str) -> dict[str, Any]:
        return {"errors": [{"field": e.field, "message": e.message(lang)} for e in self.errors]}


class InvalidField(ValidationFailed):
    """One field with a domain-level problem (e.g. a parent org of the wrong kind)."""

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__([FieldError(field, zh, en)])


class InviteNotFound(InspectionError):
    # The token is never echoed back: it is the credential.
    status = 404
    code = "invite_not_found"
    zh = "邀请链接无效"
    en = "This invite link is not valid"


class InviteExpired(InspectionError):
    status = 410
    code = "invite_expired"
    zh = "链接已过期"
    en = "This invite link has expired"


class InviteRevoked(InspectionError):
    status = 410
    code = "invite_revoked"
    zh = "链接已被撤销"
    en = "This invite link has been revoked"


class SessionClosed(InspectionError):
    status = 410
    code = "session_closed"
    zh = "本次远程巡检{state}"
    en = "This remote inspection is {state}"


class InviteInUse(InspectionError):
    status = 409
    code = "invite_in_use"
    zh = "此邀请链接已在另一台设备上使用"
    en = "This invite link is already in use on another device"


class SessionStateConflict(InspectionError):
    status = 409
    code = "session_state_conflict"
    zh = "远程巡检当前为「{state}」，不能{action}"
    en = "The remote inspection is {state}; cannot {action}"


class TemplateStateConflict(InspectionError):
    status = 409
    code = "template_state_conflict"
    zh = "检查模板{state}，不能{action}"
    en = "The checklist template {state}; cannot {action}"


class DraftChanged(InspectionError):
    # Two administrators editing one draft: the later save must not silently undo the other.
    status = 409
    code = "draft_changed"
    zh = "草稿已被他人修改（当前为第 {current} 次修订），请重新加载后再修改"
    en = "The draft was changed meanwhile (now revision {current}); reload it and edit again"

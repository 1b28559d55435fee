"""Errors of rectifications: links that admit nobody, photos that are refused, and state
conflicts. Messages say what the person can do about it, in zh-CN and English."""

from __future__ import annotations

from typing import Any

from inspection_api.errors import InspectionError


class RectificationStateConflict(InspectionError):
    status = 409
    code = "rectification_state_conflict"
    zh = "整改意见当前为「{state}」，不能{action}"
    en = "The rectification is {state}; cannot {action}"


class RectifyLinkNotFound(InspectionError):
    # Forged, mistyped or replaced by a newer link: the token is never echoed back.
    status = 404
    code = "rectify_link_not_found"
    zh = "整改反馈链接无效"
    en = "This rectification link is not valid"


class RectifyLinkExpired(InspectionError):
    status = 410
    code = "rectify_link_expired"
    zh = "整改反馈链接已过期"
    en = "This rectification link has expired"


class _PhotoRefused(InspectionError):
    """A photo of a reply that cannot be accepted; names the field (``body.photos.{i}``)."""

    def extra(self, lang: str) -> dict[str, Any]:
        return {"errors": [{"field": self.params["field"], "message": self.message(lang)}]}


class PhotoTypeRefused(_PhotoRefused):
    status = 415
    code = "photo_type_refused"
    zh = "「{name}」不是允许的照片格式，请上传 JPEG、PNG、WebP 或 HEIC 照片"
    en = "{name} is not an accepted photo format (JPEG, PNG, WebP or HEIC)"


class PhotoTooLarge(_PhotoRefused):
    status = 413
    code = "photo_too_large"
    zh = "照片「{name}」超过 {limit_mb} MB 上限，请压缩后重新上传"
    en = "Photo {name} is larger than the {limit_mb} MB limit"


class PhotoStoreUnavailable(InspectionError):
    # Nothing of the reply was recorded: sending it again is safe.
    status = 503
    code = "photo_store_unavailable"
    zh = "照片暂时无法保存，反馈未提交，请稍后重试"
    en = "Photos cannot be stored right now; the reply was not recorded, try again later"

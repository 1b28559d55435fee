"""Errors of checkpoints: QR labels that admit nobody, and GPS fixes refused on site.

Each refusal says what the person can do about it, in zh-CN and English.
"""

from __future__ import annotations

from typing import Any

from inspection_api.errors import InspectionError


class QrInvalid(InspectionError):
    # Forged, damaged or not ours: the payload is never echoed back.
    status = 404
    code = "qr_invalid"
    zh = "二维码无效：不是本平台的检查点标签，或标签已损坏"
    en = "This QR code is not a valid checkpoint label"


class QrRetired(InspectionError):
    status = 410
    code = "qr_retired"
    zh = "此二维码标签已作废（检查点已重新生成二维码），请使用新标签"
    en = "This QR label was retired (a new one was generated for the checkpoint)"


class CheckpointInUse(InspectionError):
    status = 409
    code = "checkpoint_in_use"
    zh = "检查点「{name}」已有现场签到记录，不能删除；不再检查时请标记为退出点"
    en = "Checkpoint {name} has on-site check-ins and cannot be deleted; mark it as exited"


class CheckpointHasRecords(CheckpointInUse):
    # Anomalies, rectifications (later inspections) point at it: they keep their site.
    zh = "检查点「{name}」已有检查记录（如异常、整改意见），不能删除；不再检查时请标记为退出点"
    en = "Checkpoint {name} has inspection records and cannot be deleted; mark it as exited"


class LocationRefused(InspectionError):
    """A GPS fix that cannot place the person at the checkpoint (all 422)."""

    status = 422
    code = "location_refused"


class OutOfRange(LocationRefused):
    code = "location_out_of_range"
    zh = "当前位置距检查点 {distance} 米，超出允许范围 {radius} 米"
    en = "You are {distance} m from the checkpoint, outside the allowed {radius} m"

    def extra(self, lang: str) -> dict[str, Any]:
        return {"distance_m": self.params["distance"], "radius_m": self.params["radius"]}


class FixInaccurate(LocationRefused):
    code = "location_inaccurate"
    zh = "定位精度为 {accuracy} 米，要求不超过 {limit} 米；请到开阔处等待定位稳定后重试"
    en = "Location accuracy is {accuracy} m, at most {limit} m is required; wait for a better fix"


class FixMocked(LocationRefused):
    code = "location_mocked"
    zh = "定位精度报告为 0 米，疑似模拟定位；请关闭模拟定位软件后重试"
    en = "The location reports an accuracy of 0 m, the mark of a mock location provider"


class FixStale(LocationRefused):
    code = "location_stale"
    zh = "定位信息已过时（{age} 秒前获取，上限 {limit} 秒），请重新定位"
    en = "The location fix is {age} s old (at most {limit} s); locate again"


class FixFromFuture(LocationRefused):
    code = "location_from_future"
    zh = "定位时间比服务器时间晚 {ahead} 秒，请检查手机的日期和时间设置"
    en = "The location fix is {ahead} s ahead of the server clock; check the phone's time"

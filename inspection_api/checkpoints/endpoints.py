"""Checkpoints (检查点) over REST: the register of a jurisdiction's sites, exit points, QR
labels (PNG, SVG, A4 label sheet PDF), 重置GPS, and the on-site check-in by QR scan."""

from __future__ import annotations

import asyncio

from aiohttp import web

from inspection_api.auth.endpoints import origin_of
from inspection_api.auth.permissions import Permission
from inspection_api.checkpoints import geo, labels, qr, service
from inspection_api.checkpoints.checkin import effective_radius, label_url
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.checkpoints.schemas import (
    CheckInIn,
    CheckInOut,
    CheckInResultOut,
    CheckpointCreate,
    CheckpointOut,
    CheckpointPage,
    CheckpointQuery,
    CheckpointUpdate,
    ExitIn,
    LabelIn,
    LabelsQuery,
    NavigationOut,
    QrOut,
)
from inspection_api.db import utcnow
from inspection_api.orgs.models import Org
from inspection_api.web.keys import SETTINGS
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="checkpoints")

CHECKPOINTS = "/api/v1/checkpoints"
_OWN_FIELDS = set(CheckpointOut.model_fields) - {"org_name", "effective_radius_m", "navigation"}
ONE = CHECKPOINTS + "/{checkpoint_id}"


def _out(ctx: Ctx, checkpoint: Checkpoint, org: Org) -> CheckpointOut:
    own = {name: getattr(checkpoint, name) for name in _OWN_FIELDS}
    return CheckpointOut(
        **own,
        org_name=org.name,
        effective_radius_m=effective_radius(ctx.app[SETTINGS], checkpoint),
        navigation=NavigationOut.of(checkpoint),
    )


@api.route(
    "GET",
    CHECKPOINTS,
    summary="辖区内检查点 Checkpoints in my jurisdiction",
    query=CheckpointQuery,
    response=CheckpointPage,
)
async def list_checkpoints(ctx: Ctx, *, query: CheckpointQuery) -> CheckpointPage:
    """In code order. `status=exited` or `exit_reason=…` lists exit points (退出点); `q`
    searches name, code and customer name; page with `offset`/`limit` (`total` counts all)."""
    rows, total = await service.list_checkpoints(
        ctx.session,
        ctx.user,
        query.model_dump(include={"status", "exit_reason", "classification", "bound", "q"}),
        org_id=query.org_id,
        offset=query.offset,
        limit=query.limit,
    )
    return CheckpointPage.of(
        [_out(ctx, cp, org) for cp, org in rows],
        total,
        query,
        default_radius_m=ctx.app[SETTINGS].checkpoint_radius_m,
    )


@api.route(
    "POST",
    CHECKPOINTS,
    summary="新建检查点 Register a checkpoint",
    body=CheckpointCreate,
    response=CheckpointOut,
    status=201,
    problems={409: "The code is taken"},
)
async def create_checkpoint(ctx: Ctx, *, body: CheckpointCreate) -> CheckpointOut:
    """In a 支行 of the jurisdiction (`org_id`, default: mine). Its QR label is ready at
    once; its GPS position is bound by the first on-site check-in."""
    checkpoint, org = await service.create_checkpoint(
        ctx.session, ctx.user, body, origin=origin_of(ctx)
    )
    return _out(ctx, checkpoint, org)


@api.route(
    "POST",
    CHECKPOINTS + "/check-in",
    summary="现场扫码定位 Check in at a checkpoint by its QR label",
    body=CheckInIn,
    response=CheckInOut,
    problems={
        404: "Not a valid label (qr_invalid), or its checkpoint is outside my jurisdiction",
        410: "The label was retired (qr_retired)",
    },
)
async def check_in(ctx: Ctx, *, body: CheckInIn) -> CheckInOut:
    """`qr` is what the camera read (the label URL or its payload); `fix` the browser's
    position. The first check-in binds the checkpoint's GPS position (`outcome: bound`),
    later ones must be inside its radius (`verified`); a refused fix is a 422 saying why,
    e.g. `location_out_of_range` with `distance_m` and `radius_m`. 404 `qr_invalid` for a
    forged or damaged code."""
    fix = geo.Fix(
        latitude=body.fix.latitude,
        longitude=body.fix.longitude,
        accuracy_m=body.fix.accuracy,
        captured_at=body.fix.captured_at,
    )
    checkpoint, org, result = await service.check_in_by_qr(
        ctx.session,
        ctx.app[SETTINGS],
        ctx.user,
        body.qr,
        fix,
        now=utcnow(),
        origin=origin_of(ctx),
    )
    return CheckInOut(
        checkpoint=_out(ctx, checkpoint, org),
        result=CheckInResultOut(
            outcome=result.outcome,
            distance_m=round(result.distance_m, 1),
            radius_m=result.radius_m,
            accuracy_m=result.accuracy_m,
        ),
    )


@api.route(
    "POST",
    CHECKPOINTS + "/read-label",
    summary="识别二维码标签 The checkpoint a QR label names, before any GPS fix",
    body=LabelIn,
    response=CheckpointOut,
    problems={
        404: "Not a valid label (qr_invalid), or its checkpoint is outside my jurisdiction",
        410: "The label was retired (qr_retired)",
    },
)
async def read_label(ctx: Ctx, *, body: LabelIn) -> CheckpointOut:
    """What the phone shows right after a scan: the signature, the generation and the
    jurisdiction are checked exactly as by `check-in` (the same 404 and 410), but nothing
    is bound, verified or recorded. A POST so that the scanned text stays out of URLs."""
    checkpoint, org = await service.verify_qr(
        ctx.app[SETTINGS], ctx.session, ctx.user, body.qr, Permission.CHECKPOINT_CHECK_IN
    )
    return _out(ctx, checkpoint, org)


@api.route(
    "GET",
    CHECKPOINTS + "/labels.pdf",
    summary="打印二维码标签 A4 label sheet (PDF)",
    query=LabelsQuery,
    media_type="application/pdf",
)
async def label_sheet(ctx: Ctx, *, query: LabelsQuery) -> web.Response:
    """Labels of the selected checkpoints (`ids=1,2,3`) or of every active checkpoint under
    an org (`org_id`, with `include_exited=true` exit points too): 12 per A4 page, each with
    the QR code, name and code."""
    rows, org = await service.for_labels(
        ctx.session,
        ctx.user,
        org_id=query.org_id,
        ids=query.ids or [],
        include_exited=query.include_exited,
    )
    settings = ctx.app[SETTINGS]
    sheet = [
        labels.Label(name=cp.name, code=cp.code, org_name=cp_org.name, url=label_url(settings, cp))
        for cp, cp_org in rows
    ]
    title = f"检查点二维码标签  {org.name}" if org else "检查点二维码标签"
    pdf = await asyncio.to_thread(labels.label_sheet, sheet, title=title, printed_at=utcnow())
    filename = f"checkpoint-labels-{org.code}.pdf" if org else "checkpoint-labels.pdf"
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@api.route("GET", ONE, summary="检查点详情 One checkpoint", response=CheckpointOut)
async def get_checkpoint(ctx: Ctx, *, checkpoint_id: int) -> CheckpointOut:
    """With its map links (Baidu BD-09, Amap GCJ-02) once its position is bound."""
    checkpoint, org = await service.get_checkpoint(ctx.session, ctx.user, checkpoint_id)
    return _out(ctx, checkpoint, org)


@api.route(
    "PATCH",
    ONE,
    summary="修改检查点 Edit a checkpoint",
    body=CheckpointUpdate,
    response=CheckpointOut,
    problems={409: "The code is taken"},
)
async def update_checkpoint(
    ctx: Ctx, *, checkpoint_id: int, body: CheckpointUpdate
) -> CheckpointOut:
    """Only the fields sent change (null clears an optional one, e.g. `radius_m` back to
    the global default). Printed labels stay valid: they carry no checkpoint data."""
    checkpoint, org = await service.update_checkpoint(
        ctx.session, ctx.user, checkpoint_id, body, origin=origin_of(ctx)
    )
    return _out(ctx, checkpoint, org)


@api.route(
    "DELETE",
    ONE,
    summary="删除检查点 Delete a checkpoint registered by mistake",
    problems={409: "It has on-site check-ins: mark it as an exit point instead"},
)
async def delete_checkpoint(ctx: Ctx, *, checkpoint_id: int) -> None:
    await service.delete_checkpoint(ctx.session, ctx.user, checkpoint_id, origin=origin_of(ctx))


@api.route(
    "POST",
    ONE + "/exit",
    summary="标记退出点 Mark as an exit point",
    body=ExitIn,
    response=CheckpointOut,
)
async def exit_checkpoint(ctx: Ctx, *, checkpoint_id: int, body: ExitIn) -> CheckpointOut:
    """已退出 / 已核销 / 已结清 / 纯贴现用户; marking again changes the reason, date or note."""
    checkpoint, org = await service.mark_exit(
        ctx.session,
        ctx.user,
        checkpoint_id,
        reason=body.reason,
        exit_date=body.date,
        note=body.note,
        origin=origin_of(ctx),
    )
    return _out(ctx, checkpoint, org)


@api.route(
    "POST",
    ONE + "/reinstate",
    summary="恢复检查 Reinstate an exit point",
    response=CheckpointOut,
)
async def reinstate_checkpoint(ctx: Ctx, *, checkpoint_id: int) -> CheckpointOut:
    checkpoint, org = await service.reinstate(
        ctx.session, ctx.user, checkpoint_id, origin=origin_of(ctx)
    )
    return _out(ctx, checkpoint, org)


@api.route(
    "POST",
    ONE + "/reset-position",
    summary="重置GPS Reset the bound position",
    response=CheckpointOut,
)
async def reset_checkpoint_position(ctx: Ctx, *, checkpoint_id: int) -> CheckpointOut:
    """The next on-site check-in binds the position again."""
    checkpoint, org = await service.reset_position(
        ctx.session, ctx.user, checkpoint_id, origin=origin_of(ctx)
    )
    return _out(ctx, checkpoint, org)


@api.route("GET", ONE + "/qr", summary="二维码内容 What the QR label encodes", response=QrOut)
async def get_checkpoint_qr(ctx: Ctx, *, checkpoint_id: int) -> QrOut:
    checkpoint, _org = await service.get_checkpoint(ctx.session, ctx.user, checkpoint_id)
    return QrOut(url=label_url(ctx.app[SETTINGS], checkpoint), generation=checkpoint.qr_generation)


@api.route(
    "POST",
    ONE + "/qr/regenerate",
    summary="重新生成二维码 New QR code (old labels stop working)",
    response=QrOut,
)
async def regenerate_checkpoint_qr(ctx: Ctx, *, checkpoint_id: int) -> QrOut:
    """Labels printed before answer `qr_retired` (410) from now on: print new ones."""
    checkpoint, _org = await service.regenerate_qr(
        ctx.session, ctx.user, checkpoint_id, origin=origin_of(ctx)
    )
    return QrOut(url=label_url(ctx.app[SETTINGS], checkpoint), generation=checkpoint.qr_generation)


async def _qr_file(ctx: Ctx, checkpoint_id: int, extension: str) -> web.Response:
    checkpoint, _org = await service.get_checkpoint(ctx.session, ctx.user, checkpoint_id)
    url = label_url(ctx.app[SETTINGS], checkpoint)
    filename = f"{checkpoint.code}-qr{checkpoint.qr_generation}.{extension}"
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    if extension == "png":
        png = await asyncio.to_thread(qr.qr_png, url)
        return web.Response(body=png, content_type="image/png", headers=headers)
    svg = await asyncio.to_thread(qr.qr_svg, url)
    return web.Response(text=svg, content_type="image/svg+xml", headers=headers)


@api.route(
    "GET",
    ONE + "/qr.png",
    summary="二维码图片 QR code (PNG)",
    media_type="image/png",
)
async def get_checkpoint_qr_png(ctx: Ctx, *, checkpoint_id: int) -> web.Response:
    return await _qr_file(ctx, checkpoint_id, "png")


@api.route(
    "GET",
    ONE + "/qr.svg",
    summary="二维码图片 QR code (SVG)",
    media_type="image/svg+xml",
)
async def get_checkpoint_qr_svg(ctx: Ctx, *, checkpoint_id: int) -> web.Response:
    return await _qr_file(ctx, checkpoint_id, "svg")

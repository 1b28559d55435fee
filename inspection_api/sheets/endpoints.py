"""The briefing sheet (明白纸) over REST: its state, printing (the PDF), the supervisors'
opinions, unlock requests and their approval, the unlock report."""

from __future__ import annotations

import asyncio

from aiohttp import web

from inspection_api.auth.endpoints import origin_of
from inspection_api.auth.permissions import Permission, permissions_of
from inspection_api.orgs.models import Org
from inspection_api.sheets import service, unlocks
from inspection_api.sheets.models import UNLOCK_STATE_LABELS, UnlockRequest
from inspection_api.sheets.pdf import briefing_sheet_pdf
from inspection_api.sheets.schemas import (
    ApproveUnlockIn,
    OpinionIn,
    OpinionOut,
    RefuseUnlockIn,
    SheetOut,
    UnlockReportOut,
    UnlockReportQuery,
    UnlockRequestIn,
    UnlockRequestOut,
    UnlockRequestPage,
    UnlockRequestQuery,
)
from inspection_api.users.models import User
from inspection_api.web.keys import CLOCK, SETTINGS
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="sheets")

SHEET = "/api/v1/inspections/{inspection_id}/sheet"
REQUESTS = "/api/v1/sheet-unlock-requests"


def policy(ctx: Ctx) -> service.SheetPolicy:
    return service.SheetPolicy.of(ctx.app[SETTINGS])


async def request_out(
    ctx: Ctx, request: UnlockRequest, approver: Org | None = None, org: Org | None = None,
    checkpoint_name: str = "",
) -> UnlockRequestOut:  # fmt: skip
    approver = approver or await ctx.session.get(Org, request.approver_org_id)
    org = org or await ctx.session.get(Org, request.org_id)
    assert approver is not None and org is not None
    out = UnlockRequestOut.model_validate(request)
    return out.model_copy(
        update={
            "org_name": org.name,
            "approver_org_name": approver.name,
            "checkpoint_name": checkpoint_name,
            "state_label": UNLOCK_STATE_LABELS[request.state][0],
            "can_decide": unlocks.may_decide(ctx.user, request, approver.path),
        }
    )


@api.route("GET", SHEET, summary="明白纸状态 The briefing sheet's window, lock and opinions",
           response=SheetOut)  # fmt: skip
async def get_sheet(ctx: Ctx, *, inspection_id: int) -> SheetOut:
    """`locked` is true once the print deadline (inclusive) has passed without a print in
    the current window; `can_*` say what the caller may do now."""
    row, sheet = await service.sheet_view(ctx.session, policy(ctx), ctx.user, inspection_id)
    now = ctx.app[CLOCK]()
    locked = service.locked(sheet, now)
    requests = await service.requests_of(ctx.session, inspection_id)
    outs = [await request_out(ctx, r, org=row.org, checkpoint_name=row.checkpoint.name)
            for r in requests]  # fmt: skip
    pending = next((o for o in outs if o.state == "pending"), None)
    granted = permissions_of(ctx.user)
    unlocked_by = ""
    if sheet is not None and sheet.last_unlocked_by_user_id is not None:
        user = await ctx.session.get(User, sheet.last_unlocked_by_user_id)
        unlocked_by = user.display_name if user else ""
    return SheetOut(
        inspection_id=inspection_id,
        available=sheet is not None,
        print_deadline=sheet.print_deadline if sheet else None,
        locked=locked,
        printed_at=sheet.printed_at if sheet else None,
        first_printed_at=sheet.first_printed_at if sheet else None,
        print_count=sheet.print_count if sheet else 0,
        unlock_count=sheet.unlock_count if sheet else 0,
        last_unlocked_at=sheet.last_unlocked_at if sheet else None,
        last_unlocked_by_name=unlocked_by,
        pending_request=pending,
        unlock_requests=outs,
        opinions=[
            OpinionOut.model_validate(o)
            for o in await service.opinions_of(ctx.session, inspection_id)
        ],
        can_print=sheet is not None and not locked and Permission.SHEET_PRINT in granted,
        can_request_unlock=locked and pending is None and Permission.SHEET_PRINT in granted,
        can_write_opinion=not locked and service.may_write_opinion(ctx.user, row.inspection),
        pdf_url=f"/api/v1/inspections/{inspection_id}/sheet/print",
    )


@api.route(
    "POST",
    SHEET + "/print",
    summary="打印明白纸 Print the briefing sheet (one-page A4 PDF)",
    media_type="application/pdf",
    problems={
        409: "Not submitted yet (sheet_not_available)",
        423: "Past the print deadline, unprinted: locked (sheet_locked)",
    },
)
async def print_sheet(ctx: Ctx, *, inspection_id: int) -> web.Response:
    """Records the print (a print inside the window keeps the sheet from locking) and
    returns the PDF, with its Chinese font embedded."""
    now = ctx.app[CLOCK]()
    content = await service.print_sheet(
        ctx.session, policy(ctx), ctx.user, inspection_id, now=now, origin=origin_of(ctx)
    )
    pdf = await asyncio.to_thread(briefing_sheet_pdf, content)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="briefing-sheet-{inspection_id}.pdf"'},
    )


@api.route(
    "POST",
    "/api/v1/inspections/{inspection_id}/supervisor-opinions",
    summary="填写上级管理条线意见 Add a supervisor opinion",
    body=OpinionIn,
    response=OpinionOut,
    status=201,
    problems={423: "The sheet is locked (sheet_locked)"},
)
async def add_supervisor_opinion(ctx: Ctx, *, inspection_id: int, body: OpinionIn) -> OpinionOut:
    """By the managers above (`sheet.opinion`: 机构管理员, 审核人), never on an inspection one
    ran (403 `own_inspection_opinion`); kept with author, org and time, audited."""
    opinion = await service.add_opinion(
        ctx.session, policy(ctx), ctx.user, inspection_id, body.text,
        now=ctx.app[CLOCK](), origin=origin_of(ctx),
    )  # fmt: skip
    return OpinionOut.model_validate(opinion)


@api.route(
    "POST",
    SHEET + "/unlock-requests",
    summary="申请解锁 Ask the superior to unlock a locked briefing sheet",
    body=UnlockRequestIn,
    response=UnlockRequestOut,
    status=201,
    problems={409: "Not locked, or a request is already pending"},
)
async def request_unlock(
    ctx: Ctx, *, inspection_id: int, body: UnlockRequestIn
) -> UnlockRequestOut:
    """The approvers (机构管理员 of the org LOANCHECK_SHEET_UNLOCK_APPROVER_LEVELS above the
    支行) get it in their inbox and live in the console."""
    request = await unlocks.request_unlock(
        ctx.session, policy(ctx), ctx.user, inspection_id, body.reason,
        now=ctx.app[CLOCK](), origin=origin_of(ctx),
    )  # fmt: skip
    return await request_out(ctx, request)


@api.route("GET", REQUESTS, summary="明白纸解锁申请 Unlock requests to decide, and mine",
           query=UnlockRequestQuery, response=UnlockRequestPage)  # fmt: skip
async def list_unlock_requests(ctx: Ctx, *, query: UnlockRequestQuery) -> UnlockRequestPage:
    """Pending first. With `sheet.unlock`: those whose approver org is in the jurisdiction;
    everyone: their own."""
    rows, total = await unlocks.list_requests(
        ctx.session, ctx.user, state=query.state, offset=query.offset, limit=query.limit
    )
    items = [await request_out(ctx, r, approver, org, name) for r, approver, org, name in rows]
    return UnlockRequestPage.of(items, total, query)


async def _decided(ctx: Ctx, request_id: int, approve: bool, comment: str) -> UnlockRequestOut:
    request = await unlocks.decide(
        ctx.session, policy(ctx), ctx.user, request_id, approve=approve, comment=comment,
        now=ctx.app[CLOCK](), origin=origin_of(ctx),
    )  # fmt: skip
    return await request_out(ctx, request)


@api.route("POST", REQUESTS + "/{request_id}/approve", summary="同意解锁 Approve an unlock",
           body=ApproveUnlockIn, response=UnlockRequestOut,
           problems={409: "Already decided (unlock_state_conflict)"})  # fmt: skip
async def approve_unlock(ctx: Ctx, *, request_id: int, body: ApproveUnlockIn) -> UnlockRequestOut:
    """Opens the print window again for LOANCHECK_SHEET_UNLOCK_HOURS and counts the unlock
    (who, when, how many times). Never one's own request (403 `own_unlock_request`)."""
    return await _decided(ctx, request_id, True, body.comment)


@api.route("POST", REQUESTS + "/{request_id}/refuse", summary="拒绝解锁 Refuse an unlock",
           body=RefuseUnlockIn, response=UnlockRequestOut,
           problems={409: "Already decided (unlock_state_conflict)"})  # fmt: skip
async def refuse_unlock(ctx: Ctx, *, request_id: int, body: RefuseUnlockIn) -> UnlockRequestOut:
    """With the reason (`comment`, required); the sheet stays locked."""
    return await _decided(ctx, request_id, False, body.comment)


@api.route("GET", "/api/v1/sheet-unlock-report", summary="解锁统计 Unlocks per org and person",
           query=UnlockReportQuery, response=UnlockReportOut)  # fmt: skip
async def unlock_report(ctx: Ctx, *, query: UnlockReportQuery) -> UnlockReportOut:
    """Requests of the jurisdiction (or `org_id`'s subtree), requested in [`since`,
    `until`), counted per org, per requester and per approver; `approved` is 解锁次数."""
    report = await unlocks.unlock_report(
        ctx.session, ctx.user, org_id=query.org_id, since=query.since, until=query.until
    )
    return UnlockReportOut.model_validate(report)

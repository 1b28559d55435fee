"""企业自检 offline over REST: tus uploads and the sync under the invite link.

The link is the credential and ``X-Device-Id`` the phone it is bound to, as for the online
self-check (``selfcheck_endpoints``); an upload made by a link is the link's alone. The tus
work is the staff endpoints' (``uploads.endpoints``), the sync the staff sync's
(``sync`` through ``selfcheck_sync.Link``).
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from inspection_api.auth.endpoints import origin_of
from inspection_api.db import utcnow
from inspection_api.inspections import selfcheck_sync
from inspection_api.inspections.endpoints import hooks
from inspection_api.inspections.errors import SelfCheckLinkClosed
from inspection_api.inspections.selfcheck_endpoints import DEVICE_HEADER, ONE, TOKEN
from inspection_api.inspections.sync_endpoints import offline_item, sync_out, sync_sessions
from inspection_api.inspections.sync_records import Receipt
from inspection_api.inspections.sync_schemas import SelfCheckSyncIn, SyncOut
from inspection_api.uploads import endpoints as tus
from inspection_api.uploads import service as uploads
from inspection_api.web.keys import INSPECTION_SUBMITTED, SESSIONMAKER, SETTINGS
from inspection_api.web.problems import request_lang
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="self-checks")

UPLOADS = ONE + "/uploads"
UPLOAD = UPLOADS + "/{upload_id}"
TOKEN_ID: dict[str, type] = {**TOKEN, "upload_id": str}
_PROBLEMS = {
    404: "Not a valid link (invite_not_found), or not this link's upload",
    409: "The link is in use on another phone (invite_in_use)",
    410: "The link expired or was revoked (self_check_link_closed)",
}


async def _owner(ctx: Ctx, token: str) -> uploads.Owner:
    invite = await selfcheck_sync.admit(
        ctx.session, token, ctx.request.headers.get(DEVICE_HEADER, ""), now=utcnow()
    )
    return selfcheck_sync.owner(invite)


@api.route(
    "OPTIONS",
    UPLOADS,
    summary="自检上传协议能力 tus capabilities (public)",
    public=True,
    path_types=TOKEN,
)
async def self_check_upload_options(ctx: Ctx, *, token: str) -> web.Response:
    return tus.options_for(ctx)


@api.route(
    "POST",
    UPLOADS,
    summary="自检创建可续传上传 Create a resumable upload by the link (public, tus)",
    status=201,
    public=True,
    path_types=TOKEN,
    problems={**_PROBLEMS, 412: "Tus-Resumable is not 1.0.0", 413: "Too large"},
)
async def create_self_check_upload(ctx: Ctx, *, token: str) -> web.Response:
    """As `POST /api/v1/uploads`, the upload owned by the link."""
    owner = await _owner(ctx, token)
    return await tus.create_for(ctx, owner, UPLOADS.replace("{token}", quote(token, safe="")))


@api.route(
    "HEAD",
    UPLOAD,
    summary="自检上传进度 Offset of a link's upload (public)",
    public=True,
    path_types=TOKEN_ID,
    problems=_PROBLEMS,
)
async def self_check_upload_offset(ctx: Ctx, *, token: str, upload_id: str) -> web.Response:
    return await tus.offset_for(ctx, await _owner(ctx, token), upload_id)


@api.route(
    "PATCH",
    UPLOAD,
    summary="自检上传分块 Append a chunk to a link's upload (public)",
    status=204,
    public=True,
    path_types=TOKEN_ID,
    problems={**_PROBLEMS, 460: "Upload-Checksum mismatch"},
)
async def self_check_upload_chunk(ctx: Ctx, *, token: str, upload_id: str) -> web.Response:
    return await tus.chunk_for(ctx, await _owner(ctx, token), upload_id)


@api.route(
    "DELETE",
    UPLOAD,
    summary="自检放弃上传 Terminate a link's upload (public)",
    status=204,
    public=True,
    path_types=TOKEN_ID,
    problems=_PROBLEMS,
)
async def terminate_self_check_upload(ctx: Ctx, *, token: str, upload_id: str) -> web.Response:
    return await tus.terminate_for(ctx, await _owner(ctx, token), upload_id)


@api.route(
    "POST",
    ONE + "/sync",
    summary="企业自检离线同步 Sync a self-check made offline (public)",
    body=SelfCheckSyncIn,
    response=SyncOut,
    public=True,
    path_types=TOKEN,
    problems=_PROBLEMS,
)
async def sync_self_check(ctx: Ctx, *, token: str, body: SelfCheckSyncIn) -> SyncOut:
    """The link's one self-check, as the staff sync (`POST /api/v1/offline/sync`) lands an
    inspection: idempotent by the phone's UUIDs, the same checks as online at the phone's
    times. The link must be open when the sync arrives (before its end, not revoked): else
    410 `self_check_link_closed` and nothing is stored. Another record of the same
    self-check (or one submitted online) is refused: `self_check_synced_elsewhere`."""
    received_at = utcnow()
    receipt = Receipt(sent_at=body.sent_at, received_at=received_at)
    sessions = ctx.app[SESSIONMAKER]
    device_id = ctx.request.headers.get(DEVICE_HEADER, "")
    item = offline_item(body.inspections[0], device_id)
    try:
        link = await selfcheck_sync.link_for_sync(sessions, token, device_id, now=received_at)
    except SelfCheckLinkClosed:
        # Landed before the link closed, and the phone missed the answer: say it again.
        landed = await selfcheck_sync.landed_before(sessions, token, device_id, item)
        if landed is None:
            raise
        return sync_out(receipt, [landed], request_lang(ctx.request))
    outcome = await selfcheck_sync.sync_self_check(
        sync_sessions(ctx),  # its submit's pushes delivered as an online submit's
        ctx.app[SETTINGS],
        link,
        item,
        receipt,
        origin=origin_of(ctx),
        submitted=hooks(ctx, INSPECTION_SUBMITTED),
    )
    return sync_out(receipt, [outcome], request_lang(ctx.request))

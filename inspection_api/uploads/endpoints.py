"""The tus 1.0.0 endpoints (core, creation, checksum, termination) under /api/v1/uploads.

Answers are empty bodies with tus headers; errors are problem+json that also name the
protocol version. A chunk is read whole (up to 16 MiB) and checked before it is stored.
"""

from __future__ import annotations

from aiohttp import ClientPayloadError, web

from inspection_api.auth.principal import Principal
from inspection_api.db import utcnow
from inspection_api.errors import FieldError, PayloadTooLarge, ValidationFailed
from inspection_api.uploads import service
from inspection_api.uploads.errors import TUS_VERSION, TusVersionUnsupported
from inspection_api.uploads.models import ResumableUpload
from inspection_api.web.keys import SETTINGS, STORE
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="uploads")

UPLOADS = "/api/v1/uploads"
ONE = UPLOADS + "/{upload_id}"
ID: dict[str, type] = {"upload_id": str}
OFFSET_STREAM = "application/offset+octet-stream"


def _tus_headers(ctx: Ctx) -> dict[str, str]:
    limit = ctx.app[SETTINGS].evidence_max_mb * 1024 * 1024
    return {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": "creation,creation-with-upload,checksum,termination",
        "Tus-Checksum-Algorithm": "sha1,sha256",
        "Tus-Max-Size": str(limit),
        # Not tus: the chunk size the web client uses (S3's smallest part).
        "Upload-Chunk-Size": str(service.CHUNK_BYTES),
    }


def _require_tus(ctx: Ctx) -> None:
    got = ctx.request.headers.get("Tus-Resumable")
    if got != TUS_VERSION:
        raise TusVersionUnsupported(got=got or "（无）")


def _header_int(ctx: Ctx, name: str) -> int:
    raw = ctx.request.headers.get(name, "")
    if not raw.isdigit() or len(raw) > 15:
        raise ValidationFailed(
            [FieldError(f"header.{name}", "须为非负整数", "must be a non-negative integer")]
        )
    return int(raw)


def _state(upload: ResumableUpload) -> dict[str, str]:
    return {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Cache-Control": "no-store",
    }


async def _chunk(ctx: Ctx) -> bytes:
    """The request body, whole: at most MAX_CHUNK_BYTES, and as long as it said."""
    limit = service.MAX_CHUNK_BYTES
    if (ctx.request.content_length or 0) > limit:
        raise PayloadTooLarge(limit=limit)
    # The body arrives in socket-sized pieces: kept in a list and joined once, not
    # concatenated piece by piece (quadratic copying for a 5 MiB chunk).
    pieces: list[bytes] = []
    size = 0
    try:
        while size <= limit and not ctx.request.content.at_eof():
            more = await ctx.request.content.read(limit + 1 - size)
            if not more:
                break
            pieces.append(more)
            size += len(more)
    except (ConnectionResetError, ClientPayloadError):
        # The phone lost its network mid-chunk: nothing of it is stored.
        raise ValidationFailed(
            [FieldError("body", "分块不完整", "the chunk arrived incomplete")]
        ) from None
    data = b"".join(pieces)
    if len(data) > limit:
        raise PayloadTooLarge(limit=limit)
    if ctx.request.content_length is not None and len(data) != ctx.request.content_length:
        raise ValidationFailed(  # cut short: nothing of it is stored
            [FieldError("body", "分块不完整", "the chunk arrived incomplete")]
        )
    return data


@api.route("OPTIONS", UPLOADS, summary="上传协议能力 tus capabilities", public=True)
async def upload_options(ctx: Ctx) -> web.Response:
    return options_for(ctx)


def options_for(ctx: Ctx) -> web.Response:
    return web.Response(status=204, headers=_tus_headers(ctx))


@api.route(
    "POST",
    UPLOADS,
    summary="创建可续传上传 Create a resumable upload (tus creation)",
    status=201,
    problems={412: "Tus-Resumable is not 1.0.0", 413: "Longer than LOANCHECK_EVIDENCE_MAX_MB"},
)
async def create_upload(ctx: Ctx) -> web.Response:
    """`Upload-Length` and `Upload-Metadata` (base64 values: `client_uuid` required, the
    phone's UUID of the file; `sha256` hex; `filetype`). Creating the same `client_uuid`
    again answers the same upload and its offset (200)."""
    return await create_for(ctx, ctx.user, UPLOADS)


# The handlers' work, for an owner (a staff member, or a self-check link's ``Owner``) and
# the collection its uploads live under: the self-check link's tus endpoints share it.
UploadOwner = Principal | service.Owner


async def create_for(ctx: Ctx, owner: UploadOwner, base: str) -> web.Response:
    _require_tus(ctx)
    with_body = ctx.request.content_type == OFFSET_STREAM
    upload, created = await service.create(
        ctx.session,
        ctx.app[STORE],
        owner,
        length=_header_int(ctx, "Upload-Length"),
        metadata=service.parse_metadata(ctx.request.headers.get("Upload-Metadata", "")),
        limit_mb=ctx.app[SETTINGS].evidence_max_mb,
        # creation-with-upload: a small file goes up with its creation, in one request.
        first=await _chunk(ctx) if with_body else None,
        checksum=ctx.request.headers.get("Upload-Checksum"),
    )
    headers = {**_state(upload), "Location": f"{base}/{upload.id}"}
    return web.Response(status=201 if created else 200, headers=headers)


@api.route("HEAD", ONE, summary="上传进度 Offset of an upload", path_types=ID)
async def upload_offset(ctx: Ctx, *, upload_id: str) -> web.Response:
    return await offset_for(ctx, ctx.user, upload_id)


async def offset_for(ctx: Ctx, owner: UploadOwner, upload_id: str) -> web.Response:
    _require_tus(ctx)
    upload = await service.get(ctx.session, owner, upload_id)
    return web.Response(status=200, headers=_state(upload))


@api.route(
    "PATCH",
    ONE,
    summary="上传分块 Append a chunk at Upload-Offset",
    status=204,
    path_types=ID,
    problems={409: "Upload-Offset is not the server's", 460: "Upload-Checksum mismatch"},
)
async def upload_chunk(ctx: Ctx, *, upload_id: str) -> web.Response:
    """`Content-Type: application/offset+octet-stream`, `Upload-Offset` (what HEAD says),
    optionally `Upload-Checksum: sha256 <base64>`. The chunk is stored whole or not at all."""
    return await chunk_for(ctx, ctx.user, upload_id)


async def chunk_for(ctx: Ctx, owner: UploadOwner, upload_id: str) -> web.Response:
    _require_tus(ctx)
    if ctx.request.content_type != OFFSET_STREAM:
        raise ValidationFailed(
            [FieldError("header.Content-Type", f"须为 {OFFSET_STREAM}", f"must be {OFFSET_STREAM}")]
        )
    offset = _header_int(ctx, "Upload-Offset")
    upload = await service.get(ctx.session, owner, upload_id)
    data = await _chunk(ctx)
    await service.append(
        ctx.session,
        ctx.app[STORE],
        upload,
        offset=offset,
        data=data,
        checksum=ctx.request.headers.get("Upload-Checksum"),
        now=utcnow(),
    )
    return web.Response(status=204, headers=_state(upload))


@api.route("DELETE", ONE, summary="放弃上传 Terminate an upload", status=204, path_types=ID)
async def terminate_upload(ctx: Ctx, *, upload_id: str) -> web.Response:
    return await terminate_for(ctx, ctx.user, upload_id)


async def terminate_for(ctx: Ctx, owner: UploadOwner, upload_id: str) -> web.Response:
    _require_tus(ctx)
    upload = await service.get(ctx.session, owner, upload_id)
    await service.terminate(ctx.session, ctx.app[STORE], upload)
    return web.Response(status=204, headers={"Tus-Resumable": TUS_VERSION})

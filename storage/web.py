"""HTTP side of ``LocalObjectStore``: the ``/objects/{key}`` routes its signed URLs point at.

GET/HEAD serve the file with ``web.FileResponse`` (Range requests, conditional requests);
PUT streams the body into the store. With any other store configured the routes answer 404.
A refusal (a bad or expired signature, no such object, too large) is said by the ``refusal``
the app passes (the platform's: problem+json in the asker's language), else as plain text.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import hdrs, web

from storage.errors import (
    InvalidKey,
    ObjectNotFound,
    ObjectTooLarge,
    SignatureExpired,
    SignatureInvalid,
    StorageError,
)
from storage.keys import content_disposition, validate_key
from storage.local import DEFAULT_CONTENT_TYPE, LocalObjectStore

OBJECT_ROUTE = "/objects/{key:.+}"
# (request, status, error) → the response that refuses the request.
Refusal = Callable[[web.Request, int, StorageError], web.StreamResponse]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ObjectFileResponse(web.FileResponse):
    """A ``FileResponse`` that never serves a pre-compressed sibling: in an object store
    ``x.gz`` is another object, not ``x`` gzipped."""

    def _get_file_path_stat_encoding(
        self, accept_encoding: str
    ) -> tuple[Path | None, os.stat_result, str | None]:
        return super()._get_file_path_stat_encoding("")


class Refused(Exception):
    """A request the routes refuse with ``status`` because of ``error``."""

    def __init__(self, status: int, error: StorageError) -> None:
        super().__init__(status, error)
        self.status = status
        self.error = error


def plain_refusal(request: web.Request, status: int, error: StorageError) -> web.Response:
    """The error's text; for a bad key the rule, never the key: a crafted link must not make
    the platform's own origin echo text the link's author wrote."""
    if status == 400 and isinstance(error, InvalidKey):
        return web.Response(status=status, text=f"invalid object key: {error.reason}")
    return web.Response(status=status, text=str(error))


def bad_key(exc: InvalidKey) -> Refused:
    return Refused(400, exc)


def setup_object_routes(
    app: web.Application, store_key: web.AppKey[Any], *, refusal: Refusal = plain_refusal
) -> None:
    """Add ``GET``/``HEAD``/``PUT /objects/{key}``; the store is looked up per request, so it
    may be created later (in ``cleanup_ctx``)."""

    def refusing(handler: Handler) -> Handler:
        async def answer(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except Refused as refused:
                return refusal(request, refused.status, refused.error)

        return answer

    def local_store(request: web.Request) -> tuple[LocalObjectStore, str]:
        store = request.config_dict.get(store_key)
        if not isinstance(store, LocalObjectStore):
            raise web.HTTPNotFound()
        key = request.match_info["key"]
        try:
            validate_key(key)
        except InvalidKey as exc:
            raise bad_key(exc) from None
        return store, key

    def verify(request: web.Request, store: LocalObjectStore, key: str, **signed: Any) -> int:
        query = request.query
        try:
            return store.verify(
                request.method, key, query.get("expires", ""), query.get("sig", ""), **signed
            )
        except (SignatureInvalid, SignatureExpired) as exc:
            raise Refused(403, exc) from None

    async def get_object(request: web.Request) -> web.StreamResponse:
        store, key = local_store(request)
        filename = request.query.get("filename") or None
        deadline = verify(request, store, key, filename=filename)
        try:
            path, info = await store.locate(key)
        except ObjectNotFound as exc:
            raise Refused(404, exc) from None
        except InvalidKey as exc:  # a symlink leading out of the store
            raise bad_key(exc) from None
        headers = {
            hdrs.CONTENT_TYPE: info.content_type,
            # The URL stops working at its deadline, so nothing may cache it for longer.
            hdrs.CACHE_CONTROL: f"private, max-age={max(0, deadline - int(time.time()))}",
        }
        if filename:
            headers[hdrs.CONTENT_DISPOSITION] = content_disposition(filename)
        return ObjectFileResponse(path, headers=headers)

    async def put_object(request: web.Request) -> web.Response:
        store, key = local_store(request)
        content_type = request.headers.get(hdrs.CONTENT_TYPE) or DEFAULT_CONTENT_TYPE
        verify(request, store, key, content_type=content_type)
        limit = store.max_put_bytes
        if request.content_length is not None and request.content_length > limit:
            raise Refused(413, ObjectTooLarge(limit))
        try:
            await store.put_stream(key, request.content.iter_any(), content_type)
        except ObjectTooLarge as exc:
            raise Refused(413, exc) from None
        except InvalidKey as exc:  # the key clashes with the directory layout of the files
            raise Refused(409, exc) from None
        return web.Response(status=200)

    app.router.add_get(OBJECT_ROUTE, refusing(get_object), name="storage-object")
    app.router.add_put(OBJECT_ROUTE, refusing(put_object))

"""Files the API hands out to be saved (the supervision and audit exports): written whole to a
temporary file first, so a failure is an error response and never half a file, then streamed,
named in Chinese with an ASCII name for clients that read only ``filename``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import IO

from aiohttp import web

from storage.keys import content_disposition

CHUNK = 256 * 1024


async def chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    """The finished file, read in a worker thread; closed (and so gone) at the end."""
    try:
        while block := await asyncio.to_thread(handle.read, CHUNK):
            yield block
    finally:
        handle.close()


def download(
    handle: IO[bytes], *, name: str, fallback: str, content_type: str, charset: str | None = None
) -> web.Response:
    """The response that streams ``handle`` as an attachment called ``name``."""
    return web.Response(
        body=chunks(handle),
        content_type=content_type,
        charset=charset,
        headers={"Content-Disposition": content_disposition(name, fallback=fallback)},
    )

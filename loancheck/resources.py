"""Resources the composition root opens from ``Settings`` and closes on shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from inspection_api.tokens import derived_key
from loancheck.settings import Settings
from storage.base import ObjectStore
from storage.local import LocalObjectStore
from storage.s3 import S3ObjectStore


async def open_store(settings: Settings) -> ObjectStore:
    """The object store ``settings.object_store`` names: ``file://PATH`` (created if missing)
    or ``s3://BUCKET`` (the bucket is created if missing)."""
    url = urlsplit(settings.object_store)
    if url.scheme == "s3":
        store = S3ObjectStore(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key,
            bucket=url.netloc,
            region=settings.s3_region,
            public_endpoint=settings.s3_public_endpoint or None,
        )
        try:
            await store.ensure_bucket()
        except BaseException:
            await store.close()
            raise
        return store
    # file:///abs/path, or file://relative/path (the "host" is the first segment).
    local = "" if url.netloc in ("", "localhost") else url.netloc
    root = Path(url2pathname(local + url.path))
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    # A key of its own, so an object URL signature can never stand in for another token.
    secret = derived_key(settings.secret_key, "loancheck object URLs")
    return LocalObjectStore(root, base_url=settings.public_url, secret=secret)

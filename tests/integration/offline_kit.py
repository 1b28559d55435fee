"""An offline inspection as a phone holds it: captures uploaded by tus, one sync batch."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from inspection_api.checkpoints.geo import Point
from inspection_api.db import utcnow
from tests.integration.inspection_kit import (
    CA_0001,
    COMPLETE,
    PHOTOS,
    jpeg,
    ogg_audio,
    sha256,
    webm_video,
)
from tests.integration.tus_client import TusUpload
from tests.plugins.api import json_of

SYNC = "/api/v1/offline/sync"


def fix_at(at: datetime, point: Point = CA_0001, accuracy: float = 8.0) -> dict[str, Any]:
    return {
        "latitude": point.latitude,
        "longitude": point.longitude,
        "accuracy": accuracy,
        "captured_at": (at - timedelta(seconds=2)).isoformat(),
    }


def captures(media: bool = True) -> list[tuple[str, str, bytes, str]]:
    """(item key, kind, bytes, MIME type) the default 明白纸 needs, plus a video and a clip."""
    found = []
    for n, (item_key, count) in enumerate(PHOTOS.items()):
        for k in range(count):
            found.append((item_key, "photo", jpeg(seed=500 + 100 * n + k), "image/jpeg"))
    if media:
        found.append(("operating_status", "video", webm_video(), "video/webm"))
        found.append(("utilities", "audio", ogg_audio(), "audio/ogg"))
    return found


async def phone_inspection(
    user: Any,
    qr: str,
    *,
    started: datetime | None = None,
    at: Point = CA_0001,
    media: bool = True,
    submit: bool = True,
    upload: bool = True,
    files: list[tuple[str, str, bytes, str]] | None = None,
    uploads: str = "/api/v1/uploads",
) -> dict[str, Any]:
    """One inspection as the phone's outbox holds it, its files uploaded (when ``upload``)."""
    started = started or utcnow() - timedelta(minutes=5)
    evidence = []
    for n, (item_key, kind, data, mime) in enumerate(files or captures(media)):
        tus = TusUpload(user, data, filetype=mime, uploads=uploads)
        if upload:
            await tus.create()
            await tus.send()
        captured = started + timedelta(seconds=10 + n)
        evidence.append(
            {
                "client_uuid": str(uuid.uuid4()),
                "item_key": item_key,
                "kind": kind,
                "upload_id": tus.upload_id if upload else "0" * 32,
                "sha256": sha256(data),
                "captured_at": captured.isoformat(),
                "fix": fix_at(captured, at),
            }
        )
    item: dict[str, Any] = {
        "client_uuid": str(uuid.uuid4()),
        "qr": qr,
        "scan_fix": fix_at(started, at),
        "started_at": started.isoformat(),
        "answers": COMPLETE,
        "evidence": evidence,
    }
    if submit:
        done = started + timedelta(minutes=2)
        item["submit"] = {"fix": fix_at(done, at), "submitted_at": done.isoformat()}
    return item


async def sync(user: Any, *items: dict[str, Any], sent_at: datetime | None = None) -> Any:
    body = {
        "sent_at": (sent_at or utcnow()).isoformat(),
        "device_id": "test-phone-1",
        "inspections": list(items),
    }
    return await json_of(await user.post(SYNC, json=body), 200)

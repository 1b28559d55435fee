"""Helpers for the inspection tests: real media files (Pillow JPEG/PNG, PyAV WebM and Ogg),
fixes near the demo checkpoints, and the API calls every test makes."""

from __future__ import annotations

import hashlib
import io
import math
import random
import struct
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import av
from geopy.distance import geodesic
from PIL import Image

from inspection_api.checkpoints.geo import Point
from inspection_api.db import utcnow
from tests.plugins.api import json_of

URL = "/api/v1/inspections"
CA_0001 = Point(38.0503, 114.5219)  # 华北重工厂区, bound by the demo data (radius 200 m)

# The default 明白纸, answered completely (nothing fires but what a test changes).
COMPLETE: dict[str, Any] = {
    "operating_status": "正常",
    "utilities": {"electricity": 12000.5},
    "tax_paid_ytd": 35.2,
    "payroll": {"headcount": 120, "amount": 96.5},
    "credit_share_change": {"increase": 50},
    "settlement_inflow": 800.25,
    "deposits": {"balance": 300, "change_ytd": -20},
    "other_bank_overdue": False,
    "litigation": False,
    "controller_unreachable": False,
    "controller_credit_abnormal": False,
    "controller_adverse_event": False,
    "collateral_adverse_change": False,
    "guarantor_overdue": False,
    "guarantor_litigation": False,
    "license_invalid": False,
    "conclusion": "normal",
}
# Its evidence requirements (验证方式): photos per item.
PHOTOS = {
    "operating_status": 2,
    "utilities": 1,
    "tax_paid_ytd": 1,
    "collateral_adverse_change": 1,
    "license_invalid": 1,
}


def moved(point: Point, metres: float, bearing: float = 90.0) -> Point:
    there = geodesic(meters=metres).destination((point.latitude, point.longitude), bearing)
    return Point(there.latitude, there.longitude)


def fix(point: Point = CA_0001, accuracy: float = 8.0, age_s: float = 2.0) -> dict[str, Any]:
    return {
        "latitude": point.latitude,
        "longitude": point.longitude,
        "accuracy": accuracy,
        "captured_at": (utcnow() - timedelta(seconds=age_s)).isoformat(),
    }


def jpeg(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    noise = random.Random(seed).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, noise).save(out, "JPEG")
    return out.getvalue()


def png(seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 255, 10, 10)).save(out, "PNG")
    return out.getvalue()


def webm_video(frames: int = 6) -> bytes:
    """A real VP8 WebM, as MediaRecorder makes them."""
    out = io.BytesIO()
    with av.open(out, "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for n in range(frames):
            image = Image.new("RGB", (64, 48), (n * 30 % 255, 80, 160))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def ogg_audio() -> bytes:
    """A real Opus clip in Ogg (what Firefox's MediaRecorder makes)."""
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        for chunk in range(25):  # half a second of a tone, 20 ms frames
            samples = [int(math.sin((chunk * 960 + i) / 20) * 8000) for i in range(960)]
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            frame.planes[0].update(struct.pack(f"<{len(samples)}h", *samples))
            frame.sample_rate = 48000
            frame.time_base = Fraction(1, 48000)
            frame.pts = chunk * 960
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def label(user: Any, checkpoint_id: int) -> str:
    return str(
        (await json_of(await user.get(f"/api/v1/checkpoints/{checkpoint_id}/qr"), 200))["url"]
    )


async def start(
    user: Any, qr: str, body_fix: dict[str, Any] | None = None, status: int = 201
) -> Any:
    body = {"qr": qr, "fix": body_fix or fix()}
    return await json_of(await user.post(f"{URL}/on-site", json=body), status)


def evidence_params(
    item_key: str,
    data: bytes,
    *,
    kind: str = "photo",
    digest: str | None = None,
    captured_at: datetime | None = None,
    at: Point | None = CA_0001,
    accuracy: float = 9.0,
    fix_age_s: float = 1.0,
) -> dict[str, str]:
    captured = captured_at or utcnow()
    params = {
        "item_key": item_key,
        "kind": kind,
        "sha256": digest or sha256(data),
        "captured_at": captured.isoformat(),
        "device_id": "test-phone-1",
    }
    if at is not None:
        params.update(
            latitude=str(at.latitude),
            longitude=str(at.longitude),
            accuracy=str(accuracy),
            fix_captured_at=(captured - timedelta(seconds=fix_age_s)).isoformat(),
        )
    return params


async def upload(
    user: Any,
    path: str,
    item_key: str,
    data: bytes,
    mime: str = "image/jpeg",
    status: int = 201,
    **options: Any,
) -> Any:
    """POST ``data`` to ``{path}/evidence`` (an inspection or a self-check link)."""
    response = await user.post(
        f"{path}/evidence",
        params=evidence_params(item_key, data, **options),
        data=data,
        headers={"Content-Type": mime},
    )
    return await json_of(response, status)


async def capture_all(
    user: Any, path: str, photos: dict[str, int] = PHOTOS, seed: int = 0, **options: Any
) -> list[Any]:
    """The photos the default 明白纸 requires, each a different JPEG (per ``seed``)."""
    done = []
    for n, (item_key, count) in enumerate(photos.items()):
        for k in range(count):
            data = jpeg(seed=seed + 100 * n + k)
            done.append(await upload(user, path, item_key, data, **options))
    return done

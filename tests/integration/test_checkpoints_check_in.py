"""On-site check-in by QR scan over real HTTP: the first fix binds the GPS position, later
ones are verified against the radius, bad fixes are refused with the reason and change
nothing, 重置GPS lets the next scan bind again; and the service calls other domains make."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import timedelta
from typing import Any

from geopy.distance import geodesic
from sqlalchemy import select

from inspection_api.audit.models import AuditEvent
from inspection_api.auth.permissions import Permission
from inspection_api.checkpoints import service
from inspection_api.checkpoints.errors import OutOfRange
from inspection_api.checkpoints.geo import Fix, Point
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from tests.integration.anomaly_support import principal
from tests.integration.test_checkpoints import URL, ids_by_code
from tests.plugins.api import json_of

SITE = Point(38.0441, 114.5302)  # where 冀中纺织成品仓库 (CA-0002) really is


def moved(point: Point, metres: float, bearing: float = 45.0) -> Point:
    there = geodesic(meters=metres).destination((point.latitude, point.longitude), bearing)
    return Point(there.latitude, there.longitude)


def fix(point: Point = SITE, accuracy: float = 12.5, age_s: float = 3.0) -> dict[str, Any]:
    return {
        "latitude": point.latitude,
        "longitude": point.longitude,
        "accuracy": accuracy,
        "captured_at": (utcnow() - timedelta(seconds=age_s)).isoformat(),
    }


async def scan(user: Any, qr: str, body_fix: dict[str, Any], status: int = 200) -> Any:
    return await json_of(
        await user.post(f"{URL}/check-in", json={"qr": qr, "fix": body_fix}), status
    )


async def label(user: Any, checkpoint_id: int) -> str:
    return (await json_of(await user.get(f"{URL}/{checkpoint_id}/qr"), 200))["url"]


async def test_first_scan_binds_then_scans_are_verified_against_the_radius(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    qr = await label(inspector, ids["CA-0002"])

    first = await scan(inspector, qr, fix())
    assert first["result"] == {
        "outcome": "bound",
        "distance_m": 0.0,
        "radius_m": 200,
        "accuracy_m": 12.5,
    }
    checkpoint = first["checkpoint"]
    assert (checkpoint["code"], checkpoint["latitude"], checkpoint["longitude"]) == (
        "CA-0002",
        SITE.latitude,
        SITE.longitude,
    )
    assert checkpoint["bound_at"] is not None
    assert "coord_type=bd09ll" in checkpoint["navigation"]["baidu"]
    assert "coordinate=gaode" in checkpoint["navigation"]["amap"]

    near = await scan(inspector, qr, fix(moved(SITE, 150)))
    assert near["result"]["outcome"] == "verified"
    assert near["result"]["distance_m"] == 150.0
    assert near["checkpoint"]["latitude"] == SITE.latitude  # the bound position stays

    far_point = moved(SITE, 349.6)
    far = await scan(inspector, qr, fix(far_point), status=422)
    distance = math.ceil(geodesic(far_point, SITE).meters)
    assert distance == 350
    assert (far["code"], far["detail"]) == (
        "location_out_of_range",
        "当前位置距检查点 350 米，超出允许范围 200 米",
    )
    assert (far["distance_m"], far["radius_m"]) == (350, 200)
    english = await json_of(
        await inspector.post(f"{URL}/check-in?lang=en", json={"qr": qr, "fix": fix(far_point)}),
        422,
    )
    assert english["detail"] == "You are 350 m from the checkpoint, outside the allowed 200 m"

    admin = await login_as("sjz_admin")  # a wider 误差范围 for this site
    await json_of(await admin.patch(f"{URL}/{ids['CA-0002']}", json={"radius_m": 400}), 200)
    wider = await scan(inspector, qr, fix(far_point))
    assert (wider["result"]["outcome"], wider["result"]["radius_m"]) == ("verified", 400)

    events = await json_of(await admin.get("/api/v1/audit-events?limit=50"), 200)
    trail = [
        e for e in events if e["action"] in {"checkpoint_position_bound", "checkpoint_checked_in"}
    ]
    assert [e["action"] for e in trail] == [
        "checkpoint_checked_in",
        "checkpoint_checked_in",
        "checkpoint_position_bound",
    ]
    assert trail[-1]["actor_username"] == "inspector"
    assert trail[-1]["detail"]["latitude"] == SITE.latitude
    assert trail[1]["detail"]["distance_m"] == 150.0


async def test_refused_fixes_say_why_and_bind_nothing(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    qr = await label(inspector, ids["CA-0002"])
    cases = [
        (
            fix(accuracy=0),
            "location_mocked",
            "定位精度报告为 0 米，疑似模拟定位；请关闭模拟定位软件后重试",
        ),
        (
            fix(accuracy=150),
            "location_inaccurate",
            "定位精度为 150 米，要求不超过 100 米；请到开阔处等待定位稳定后重试",
        ),
        (
            fix(age_s=600),
            "location_stale",
            "定位信息已过时（600 秒前获取，上限 120 秒），请重新定位",
        ),
        (
            fix(age_s=-300),
            "location_from_future",
            "定位时间比服务器时间晚 300 秒，请检查手机的日期和时间设置",
        ),
    ]
    for body_fix, code, detail in cases:
        refused = await scan(inspector, qr, body_fix, status=422)
        assert (refused["code"], refused["detail"]) == (code, detail)

    # Python's JSON reader takes NaN; the API must refuse it by name, not store it.
    raw = json.dumps({"qr": qr, "fix": {**fix(), "latitude": 91, "longitude": float("nan")}})
    assert "NaN" in raw
    response = await inspector.post(
        f"{URL}/check-in", data=raw, headers={"Content-Type": "application/json"}
    )
    body = await json_of(response, 422)
    assert {e["field"] for e in body["errors"]} == {"body.fix.latitude", "body.fix.longitude"}
    naive = await scan(inspector, qr, {**fix(), "captured_at": "2026-11-29T08:00:00"}, status=422)
    assert naive["errors"][0]["field"] == "body.fix.captured_at"

    detail = await json_of(await inspector.get(f"{URL}/{ids['CA-0002']}"), 200)
    assert detail["latitude"] is None and detail["bound_at"] is None  # nothing was bound
    assert (await scan(inspector, qr, fix()))["result"]["outcome"] == "bound"


async def test_reset_position_lets_the_next_scan_bind_again(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    admin = await login_as("sjz_admin")
    checkpoint_id = ids["CA-0001"]  # located in the demo
    qr = await label(inspector, checkpoint_id)
    before = await json_of(await admin.get(f"{URL}/{checkpoint_id}"), 200)
    elsewhere = moved(Point(before["latitude"], before["longitude"]), 2_000)
    refused = await scan(inspector, qr, fix(elsewhere), status=422)
    assert refused["code"] == "location_out_of_range"  # the label was moved 2 km away

    assert (await inspector.post(f"{URL}/{checkpoint_id}/reset-position")).status == 403
    reset = await json_of(await admin.post(f"{URL}/{checkpoint_id}/reset-position"), 200)
    assert (reset["latitude"], reset["longitude"], reset["bound_at"], reset["navigation"]) == (
        None,
        None,
        None,
        None,
    )
    rebound = await scan(inspector, qr, fix(elsewhere))
    assert rebound["result"]["outcome"] == "bound"
    assert rebound["checkpoint"]["latitude"] == elsewhere.latitude

    events = await json_of(
        await admin.get("/api/v1/audit-events?action=checkpoint_position_reset"), 200
    )
    assert events[0]["actor_username"] == "sjz_admin"
    assert events[0]["detail"]["old_latitude"] == before["latitude"]
    assert events[0]["detail"]["old_longitude"] == before["longitude"]
    assert (await json_of(await admin.post(f"{URL}/{checkpoint_id}/reset-position"), 200))[
        "latitude"
    ] is None
    unbound = await json_of(await admin.post(f"{URL}/{checkpoint_id}/reset-position"), 200)
    assert unbound["latitude"] is None  # resetting nothing is harmless and not audited
    events = await json_of(
        await admin.get("/api/v1/audit-events?action=checkpoint_position_reset"), 200
    )
    assert len(events) == 2


async def test_two_first_scans_racing_bind_once(login_as, settings, demo_passwords):
    ids = await ids_by_code(settings)
    engine = create_engine(settings.database_url)
    db = create_sessionmaker(engine)
    now = utcnow()
    a, b = SITE, moved(SITE, 60)

    async def first_scan(point: Point) -> Any:
        async with db() as session:
            checkpoint = await session.get(Checkpoint, ids["CA-0002"])
            assert checkpoint is not None
            result = await service.check_in(
                session,
                settings,
                checkpoint,
                Fix(point.latitude, point.longitude, 8.0, now),
                actor=None,
                actor_name="企业联系人 刘",
                now=now,
            )
            await session.commit()
            return result

    try:
        results = await asyncio.gather(first_scan(a), first_scan(b))
        assert sorted(r.outcome for r in results) == ["bound", "verified"]
        verified = next(r for r in results if r.outcome == "verified")
        assert abs(verified.distance_m - 60) < 1e-3
        async with db() as session:
            bound = await session.get(Checkpoint, ids["CA-0002"])
            assert bound is not None and bound.last_checked_in_at is not None
            actors = (
                await session.scalars(
                    select(AuditEvent.actor_username).where(
                        AuditEvent.action.like("checkpoint_%"), AuditEvent.actor_user_id.is_(None)
                    )
                )
            ).all()
            assert actors == ["企业联系人 刘", "企业联系人 刘"]

            # As the inspections domain calls it: verify the label, then check in.
            text = (
                await json_of(await (await login_as("inspector")).get(f"{URL}/{bound.id}/qr"), 200)
            )["url"]
            inspector = await principal(db, "inspector")
            checkpoint, _ = await service.verify_qr(
                settings, session, inspector, text, Permission.CHECKPOINT_CHECK_IN
            )
            far = moved(Point(bound.latitude, bound.longitude), 500)  # type: ignore[arg-type]
            try:
                await service.check_in(
                    session,
                    settings,
                    checkpoint,
                    Fix(far.latitude, far.longitude, 8.0, now),
                    actor=None,
                    now=now,
                )
            except OutOfRange as refused:
                assert refused.params == {"distance": 500, "radius": 200}
            else:
                raise AssertionError("a fix 500 m away was accepted")
    finally:
        await engine.dispose()

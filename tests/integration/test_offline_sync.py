"""Offline inspections synced later: idempotent by the phone's UUIDs (a batch replayed,
concurrently, lands once), re-checked as online at the phone's times, with the phone's
clock measured and flagged, and every refusal said per inspection and per capture."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.inspections.models import Evidence, Inspection
from tests.integration.inspection_kit import CA_0001, URL, label, moved, sha256
from tests.integration.offline_kit import captures, phone_inspection, sync
from tests.integration.test_checkpoints import ids_by_code
from tests.integration.test_inspections_evidence import fetch
from tests.plugins.api import json_of


async def counts(settings: Any, client_uuid: str) -> tuple[int, int]:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            ids = (
                await session.scalars(
                    select(Inspection.id).where(Inspection.client_uuid == client_uuid)
                )
            ).all()
            evidence = await session.scalar(
                select(func.count()).select_from(Evidence).where(Evidence.inspection_id.in_(ids))
            )
    finally:
        await engine.dispose()
    return len(ids), int(evidence or 0)


async def qr_of(login_as: Any, settings: Any, code: str = "CA-0001") -> tuple[Any, str]:
    inspector = await login_as("inspector")
    return inspector, await label(inspector, (await ids_by_code(settings))[code])


async def test_an_offline_inspection_syncs_whole_with_the_phones_hashes(login_as, settings):
    inspector, qr = await qr_of(login_as, settings)
    files = captures()  # photos, a video and an audio clip
    item = await phone_inspection(inspector, qr, files=files)
    result = (await sync(inspector, item))["results"][0]
    assert (result["status"], result["problem"]) == ("submitted", None)
    assert [c["status"] for c in result["evidence"]] == ["attached"] * len(item["evidence"])

    detail = await json_of(await inspector.get(f"{URL}/{result['inspection_id']}"), 200)
    assert (detail["state"], detail["offline"], detail["clock_flagged"]) == (
        "submitted",
        True,
        False,
    )
    assert abs(detail["clock_offset_seconds"]) < 5
    assert detail["received_at"] is not None
    assert 170 < detail["sync_delay_seconds"] < 200  # submitted 3 minutes before the sync
    assert detail["device_started_at"] == detail["started_at"]
    by_hash = {e["sha256"]: e for e in detail["evidence"]}
    assert len(by_hash) == len(files)
    for _item_key, kind, data, _mime in files:
        stored = by_hash[sha256(data)]
        assert stored["kind"] == kind
        assert (await fetch(inspector, stored["url"]))[1] == data


async def test_a_batch_replayed_five_times_at_once_lands_once(login_as, settings):
    inspector, qr = await qr_of(login_as, settings)
    item = await phone_inspection(inspector, qr, media=False)
    replies = await asyncio.gather(*(sync(inspector, item) for _ in range(5)))
    ids = {r["results"][0]["inspection_id"] for r in replies}
    assert len(ids) == 1
    assert {r["results"][0]["status"] for r in replies} == {"submitted"}, replies
    assert await counts(settings, item["client_uuid"]) == (1, len(item["evidence"]))
    again = await sync(inspector, item)  # and once more, after the fact
    assert again["results"][0]["inspection_id"] in ids
    assert await counts(settings, item["client_uuid"]) == (1, len(item["evidence"]))
    detail = await json_of(await inspector.get(f"{URL}/{ids.pop()}"), 200)
    assert detail["submission_count"] == 1


async def test_a_scan_outside_the_radius_is_refused_at_sync_with_the_reason(login_as, settings):
    inspector, qr = await qr_of(login_as, settings)
    far = moved(CA_0001, 349.6)
    item = await phone_inspection(inspector, qr, at=far, media=False)
    result = (await sync(inspector, item))["results"][0]
    assert (result["status"], result["inspection_id"]) == ("refused", None)
    assert result["problem"]["code"] == "location_out_of_range"
    assert result["problem"]["detail"] == "当前位置距检查点 350 米，超出允许范围 200 米"
    assert await counts(settings, item["client_uuid"]) == (0, 0)
    # The files stay on the server, unattached, and the phone may sync them another day.
    near = await phone_inspection(inspector, qr, media=False)
    assert (await sync(inspector, near))["results"][0]["status"] == "submitted"


async def test_a_retired_label_and_an_unfinished_upload_are_said(login_as, settings):
    inspector, qr = await qr_of(login_as, settings)
    item = await phone_inspection(inspector, qr, media=False)
    admin = await login_as("sjz_admin")
    checkpoint_id = (await ids_by_code(settings))["CA-0001"]
    regenerate = f"/api/v1/checkpoints/{checkpoint_id}/qr/regenerate"
    await json_of(await admin.post(regenerate), 200)
    retired = (await sync(inspector, item))["results"][0]
    assert (retired["status"], retired["problem"]["code"]) == ("refused", "qr_retired")

    fresh = await label(inspector, checkpoint_id)
    pending = await phone_inspection(inspector, fresh, media=False)
    first = pending["evidence"][0]
    other = dict(first, upload_id="f" * 32)
    pending["evidence"][0] = other
    result = (await sync(inspector, pending))["results"][0]
    assert result["status"] == "saved"  # not submitted: a capture is missing
    assert result["evidence"][0]["status"] == "refused"
    assert result["evidence"][0]["problem"]["code"] == "not_found"
    pending["evidence"][0] = first
    assert (await sync(inspector, pending))["results"][0]["status"] == "submitted"


async def test_a_sync_days_later_is_accepted_and_a_wrong_clock_is_flagged(login_as, settings):
    inspector, qr = await qr_of(login_as, settings)
    days_ago = utcnow() - timedelta(days=3)
    late = await phone_inspection(inspector, qr, started=days_ago, media=False)
    result = (await sync(inspector, late))["results"][0]
    assert result["status"] == "submitted", result
    detail = await json_of(await inspector.get(f"{URL}/{result['inspection_id']}"), 200)
    assert detail["sync_delay_seconds"] > 3 * 86400 - 300
    assert not detail["clock_flagged"]

    # A phone two hours fast: its times are checked against each other, stored no later
    # than the receipt, and the record says how far off the clock was.
    skew = timedelta(hours=2)
    fast = await phone_inspection(inspector, qr, started=utcnow() + skew - timedelta(minutes=5))
    reply = await sync(inspector, fast, sent_at=utcnow() + skew)
    assert reply["clock_flagged"] is True
    result = reply["results"][0]
    assert result["status"] == "submitted", result
    detail = await json_of(await inspector.get(f"{URL}/{result['inspection_id']}"), 200)
    assert detail["clock_flagged"] is True
    assert 7190 < detail["clock_offset_seconds"] < 7210
    received = detail["received_at"]
    assert detail["started_at"] <= received and detail["submitted_at"] <= received
    assert all(e["captured_at"] <= received for e in detail["evidence"])


async def test_a_batch_with_refusals_keeps_the_others_and_replays_once(login_as, settings):
    """A batch is one transaction; a refused inspection (or capture) in the middle of it
    undoes nothing of the others, and the whole batch replayed five times at once still
    lands once per inspection and per file."""
    inspector, qr = await qr_of(login_as, settings)
    first = await phone_inspection(inspector, qr, media=False)
    far = await phone_inspection(inspector, qr, at=moved(CA_0001, 349.6), media=False)
    waiting = await phone_inspection(inspector, qr, media=False)
    missing = dict(waiting["evidence"][0], upload_id="f" * 32)
    waiting["evidence"] = [missing, *waiting["evidence"][1:]]
    last = await phone_inspection(inspector, qr, media=False)
    batch = (first, far, waiting, last)

    replies = await asyncio.gather(*(sync(inspector, *batch) for _ in range(5)))
    for reply in replies:
        results = reply["results"]
        assert [r["client_uuid"] for r in results] == [i["client_uuid"] for i in batch]
        assert [r["status"] for r in results] == ["submitted", "refused", "saved", "submitted"]
        assert results[1]["problem"]["code"] == "location_out_of_range"
        assert results[2]["evidence"][0]["status"] == "refused"
        assert results[2]["evidence"][0]["problem"]["code"] == "not_found"
        assert {c["status"] for c in results[2]["evidence"][1:]} == {"attached"}
    for item in (first, last):
        assert await counts(settings, item["client_uuid"]) == (1, len(item["evidence"]))
    assert await counts(settings, far["client_uuid"]) == (0, 0)
    assert await counts(settings, waiting["client_uuid"]) == (1, len(waiting["evidence"]) - 1)
    ids = {r["results"][i]["inspection_id"] for r in replies for i in (0, 3)}
    assert len(ids) == 2

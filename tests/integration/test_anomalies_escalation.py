"""Escalation (超期上报) with an injected clock, on SQLite and on PostgreSQL: an anomaly
nobody took up by its deadline goes to the handlers of the org above, once; with nobody
above, its handlers hear it is overdue, once. On PostgreSQL two runs at the same moment
escalate once. The app runs it on its own schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from inspection_api.anomalies import escalation, repository
from inspection_api.anomalies.escalation import EscalationScheduler, escalate_overdue
from inspection_api.anomalies.models import Anomaly, AnomalyEvent
from inspection_api.anomalies.rules import ESCALATION_LOCK_KEY
from inspection_api.audit.models import AuditEvent
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.notifications import outbox
from inspection_api.notifications.models import Notification
from tests.integration.anomaly_support import (
    FINDING,
    Db,
    add_handler,
    ids,
    notifications_of,
    raise_at,
)
from tests.plugins.api import json_of

HOURS = 24


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def escalate(db: Db, at, hours: int = HOURS) -> list[int]:  # type: ignore[no-untyped-def]
    """One run at the injected moment ``at``; the ids it changed."""
    async with db() as session:
        changed = await escalate_overdue(session, now=at, deadline_hours=hours)
        await session.commit()
        return [anomaly.id for anomaly in changed]


async def row(db: Db, anomaly_id: int) -> Anomaly:
    async with db() as session:
        found = await session.get(Anomaly, anomaly_id)
        assert found is not None
        return found


async def events(db: Db, anomaly_id: int) -> list[tuple[str, int | None, int | None]]:
    async with db() as session:
        rows = await session.scalars(
            select(AnomalyEvent)
            .where(AnomalyEvent.anomaly_id == anomaly_id)
            .order_by(AnomalyEvent.id)
        )
        return [(e.kind.value, e.from_org_id, e.to_org_id) for e in rows]


async def test_past_the_deadline_it_goes_up_once_then_stops_at_the_top(db):
    known = await ids(db)
    ca_handler = await add_handler(db, "HB-SJZ-CA", "ca_handler", "钱处理")
    t0 = utcnow()
    (aid,) = await raise_at(db, "CA-0001", now=t0)
    assert (await row(db, aid)).handler_org_id == known["HB-SJZ-CA"]

    assert aid not in await escalate(db, t0 + timedelta(hours=HOURS) - timedelta(seconds=1))
    t1 = t0 + timedelta(hours=HOURS, seconds=5)
    assert aid in await escalate(db, t1)
    up = await row(db, aid)
    assert (up.handler_org_id, up.escalation_level, up.state) == (known["HB-SJZ"], 1, "open")
    assert (up.escalated_at, up.deadline) == (t1, t1 + timedelta(hours=HOURS))
    assert await notifications_of(db, known["handler"], aid) == [
        ("anomaly_escalated", "异常上报：他行授信逾期")
    ]
    async with db() as session:
        body = await session.scalar(
            select(Notification.body).where(
                Notification.anomaly_id == aid, Notification.kind == "anomaly_escalated"
            )
        )
    assert body is not None and "已由长安支行上报至石家庄分行" in body
    assert await notifications_of(db, ca_handler, aid) == [
        ("anomaly_raised", "新异常：他行授信逾期")
    ]

    # Idempotent: the same moment (or a rerun a minute later) changes nothing.
    assert await escalate(db, t1) == []
    assert await escalate(db, t1 + timedelta(minutes=1)) == []
    assert (await row(db, aid)).escalation_level == 1

    # 河北省分行 has no handler: past the second deadline it is overdue, once, and stays put.
    t2 = t1 + timedelta(hours=HOURS, seconds=1)
    assert await escalate(db, t2) == [aid]
    top = await row(db, aid)
    assert (top.handler_org_id, top.escalation_level, top.deadline) == (known["HB-SJZ"], 1, None)
    assert await escalate(db, t2 + timedelta(days=3)) == []
    assert await notifications_of(db, known["handler"], aid) == [
        ("anomaly_escalated", "异常上报：他行授信逾期"),
        ("anomaly_overdue", "异常超期：他行授信逾期"),
    ]
    assert await events(db, aid) == [
        ("raised", None, known["HB-SJZ-CA"]),
        ("escalated", known["HB-SJZ-CA"], known["HB-SJZ"]),
        ("overdue", None, None),
    ]
    async with db() as session:
        audited = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action.in_(["anomaly_escalated", "anomaly_overdue"])
                )
            )
        ).all()
    audited = [e.action for e in audited if e.detail["anomaly_id"] == aid]
    assert sorted(audited) == ["anomaly_escalated", "anomaly_overdue"]


async def test_an_acknowledged_or_resolved_anomaly_is_never_escalated(login_as, db):
    t0 = utcnow()
    taken, done, left = await raise_at(db, "CA-0001", *[FINDING] * 3, now=t0)
    handler = await login_as("handler")
    await json_of(await handler.post(f"/api/v1/anomalies/{taken}/acknowledge", json={}), 200)
    await json_of(
        await handler.post(f"/api/v1/anomalies/{done}/resolve", json={"resolution": "已核实"}), 200
    )
    later = t0 + timedelta(hours=HOURS * 5)
    changed = await escalate(db, later)  # nobody above 石家庄分行: overdue
    assert left in changed and taken not in changed and done not in changed
    for anomaly_id in (taken, done):
        assert [kind for kind, *_ in await events(db, anomaly_id)][-1] in {
            "acknowledged",
            "resolved",
        }
        assert (await row(db, anomaly_id)).escalation_level == 0


async def test_without_any_handler_it_waits_for_one_to_be_appointed(db):
    known = await ids(db)
    t0 = utcnow()
    (lonely,) = await raise_at(db, "LC-0001", now=t0)  # no handler up 保定分行's tree
    assert (await row(db, lonely)).handler_org_id is None
    (waiting,) = await raise_at(db, "LC-0001", now=t0 + timedelta(hours=1))

    assert lonely in await escalate(db, t0 + timedelta(hours=HOURS, seconds=1))
    assert (await row(db, lonely)).deadline is None  # overdue, nobody to tell
    assert await events(db, lonely) == [("raised", None, None), ("overdue", None, None)]

    bd_handler = await add_handler(db, "HB-BD", "bd_handler", "孙处理")
    assert waiting in await escalate(db, t0 + timedelta(hours=HOURS + 2))
    found = await row(db, waiting)
    assert (found.handler_org_id, found.escalation_level) == (known["HB-BD"], 1)
    assert await notifications_of(db, bd_handler, waiting) == [
        ("anomaly_escalated", "异常上报：他行授信逾期")
    ]


async def test_a_run_that_does_not_get_the_lock_skips(settings, db):
    if settings.database_url.startswith("sqlite"):
        pytest.skip("the advisory lock is PostgreSQL's; SQLite means a single process")
    t0 = utcnow()
    (aid,) = await raise_at(db, "CA-0001", now=t0)
    later = t0 + timedelta(hours=HOURS, seconds=1)
    async with db() as holder:  # another node in the middle of its run
        got = await holder.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ESCALATION_LOCK_KEY}
        )
        assert got is True
        assert await escalate(db, later) == []
        await holder.rollback()  # its run ends: the lock is released
    assert aid in await escalate(db, later)


async def test_two_runs_at_once_escalate_once(settings, db):
    if settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite means a single process: one run at a time")
    t0 = utcnow()
    raised = await raise_at(db, "CA-0001", *[FINDING] * 5, now=t0)
    later = t0 + timedelta(hours=HOURS, seconds=1)
    for _ in range(3):  # three rounds of two nodes racing
        first, second = await asyncio.gather(escalate(db, later), escalate(db, later))
        assert not set(first) & set(second)
    async with db() as session:
        counted = dict(
            (
                await session.execute(
                    select(AnomalyEvent.anomaly_id, func.count())
                    .where(AnomalyEvent.anomaly_id.in_(raised), AnomalyEvent.kind == "overdue")
                    .group_by(AnomalyEvent.anomaly_id)
                )
            ).all()
        )
        told = await session.scalar(
            select(func.count()).where(
                Notification.anomaly_id.in_(raised), Notification.kind == "anomaly_overdue"
            )
        )
    assert counted == {anomaly_id: 1 for anomaly_id in raised}
    assert told == len(raised)  # one handler, told once per anomaly


async def test_a_handler_taking_it_up_meanwhile_wins(login_as, db):
    """A run read the anomaly while it was open; a handler acknowledged it before the run's
    update: the conditional update changes nothing."""
    t0 = utcnow()
    (aid,) = await raise_at(db, "CA-0001", now=t0)
    async with db() as session:
        (stale,) = await repository.rows_with_ids(session, [aid])
        await session.commit()  # the read is over; the objects keep what it saw
        handler = await login_as("handler")
        await json_of(await handler.post(f"/api/v1/anomalies/{aid}/acknowledge", json={}), 200)
        changed = await escalation._escalate(
            session, stale, now=t0 + timedelta(days=2), deadline_hours=HOURS
        )
        await session.commit()
    assert changed is False
    found = await row(db, aid)
    assert (found.state, found.escalation_level) == ("acknowledged", 0)
    assert [kind for kind, *_ in await events(db, aid)] == ["raised", "acknowledged"]


async def test_the_app_escalates_on_its_own_schedule(settings, aiohttp_client, db):
    from loancheck.app import create_app

    known = await ids(db)
    await add_handler(db, "HB-SJZ-CA", "ca_handler")
    (aid,) = await raise_at(db, "CA-0001", now=utcnow() - timedelta(hours=HOURS + 1))
    await aiohttp_client(create_app(replace(settings, escalation_interval_seconds=0.2)))
    for _ in range(50):
        if (await row(db, aid)).escalation_level == 1:
            break
        await asyncio.sleep(0.1)
    assert (await row(db, aid)).handler_org_id == known["HB-SJZ"]


async def test_the_scheduler_pushes_after_its_commit(db):
    class Recorder:
        def __init__(self) -> None:
            self.pushes: list[tuple[int, str, object]] = []

        async def to_user(self, user_id: int, event: str, data: object) -> None:
            self.pushes.append((user_id, event, data))

    known = await ids(db)
    ca_handler = await add_handler(db, "HB-SJZ-CA", "ca_handler")
    t0 = utcnow()
    (aid,) = await raise_at(db, "CA-0001", now=t0)
    recorder = Recorder()
    scheduler = EscalationScheduler(
        db,
        deadline_hours=HOURS,
        interval=60,
        target=recorder,
        clock=lambda: t0 + timedelta(hours=HOURS, minutes=1),
    )
    assert aid in await scheduler.run_once()  # (with the demo's, past their deadline too)
    assert await scheduler.run_once() == []
    created = [
        (user, data["kind"])  # type: ignore[index]
        for user, event, data in recorder.pushes
        if event == "notification_created" and data["anomaly_id"] == aid  # type: ignore[index]
    ]
    assert created == [(known["handler"], "anomaly_escalated")]
    updated = [
        user
        for user, event, data in recorder.pushes
        if event == "anomaly_updated" and data["id"] == aid  # type: ignore[index]
    ]
    assert updated == [ca_handler]  # the previous handlers' consoles refresh their lists
    async with db() as session:
        assert outbox.take_committed(session) == []

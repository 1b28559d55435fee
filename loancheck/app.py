"""Composition root: ``create_app(settings)`` wires every package into one aiohttp app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from importlib.metadata import version

from aiohttp import web

from inspection_api.anomalies import endpoints as anomaly_endpoints
from inspection_api.anomalies.escalation import EscalationScheduler
from inspection_api.audit import endpoints as audit_endpoints
from inspection_api.auth import endpoints as auth_endpoints
from inspection_api.auth.endpoints import authenticate_request
from inspection_api.checklists import endpoints as checklist_endpoints
from inspection_api.checklists.seed import seed_default_templates
from inspection_api.checkpoints import endpoints as checkpoint_endpoints
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.health import endpoints as health_endpoints
from inspection_api.inspections import endpoints as inspection_endpoints
from inspection_api.inspections import (
    selfcheck_endpoints,
    selfcheck_sync_endpoints,
    sync_endpoints,
)
from inspection_api.notifications import endpoints as notification_endpoints
from inspection_api.offline import endpoints as offline_endpoints
from inspection_api.orgs import endpoints as org_endpoints
from inspection_api.plans import endpoints as plan_endpoints
from inspection_api.plans.scheduler import TaskScheduler
from inspection_api.recordings import endpoints as recording_endpoints
from inspection_api.rectifications import endpoints as rectification_endpoints
from inspection_api.remote import endpoints as remote_endpoints
from inspection_api.sheets import endpoints as sheet_endpoints
from inspection_api.supervision import endpoints as supervision_endpoints
from inspection_api.uploads import endpoints as upload_endpoints
from inspection_api.users import endpoints as user_endpoints
from inspection_api.web.keys import (
    AUTHENTICATOR,
    CLOCK,
    ENGINE,
    INSPECTION_APPROVED,
    INSPECTION_STARTED,
    INSPECTION_SUBMITTED,
    NOTIFIER,
    READINESS,
    REDIS,
    SESSIONMAKER,
    SETTINGS,
    STORE,
    TASK_SCHEDULER,
)
from inspection_api.web.object_problems import object_refusal
from inspection_api.web.openapi import build_openapi, setup_openapi
from inspection_api.web.problems import problem_middleware
from inspection_api.web.security import origin_middleware, setup_security_headers
from loancheck.hooks import approval_hooks, start_hooks, submission_hooks
from loancheck.resources import open_store
from loancheck.settings import Settings
from signaling.server import setup_signaling
from storage.web import setup_object_routes
from web_client import setup_web_client

log = logging.getLogger(__name__)

API_TABLES = (
    auth_endpoints.api,
    org_endpoints.api,
    user_endpoints.api,
    audit_endpoints.api,
    remote_endpoints.api,
    checkpoint_endpoints.api,
    checklist_endpoints.api,
    recording_endpoints.api,
    plan_endpoints.api,
    inspection_endpoints.api,
    selfcheck_endpoints.api,
    selfcheck_sync_endpoints.api,
    sync_endpoints.api,
    offline_endpoints.api,
    anomaly_endpoints.api,
    rectification_endpoints.api,
    notification_endpoints.api,
    supervision_endpoints.api,
    sheet_endpoints.api,
    upload_endpoints.api,
)


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[SESSIONMAKER] = create_sessionmaker(engine)

    async def check() -> None:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    app[READINESS]["database"] = check
    # Every installation passes here after its province banks exist (they are created
    # after `migrate`, by seed-demo or the operator): give each the default checklist.
    await seed_default_templates(app[SESSIONMAKER])
    yield
    await engine.dispose()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    """Redis, when configured: readiness now; cross-process locks use the same client."""
    import redis.asyncio as aioredis

    url = app[SETTINGS].redis_url
    assert url is not None
    client = aioredis.from_url(url)

    async def check() -> None:
        await client.ping()

    app[REDIS] = client
    app[READINESS]["redis"] = check
    yield
    await client.aclose()


async def _task_scheduler(app: web.Application) -> AsyncIterator[None]:
    """Task generation: at start, then on schedule (one node at a time on PostgreSQL)."""
    scheduler = TaskScheduler(
        app[SESSIONMAKER], interval_seconds=app[SETTINGS].task_generation_minutes * 60
    )
    app[TASK_SCHEDULER] = scheduler
    scheduler.start()
    yield
    await scheduler.stop()


async def _object_store(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = await open_store(settings)
    app[STORE] = store
    app[READINESS]["object_store"] = store.check
    yield
    await store.close()


async def _recorder(app: web.Application) -> AsyncIterator[None]:
    """The in-process recorder (LOANCHECK_RECORDER=inprocess): this node records calls too."""
    from loancheck.recorder_worker import RecorderWorker

    worker = RecorderWorker(app[SETTINGS], app[SESSIONMAKER], app[STORE])
    await worker.start()
    yield
    await worker.stop()


async def _escalation(app: web.Application) -> AsyncIterator[None]:
    """Anomalies past their deadline go up the org tree, checked every minute on every node
    (one node acts per run: see ``anomalies.escalation``)."""
    settings = app[SETTINGS]
    scheduler = EscalationScheduler(
        app[SESSIONMAKER],
        deadline_hours=settings.anomaly_deadline_hours,
        interval=settings.escalation_interval_seconds,
        target=app[NOTIFIER],
    )
    scheduler.start()
    yield
    await scheduler.stop()


def create_app(settings: Settings) -> web.Application:
    """Build the whole platform: API, Socket.IO signaling, object URLs and the web client."""
    if not settings.secret_key:
        raise ValueError("settings need a secret key; use load_settings() or with_secret()")
    app = web.Application(
        middlewares=[problem_middleware, origin_middleware],
        client_max_size=64 * 1024 * 1024,
    )
    app[SETTINGS] = settings
    setup_security_headers(app)
    app[CLOCK] = utcnow  # what the briefing sheet's print window is read against
    app[READINESS] = {}
    app[AUTHENTICATOR] = authenticate_request
    # Other domains hear of started, submitted and approved inspections through these.
    app[INSPECTION_STARTED] = start_hooks()
    app[INSPECTION_SUBMITTED] = submission_hooks(settings)
    app[INSPECTION_APPROVED] = approval_hooks()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_object_store)
    app.cleanup_ctx.append(_task_scheduler)
    if settings.redis_url:
        app.cleanup_ctx.append(_redis)
    if settings.recorder_mode == "inprocess":
        app.cleanup_ctx.append(_recorder)

    health_endpoints.setup(app)
    for table in API_TABLES:
        table.register(app)
    setup_openapi(
        app,
        build_openapi((*API_TABLES,), version=version("loancheck"), server_url=settings.public_url),
    )
    setup_object_routes(app, STORE, refusal=object_refusal)
    app[NOTIFIER] = setup_signaling(app, settings, SESSIONMAKER)
    # After signaling: stopped first on shutdown, while its pushes can still go out.
    app.cleanup_ctx.append(_escalation)
    setup_web_client(app)
    return app

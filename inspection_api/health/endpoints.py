"""/healthz (the process answers) and /readyz (its database, object store and Redis answer)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from inspection_api.web.keys import READINESS

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 5.0


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[READINESS]

    async def run(name: str) -> tuple[str, str]:
        try:
            await asyncio.wait_for(checks[name](), CHECK_TIMEOUT)
        except Exception as exc:
            log.warning("readiness check %s failed: %s", name, exc)
            return name, f"error: {type(exc).__name__}: {exc}"[:300]
        return name, "ok"

    results = dict(await asyncio.gather(*(run(name) for name in sorted(checks))))
    ready = all(value == "ok" for value in results.values())
    return web.json_response(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")

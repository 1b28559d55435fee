"""Cross-site request protection and security headers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inspection_api.errors import OriginRejected
from inspection_api.web.keys import SETTINGS

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allowed_origin(request: web.Request, origin: str) -> bool:
    """The public URL's origin, configured extra origins, or the request's own origin."""
    if origin in request.app[SETTINGS].origins:
        return True
    return origin == f"{request.scheme}://{request.host}"


@web.middleware
async def origin_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse state-changing requests sent by another site's page.

    Browsers send ``Origin`` on every cross-origin request and on same-origin POSTs; API
    clients (bearer tokens, scripts) send none and are not exposed to CSRF.
    """
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin is not None and not allowed_origin(request, origin):
            raise OriginRejected(origin=origin)
        if origin is None and request.headers.get("Sec-Fetch-Site") == "cross-site":
            raise OriginRejected(origin="cross-site")
    return await handler(request)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith("/api/docs"):
        headers.setdefault("Content-Security-Policy", CSP)
    if request.app[SETTINGS].secure_cookies:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response

"""Cross-site request protection and security headers."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from inspection_api.errors import OriginRejected
from inspection_api.web.keys import SETTINGS
from loancheck.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: web.Request) -> str:
    """The caller's address: the peer, or behind trusted proxies the right-most
    ``X-Forwarded-For`` entry that is not one of them (entries left of it can be forged)."""
    peer = request.remote or ""
    proxies = request.app[SETTINGS].trusted_proxies
    if not proxies:
        return peer
    chain = [
        part.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for part in header.split(",")
        if part.strip()
    ]
    for address in reversed([*chain, peer]):
        try:
            ip = ip_address(address)
        except ValueError:
            return address[:64]
        if not any(ip in network for network in proxies):
            return address
    return chain[0] if chain else peer


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
    "img-src 'self' data: blob:{store}; media-src 'self' blob:{store}; "
    "connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def content_security_policy(settings: Settings) -> str:
    """The CSP; with an S3 object store, its public origin may serve images and media
    (evidence photos, videos and recordings come as signed URLs to it)."""
    store = ""
    if settings.object_store.startswith("s3://"):
        endpoint = urlsplit(settings.s3_public_endpoint or settings.s3_endpoint)
        store = f" {endpoint.scheme}://{endpoint.netloc}"
    return CSP.format(store=store)


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith("/api/docs"):
        headers.setdefault(
            "Content-Security-Policy", content_security_policy(request.app[SETTINGS])
        )
    if request.app[SETTINGS].secure_cookies:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response

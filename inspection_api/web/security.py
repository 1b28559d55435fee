"""Cross-site request protection and security headers."""

from __future__ import annotations

import base64
import hashlib
import re
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from inspection_api.errors import OriginRejected
from inspection_api.web.keys import DOCS_SCRIPT_HASHES, SETTINGS
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
    """The public URL's origin or a configured extra origin; while LOANCHECK_PUBLIC_URL is
    not set (derived from the listener), also the request's own ``scheme://Host``.

    Once the operator names the public URL, the Host header (which the client writes) no
    longer admits anything: for HTTP state changes and the Socket.IO handshake alike."""
    settings = request.app[SETTINGS]
    if origin in settings.origins:
        return True
    if settings.public_url_explicit:
        return False
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
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:{store}; media-src 'self' blob:{store}; "
    "connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


def content_security_policy(settings: Settings, script_hashes: tuple[str, ...] = ()) -> str:
    """The CSP; with an S3 object store, its public origin may serve images and media
    (evidence photos, videos and recordings come as signed URLs to it). ``script_hashes``
    admit exactly these inline scripts (the API docs page has one)."""
    store = ""
    if settings.object_store.startswith("s3://"):
        endpoint = urlsplit(settings.s3_public_endpoint or settings.s3_endpoint)
        store = f" {endpoint.scheme}://{endpoint.netloc}"
    scripts = "".join(f" 'sha256-{digest}'" for digest in script_hashes)
    return CSP.format(store=store, scripts=scripts)


def inline_script_hashes(html: str) -> tuple[str, ...]:
    """CSP hashes (base64 SHA-256) of the inline ``<script>`` blocks of a page."""
    bodies = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.DOTALL)
    return tuple(base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() for b in bodies)


def setup_security_headers(app: web.Application) -> None:
    """Security headers on every response the app sends: handlers', raised HTTP errors and
    redirects, the router's own 404/405, static and object files, the Socket.IO transport."""
    app.on_response_prepare.append(_add_security_headers)


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    settings = request.app[SETTINGS]
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    hashes = request.app.get(DOCS_SCRIPT_HASHES, ()) if request.path.startswith("/api/docs") else ()
    headers.setdefault("Content-Security-Policy", content_security_policy(settings, hashes))
    if settings.secure_cookies:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")

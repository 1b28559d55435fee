"""Security headers on every response (the framework's own 404/405 and redirects, object
files and their errors, the API docs), and the Origin check once LOANCHECK_PUBLIC_URL is set:
only it and LOANCHECK_ALLOWED_ORIGINS, never the request's own Host."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from loancheck.app import create_app
from loancheck.settings import Settings
from tests.plugins.browser import LiveServer, StartServer

PUBLIC = "https://check.bank.example"


def assert_secured(response: Any, what: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, (what, csp)


async def test_every_kind_of_response_carries_the_headers(client, settings) -> None:
    cases: list[tuple[str, str, dict[str, str], int]] = [
        ("GET", "/console", {}, 200),  # a page
        ("GET", "/static/js/api.js", {}, 200),  # a static file
        ("GET", "/", {}, 302),  # the framework's redirect (raised)
        ("GET", "/no/such/page", {}, 404),  # the router's own 404, as HTML
        ("GET", "/api/v1/no-such-thing", {}, 404),  # the problem+json 404
        ("DELETE", "/console", {}, 405),  # the router's 405
        ("GET", "/objects/a.txt", {}, 403 if settings.object_store.startswith("file") else 404),
        ("GET", "/objects/..%5cevil.html?expires=1&sig=x", {}, 400),
        ("GET", "/api/docs/", {}, 200),
        ("GET", "/api/openapi.json", {}, 200),
        ("GET", "/healthz", {}, 200),
    ]
    for method, path, headers, status in cases:
        if path.startswith("/objects/..") and not settings.object_store.startswith("file"):
            status = 404  # with S3 the app has no local objects: every /objects path is 404
        response = await client.request(method, path, headers=headers, allow_redirects=False)
        assert response.status == status, (method, path, response.status)
        assert_secured(response, f"{method} {path}")


async def test_an_invalid_object_key_is_not_echoed(embedded_settings, aiohttp_client) -> None:
    client = await aiohttp_client(create_app(embedded_settings))
    bait = "<script>alert(1)</script>"
    for path in (f"/objects/..%5c{bait}", f"/objects/a/%2e%2e/{bait}", "/objects/%2fetc%2fpasswd"):
        response = await client.get(path, allow_redirects=False)
        body = await response.text()
        assert response.status == 400, path
        assert response.content_type == "application/problem+json", body
        assert '"code": "object_key_invalid"' in body, body
        assert "<" not in body and "alert" not in body and "passwd" not in body, body
        assert_secured(response, path)


async def test_the_api_docs_have_a_csp_that_admits_only_their_own_script(client) -> None:
    page = await client.get("/api/docs/")
    html = await page.text()
    csp = page.headers["Content-Security-Policy"]
    hashes = re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", csp)
    assert len(hashes) == 1 and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "'unsafe-eval'" not in csp
    assert "SwaggerUIBundle" in html
    # Elsewhere no inline script is admitted at all.
    console = await client.get("/console")
    assert "sha256-" not in console.headers["Content-Security-Policy"]


@pytest.fixture
def explicit(settings: Settings) -> Settings:
    """Settings as an operator writes them: LOANCHECK_PUBLIC_URL (and one extra origin) set."""
    return replace(
        settings,
        public_url=PUBLIC,
        public_url_explicit=True,
        allowed_origins=("https://partner.bank.example",),
    )


async def test_with_a_public_url_set_the_host_header_admits_nothing(
    explicit: Settings, aiohttp_client, demo_passwords
) -> None:
    client = await aiohttp_client(create_app(explicit))
    creds = {"username": "admin", "password": demo_passwords["admin"]}
    own = f"http://{client.host}:{client.port}"  # what the Host header says
    refused = await client.post("/api/v1/auth/login", json=creds, headers={"Origin": own})
    body = await refused.json()
    assert (refused.status, body["code"]) == (403, "origin_rejected")
    assert_secured(refused, "origin_rejected")
    for origin in (PUBLIC, "https://partner.bank.example"):
        accepted = await client.post("/api/v1/auth/login", json=creds, headers={"Origin": origin})
        assert accepted.status == 200, origin
    # Derived from the listener (no LOANCHECK_PUBLIC_URL), the request's own origin still works.
    derived = await aiohttp_client(create_app(replace(explicit, public_url_explicit=False)))
    own = f"http://{derived.host}:{derived.port}"
    response = await derived.post("/api/v1/auth/login", json=creds, headers={"Origin": own})
    assert response.status == 200


async def test_with_a_public_url_set_the_socket_handshake_needs_it_too(
    explicit: Settings, live_server_factory: StartServer
) -> None:
    """The live server's public URL is http://127.0.0.1:PORT (set explicitly). Reached as
    localhost:PORT, a page's Origin matches its own Host, and that no longer admits it."""
    server: LiveServer = await live_server_factory(explicit)
    port = server.url.rsplit(":", 1)[1]
    by_name = f"http://localhost:{port}"
    url = "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession(base_url=by_name) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, headers={"Origin": by_name})
        assert refused.value.status == 400
        for origin in (server.url, "https://partner.bank.example"):
            async with http.ws_connect(url, headers={"Origin": origin}) as ws:
                assert (await ws.receive_str(timeout=5)).startswith("0{"), origin  # OPEN
    # Without LOANCHECK_PUBLIC_URL the same handshake by name is the page's own origin.
    derived = await live_server_factory(replace(explicit, public_url_explicit=False))
    by_name = f"http://localhost:{derived.url.rsplit(':', 1)[1]}"
    async with (
        aiohttp.ClientSession(base_url=by_name) as http,
        http.ws_connect(url, headers={"Origin": by_name}) as ws,
    ):
        assert (await ws.receive_str(timeout=5)).startswith("0{")

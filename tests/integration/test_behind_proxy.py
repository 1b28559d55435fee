"""Running behind a reverse proxy: client addresses from trusted proxies only, and presigned
object URLs that carry the public S3 host."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from ipaddress import ip_network
from urllib.parse import urlsplit

import aiohttp

from loancheck.app import create_app
from storage.s3 import S3ObjectStore
from tests.plugins.api import json_of

LOGIN = "/api/v1/auth/login"


async def test_forwarded_client_addresses_count_only_from_trusted_proxies(
    settings, aiohttp_client, demo_passwords
):
    # A backoff longer than any stall between the last failure and the next try.
    behind = replace(
        settings, trusted_proxies=(ip_network("127.0.0.1/32"),), login_backoff_base_seconds=60.0
    )
    client = await aiohttp_client(create_app(behind))
    # A forged left-most entry is ignored: the proxy appended the real client last.
    spoofed = {"X-Forwarded-For": "6.6.6.6, 10.1.1.1"}
    for i in range(behind.login_max_failures * 4):
        bad = await client.post(LOGIN, json={"username": f"g{i}", "password": "x"}, headers=spoofed)
        assert bad.status == 401
    right = {"username": "admin", "password": demo_passwords["admin"]}
    assert (await client.post(LOGIN, json=right, headers=spoofed)).status == 429
    other_client = {"X-Forwarded-For": "10.2.2.2"}
    assert (await client.post(LOGIN, json=right, headers=other_client)).status == 200
    events = await json_of(await client.get("/api/v1/audit-events?action=login_failed"), 200)
    assert {e["ip"] for e in events} == {"10.1.1.1"}


async def test_forwarded_header_is_ignored_without_trusted_proxies(client, demo_passwords):
    creds = {"username": "admin", "password": demo_passwords["admin"]}
    await client.post(LOGIN, json=creds, headers={"X-Forwarded-For": "10.9.9.9"})
    events = await json_of(await client.get("/api/v1/audit-events?action=login_succeeded"), 200)
    assert events[0]["ip"] == "127.0.0.1"


async def test_presigned_urls_use_the_public_endpoint_and_still_verify(s3_server):
    bucket = s3_server.new_bucket()
    internal = urlsplit(s3_server.endpoint)
    # Same server, reached under another host name: what a proxy in front of MinIO does.
    public = f"http://localhost:{internal.port}"
    store = S3ObjectStore(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        bucket,
        public_endpoint=public,
    )
    try:
        await store.put_bytes("a/b.txt", b"hello", "text/plain")
        url = await store.presign_get("a/b.txt", timedelta(minutes=1))
        assert url.startswith(f"{public}/{bucket}/a/b.txt?")
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200 and await response.read() == b"hello"
    finally:
        await store.close()

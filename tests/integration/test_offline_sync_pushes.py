"""An inspection submitted through the offline sync tells the same people, live, as an
online submit: its findings reach the 异常处理人's console (``notification_created``) and
the managers above the 支行 refresh 实时监管 (``supervision_changed``), after the sync's
commit; a replay of the batch raises and pushes nothing again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from inspection_api.auth.service import session_cookie_name
from tests.integration.inspection_kit import COMPLETE
from tests.integration.offline_kit import phone_inspection, sync
from tests.integration.test_anomalies_push import Console
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.api import json_of
from tests.plugins.browser import LiveServer, StartServer


@pytest.fixture
async def server(settings, live_server_factory: StartServer, demo_passwords) -> LiveServer:
    return await live_server_factory(settings)


@pytest.fixture
async def inspector(server: LiveServer, demo_passwords) -> AsyncIterator[aiohttp.ClientSession]:
    """The phone: a session on the live server (the one whose consoles listen)."""
    async with aiohttp.ClientSession(
        base_url=server.url,
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"Origin": server.origin},
    ) as http:
        login = {"username": "inspector", "password": demo_passwords["inspector"]}
        async with http.post("/api/v1/auth/login", json=login) as response:
            assert response.status == 200, await response.text()
            assert response.cookies[session_cookie_name(server.settings)].value
        yield http


async def test_an_offline_submit_pushes_to_the_handler_and_the_managers(
    server, inspector, settings, demo_passwords
):
    ids = await ids_by_code(settings)
    handler, manager, bystander = Console(), Console(), Console()
    try:
        await handler.connect(server, "handler", demo_passwords["handler"])
        await manager.connect(server, "sjz_admin", demo_passwords["sjz_admin"])
        await bystander.connect(server, "inspector_bd", demo_passwords["inspector_bd"])
        checkpoint = ids["CA-0001"]
        qr = (await json_of(await inspector.get(f"/api/v1/checkpoints/{checkpoint}/qr"), 200))[
            "url"
        ]
        item = await phone_inspection(inspector, qr, media=False)
        item["answers"] = {**COMPLETE, "other_bank_overdue": True}  # a finding
        result = (await sync(inspector, item))["results"][0]
        assert (result["status"], result["problem"]) == ("submitted", None)
        inspection_id = result["inspection_id"]

        told = await handler.next("notification_created")
        assert (told["kind"], told["title"]) == ("anomaly_raised", "新异常：他行授信逾期")
        detail = await json_of(await inspector.get(f"/api/v1/inspections/{inspection_id}"), 200)
        assert [f["item_key"] for f in detail["findings"]] == ["other_bank_overdue"]
        changed = await manager.next("supervision_changed")
        assert changed == {"org_id": detail["org_id"], "inspection_id": inspection_id}

        again = (await sync(inspector, item))["results"][0]  # the phone sends it again
        assert (again["status"], again["inspection_id"]) == ("submitted", inspection_id)
        await asyncio.sleep(0.5)
        assert [e for e, _ in handler.received if e == "notification_created"] == []
        assert [e for e, _ in manager.received if e == "supervision_changed"] == []
        assert [e for e, _ in bystander.received if e == "supervision_changed"] == []
    finally:
        for console in (handler, manager, bystander):
            await console.client.disconnect()
            await console.client.shutdown()

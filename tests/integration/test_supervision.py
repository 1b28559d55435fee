"""实时监管 over HTTP on the demo bank: jurisdiction, shapes, refusals, exports."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from tests.plugins.api import json_of

BASE = "/api/v1/supervision"


async def _org_ids(client: Any) -> dict[str, int]:
    orgs = await json_of(await client.get("/api/v1/orgs"), 200)
    items = orgs["items"] if isinstance(orgs, dict) else orgs
    return {o["code"]: o["id"] for o in items}


async def test_smoke(login_as):
    admin = await login_as("hb_admin")
    for path in ("completion", "trend", "inspections", "conclusions", "anomalies", "indicators"):
        body = await json_of(await admin.get(f"{BASE}/{path}?period=2026"), 200)
        print(path, body)
    response = await admin.get(f"{BASE}/export?table=details&period=2026")
    assert response.status == 200, await response.text()
    book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    print(list(book.active.values))

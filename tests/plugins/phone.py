"""Phones in headless Chromium, and the demo data the phone tests share.

``open_phone(browser, at=…)`` opens a 390×844 touch context (zh-CN, Asia/Shanghai) at a GPS
position with camera and microphone allowed; ``camera_phone(text, …)`` is a phone of its own
Chromium whose fake camera sees a printed QR code of ``text``. ``fill_login`` signs a phone in
through the login form it shows, ``ready_on_site`` at /onsite with its offline shell
installed; ``start_inspection`` starts the on-site inspection of the page's checkpoint and
``answer_small_form`` fills it in; ``log_in_on_phone`` signs the inspector in where a phone
lands (/field), ``console_on_phone`` goes on to the console from there.
``publish_small_form`` makes the province's 明白纸 a short form; ``demo_checkpoint`` and
``newest_inspection`` read the server's database; ``live_api`` is a logged-in HTTP client.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import qrcode
from aiohttp import ClientSession, CookieJar
from PIL import Image
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from inspection_api.checkpoints.checkin import label_url
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.inspections.models import Inspection
from tests.plugins.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    PageProblems,
    chromium_env,
    new_page,
    submit_login,
)
from tests.plugins.services import require_executable

PHONE = {"width": 390, "height": 844}
# True while nothing on the page is wider than the screen.
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"
# A short form, published by the province as the next version of its 明白纸.
SMALL_FORM = {
    "sections": [
        {
            "title": "现场情况",
            "items": [
                {
                    "key": "plant_running",
                    "label": "厂区是否正常生产",
                    "type": "yes_no",
                    "required_action": "查看车间开工情况并拍照。",
                    "evidence": {"photo": 1},
                },
                {"key": "remarks", "label": "现场说明", "type": "text", "required": False},
                {"key": "conclusion", "label": "检查初步结论", "type": "conclusion"},
            ],
        }
    ]
}


class Place(Protocol):
    @property
    def latitude(self) -> float: ...

    @property
    def longitude(self) -> float: ...


def phone_options(at: Place | None, accuracy: float, *, gps: bool = True) -> dict[str, Any]:
    """A phone's context options beside zh-CN and Asia/Shanghai; at ``at``, with GPS
    allowed unless ``gps`` is false."""
    options: dict[str, Any] = {
        "viewport": PHONE,
        "is_mobile": True,
        "has_touch": True,
    }
    if at is not None:
        options["geolocation"] = {
            "latitude": at.latitude,
            "longitude": at.longitude,
            "accuracy": accuracy,
        }
        options["permissions"] = ["camera", "microphone"] + (["geolocation"] if gps else [])
    return options


async def open_phone(
    browser: Any,
    at: Place | None = None,
    *,
    accuracy: float = 9,
    gps: bool = True,
    timeout_ms: int = 15_000,
    init_script: str | None = None,
) -> tuple[Any, Any, PageProblems]:
    """A phone's context and page, its script errors watched; close the context when done."""
    options = phone_options(at, accuracy, gps=gps)
    return await new_page(browser, timeout_ms=timeout_ms, init_script=init_script, **options)


def qr_video(text: str, path: Path, frames: int = 20) -> Path:
    """A Y4M clip of a printed label in front of the camera, for Chromium's fake camera."""
    code = qrcode.make(text, border=4).convert("RGB").resize((400, 400), Image.NEAREST)
    scene = Image.new("RGB", (640, 480), (235, 235, 230))
    scene.paste(code, (120, 40))
    y, cb, cr = scene.convert("YCbCr").split()
    chroma = cb.resize((320, 240)).tobytes() + cr.resize((320, 240)).tobytes()
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + y.tobytes() + chroma)
    return path


@asynccontextmanager
async def camera_phone(
    text: str,
    tmp_path: Path,
    at: Place,
    *,
    gps: bool = True,
    init_script: str | None = None,
) -> AsyncIterator[tuple[Any, Any, PageProblems]]:
    """A phone at ``at`` whose camera sees a printed QR code of ``text`` (a Chromium of its
    own: the fake camera's clip is a launch argument)."""
    if not os.access(CHROMIUM, os.X_OK):
        require_executable("chromium", CHROMIUM)
    clip = qr_video(text, tmp_path / f"qr-{abs(hash(text))}.y4m")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={clip}"],
            headless=True,
            env=chromium_env(),
        )
        try:
            yield await open_phone(chromium, at, gps=gps, init_script=init_script)
        finally:
            await chromium.close()


async def fill_login(page: Any, password: str, username: str = "inspector") -> None:
    """Sign in through the login form the page shows (it goes back where it came from)."""
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()


async def log_in_on_phone(page: Any, server: LiveServer, password: str) -> None:
    """Sign the inspector in on a phone: they land on 我的任务's phone page (/field)."""
    await submit_login(page, server, "inspector", password)
    await expect(page).to_have_url(f"{server.url}/field")
    await expect(page.get_by_test_id("who")).to_have_text("张检查")


async def console_on_phone(page: Any, server: LiveServer) -> None:
    """From /field to the console's 检查任务 (全部功能), live."""
    await page.get_by_test_id("console-link").click()
    await expect(page).to_have_url(f"{server.url}/console#/tasks")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")


async def start_inspection(page: Any) -> Any:
    """获取定位并开始检查 on the page's checkpoint; the inspection's form once it shows."""
    await page.get_by_role("button", name="获取定位并开始检查").click()
    form = page.get_by_test_id("inspection-form")
    await expect(form).to_be_visible()
    return form


async def ready_on_site(page: Any, server: LiveServer, password: str) -> None:
    """The inspector signs in to /onsite; back when its offline shell is installed."""
    await page.goto(f"{server.url}/login?next=%2Fonsite")
    await fill_login(page, password)
    await expect(page.get_by_role("button", name="打开摄像头扫码")).to_be_visible()
    await page.evaluate("async () => { await navigator.serviceWorker.ready; }")


async def answer_small_form(page: Any, remarks: str | None = None) -> Any:
    """Answer the started ``SMALL_FORM`` (是, ``remarks`` when given, 正常) and take its
    photo with the fake camera; the form, once the photo counts."""
    form = page.get_by_test_id("inspection-form")
    plant = form.locator('[data-key="plant_running"]')
    await plant.get_by_label("是", exact=True).check()
    if remarks is not None:
        await form.get_by_label("现场说明", exact=True).fill(remarks)
    await form.get_by_role("radiogroup", name="检查初步结论").get_by_label("正常").check()
    await plant.get_by_role("button", name="拍照").click()
    await page.get_by_test_id("capture-shoot").click()
    await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1")
    return form


@asynccontextmanager
async def live_api(server: LiveServer, username: str, password: str) -> AsyncIterator[Any]:
    """An HTTP client of ``server`` signed in as ``username``."""
    async with ClientSession(server.url, cookie_jar=CookieJar(unsafe=True)) as http:
        login = {"username": username, "password": password}
        response = await http.post("/api/v1/auth/login", json=login)
        assert response.status == 200, await response.text()
        yield http


async def publish_small_form(server: LiveServer, password: str) -> None:
    """hb_admin publishes ``SMALL_FORM`` as the next version of the province's 明白纸."""
    async with live_api(server, "hb_admin", password) as http:
        templates = await (await http.get("/api/v1/checklist-templates")).json()
        template = next(t for t in templates if t["name"] == "中小企业贷后管理“明白纸”")
        url = f"/api/v1/checklist-templates/{template['id']}"
        draft = await http.put(f"{url}/draft", json=SMALL_FORM)
        assert draft.status == 200, await draft.text()
        assert (await http.post(f"{url}/publish", json={})).status == 200


async def self_check_link(server: LiveServer, password: str, contact: str = "刘建国") -> str:
    """The inspector invites ``contact`` to a self-check of CA-0001: the link they get."""
    async with live_api(server, "inspector", password) as http:
        ids = {
            c["code"]: c["id"]
            for c in (await (await http.get("/api/v1/checkpoints")).json())["items"]
        }
        body = {"checkpoint_id": ids["CA-0001"], "contact_name": contact}
        created = await (await http.post("/api/v1/inspections/self-check", json=body)).json()
    return str(created["url"])


async def demo_checkpoint(server: LiveServer, code: str) -> tuple[int, str]:
    """The id and current label URL of a demo checkpoint."""
    engine = create_engine(server.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        checkpoint = await session.scalar(select(Checkpoint).where(Checkpoint.code == code))
        assert checkpoint is not None
        found = (checkpoint.id, label_url(server.settings, checkpoint))
    await engine.dispose()
    return found


async def ca_0001_label(server: LiveServer) -> str:
    return (await demo_checkpoint(server, "CA-0001"))[1]


async def newest_inspection(server: LiveServer) -> Inspection:
    """The inspection the page started (the newest)."""
    engine = create_engine(server.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        found = await session.scalar(select(Inspection).order_by(Inspection.id.desc()).limit(1))
    await engine.dispose()
    assert found is not None
    return found

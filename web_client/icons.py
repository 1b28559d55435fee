"""Render the home-screen icons (PNG) from ``static/img/logo.svg`` in headless Chromium.

Android launchers and iOS Safari want PNGs at fixed sizes: ``icon-192.png`` and
``icon-512.png`` (the logo as it is, its own rounded square), ``icon-maskable-512.png``
(full-bleed red, the shield inside the 80 % safe zone, for launchers that cut their own
shape) and ``apple-touch-icon.png`` (180 px, full-bleed: iOS rounds the corners). The PNGs
are committed; run ``python -m web_client.icons`` after changing the logo.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

IMG = Path(__file__).parent / "static" / "img"
CHROMIUM = "/usr/bin/chromium"


def _logo(svg: str, size: int) -> str:
    return svg.replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)


def _full_bleed(svg: str, size: int, scale: float) -> str:
    shield = svg.split("\n", 2)[2].rsplit("</svg>", 1)[0]  # the paths, without the rect
    offset = 32 * (1 - scale)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        'viewBox="0 0 64 64"><rect width="64" height="64" fill="#a61d24"/>'
        f'<g transform="translate({offset} {offset}) scale({scale})">{shield}</g></svg>'
    )


async def render() -> None:
    from playwright.async_api import async_playwright

    svg = (IMG / "logo.svg").read_text()
    jobs = [
        ("icon-192.png", 192, _logo(svg, 192)),
        ("icon-512.png", 512, _logo(svg, 512)),
        ("icon-maskable-512.png", 512, _full_bleed(svg, 512, 0.72)),
        ("apple-touch-icon.png", 180, _full_bleed(svg, 180, 0.82)),
    ]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for name, size, image in jobs:
            page = await browser.new_page(viewport={"width": size, "height": size})
            await page.set_content(f"<body style='margin:0'>{image}</body>")
            await page.screenshot(path=str(IMG / name), omit_background=True)
            await page.close()
        await browser.close()


if __name__ == "__main__":
    asyncio.run(render())

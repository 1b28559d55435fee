"""The service worker's shell holds every file the on-site page and 我的任务 (/field) load,
modules imported by modules included: one missing and the page opens offline without its
offline store."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

STATIC = Path(__file__).resolve().parents[2] / "web_client" / "static"
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^"']*?from\s+["'](\.{1,2}/[^"']+)["']""", re.M)


def shell() -> set[str]:
    text = (STATIC / "sw.js").read_text()
    block = text[text.index("const SHELL = [") : text.index("];", text.index("const SHELL"))]
    return set(re.findall(r'"(/[^"]+)"', block))


def loaded_by(url: str) -> set[str]:
    """``url`` and every module it imports, transitively (as /static/… URLs)."""
    seen: set[str] = set()
    todo = [url]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        source = (STATIC / current.removeprefix("/static/")).read_text()
        folder = PurePosixPath(current).parent
        for relative in IMPORT.findall(source):
            parts: list[str] = list(folder.parts)
            for piece in PurePosixPath(relative).parts:
                if piece == "..":
                    parts.pop()
                elif piece != ".":
                    parts.append(piece)
            todo.append("/" + "/".join(parts[1:]))
    return seen


def needed_by(page_file: str) -> set[str]:
    page = (STATIC / page_file).read_text()
    assets = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page))
    needed = set(assets)
    for script in assets:
        if script.endswith(".js"):
            needed |= loaded_by(script)
    return needed


def test_the_shell_holds_every_module_of_the_onsite_page() -> None:
    needed = needed_by("onsite.html")
    assert "/static/vendor/idb.js" in needed and "/static/js/outbox.js" in needed
    assert needed - shell() == set()


def test_the_shell_holds_my_tasks_and_every_module_of_it() -> None:
    needed = needed_by("field.html")
    assert {"/static/js/field-page.js", "/static/js/storage-quota.js"} <= needed
    assert "/static/vendor/idb.js" in needed
    assert needed - shell() == set()
    assert "/field" in shell()


def test_imports_are_followed_through_parent_folders() -> None:
    found = loaded_by("/static/js/offline-store.js")
    assert found == {
        "/static/js/offline-store.js",
        "/static/js/offline-target.js",
        "/static/vendor/idb.js",
    }

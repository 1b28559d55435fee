"""The rule for what a zh-CN reader sees of a problem (docs/api.md, "Errors"): ``title``,
``detail`` and every ``errors[].message`` are Chinese, with no field path
(``answers.payroll.headcount``, ``body.…``), no English sentence and no text of aiohttp's
("404: Not Found"). A value the reader or a record brought in is quoted 「…」 and is theirs:
a file name 「IMG_0001.jpg」 or an origin 「https://a.example」 is not checked.
"""

from __future__ import annotations

import re
from typing import Any

QUOTED = re.compile(r"「[^」]*」")
FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_]+|\b(?:body|query|path)\b")
ENGLISH = re.compile(r"[A-Za-z]{2,}[ ,;:]+[A-Za-z]{2,}")
AIOHTTP = re.compile(r"\b[1-5][0-9]{2}: [A-Z]")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def text_problems(text: Any) -> list[str]:
    """What is wrong with one text a zh-CN reader sees; empty when nothing is."""
    if not isinstance(text, str) or not text:
        return ["no text"]
    own = QUOTED.sub("「」", text)
    found = []
    if not CHINESE.search(own):
        found.append("not Chinese")
    for name, pattern in (("field path", FIELD_PATH), ("English", ENGLISH), ("aiohttp", AIOHTTP)):
        match = pattern.search(own)
        if match:
            found.append(f"{name} {match.group(0)!r}")
    return found


def problem_problems(body: Any) -> list[str]:
    """Each fault of a zh-CN problem body, as ``member: fault in 'text'``."""
    if not isinstance(body, dict):
        return [f"not a problem: {body!r}"[:200]]
    texts = [("title", body.get("title")), ("detail", body.get("detail"))]
    for index, error in enumerate(body.get("errors") or []):
        texts.append((f"errors.{index}.message", error.get("message")))
        if not error.get("field"):  # programs need it: only the human text is Chinese
            texts.append((f"errors.{index}.field", None))
    return [
        f"{member}: {fault} in {text!r}" for member, text in texts for fault in text_problems(text)
    ]

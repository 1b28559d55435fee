"""审计日志 as CSV for Excel on a Chinese Windows PC: UTF-8 with a BOM (without one Excel
reads the file as GBK), Chinese headers, times in Beijing to the second, 操作类型 and 对象类型
in Chinese and the records named as the console names them; 详情 is the line the page shows
(``detail.py`` words both).

Rows are written chunk by chunk (as the service reads them from a cursor) into a temporary
file in a thread, then sent in chunks: the file is complete, or the request failed, before
the first byte goes out. The supervision exports do the same with .xlsx.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import IO

from inspection_api.audit.actions import ACTIONS, OBJECT_TYPE_LABELS, label_of
from inspection_api.audit.detail import detail_line, record_text
from inspection_api.audit.repository import object_ref
from inspection_api.audit.service import NamedEvent
from inspection_api.beijing import file_stamp, second_text

HEADERS = ("时间", "操作", "对象类型", "对象", "操作人", "用户名", "IP 地址", "详情")
# What Excel would read as the start of a formula (=HYPERLINK(…), +cmd|…, -1+1, @SUM(…));
# tab and carriage return too, as OWASP lists them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str) -> str:
    """A cell Excel shows as text: one that would start a formula gets a leading ``'``.
    Only the audit export writes CSV, so the guard lives here (the .xlsx exports write
    strings as strings, which Excel never evaluates)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def object_text(named: NamedEvent) -> str:
    """The record the event is about, as the console's 详情 says it: its name (a record
    outside the jurisdiction by its bare id), a numbered record by its kind and number."""
    ref = object_ref(named.event)
    if ref is None:
        return ""
    return record_text(*ref, named.names)


def row_of(named: NamedEvent) -> list[str]:
    event = named.event
    action = ACTIONS.get(event.action)
    return [
        cell(value)
        for value in (
            second_text(event.at),
            label_of(event.action),
            OBJECT_TYPE_LABELS[action.object_type][0] if action else "",
            object_text(named),
            named.actor_name or event.actor_username,
            event.actor_username,
            event.ip,
            detail_line(named.parts),
        )
    ]


def _open() -> IO[bytes]:
    # Closed by chunks(), or by write() on failure; gone from the disk once closed.
    return tempfile.TemporaryFile(mode="w+b", prefix="loancheck-audit-")


def _append(handle: IO[bytes], rows: Sequence[Sequence[str]]) -> None:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    handle.write(text.getvalue().encode("utf-8"))


async def write(batches: AsyncIterator[list[NamedEvent]]) -> IO[bytes]:
    """The finished file (BOM, headers, every batch), rewound: a temporary file that is
    gone once closed."""
    handle = await asyncio.to_thread(_open)
    try:
        await asyncio.to_thread(handle.write, "\ufeff".encode())
        await asyncio.to_thread(_append, handle, [HEADERS])
        async for batch in batches:
            await asyncio.to_thread(_append, handle, [row_of(n) for n in batch])
        await asyncio.to_thread(handle.seek, 0)
        return handle
    except BaseException:
        handle.close()
        raise


def filename(now: datetime) -> str:
    return f"审计日志-{file_stamp(now)}.csv"

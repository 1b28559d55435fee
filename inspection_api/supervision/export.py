"""Excel (.xlsx) exports of the supervision tables: the same figures as the API, Chinese
headers. XlsxWriter's ``constant_memory`` mode writes each row out as it comes, so a year of
one 分行's details never sits in memory; the file is then sent in chunks and deleted.

Blocking work (XlsxWriter, file reads) runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import xlsxwriter

from inspection_api.plans.generator import SHANGHAI

INT, RATE, TEXT, TIME = "int", "rate", "text", "time"


@dataclass(frozen=True)
class Column:
    header: str  # 中文表头
    kind: str = INT
    width: int = 12


class XlsxFile:
    """One worksheet written row by row into a temporary file."""

    def __init__(self, sheet: str, columns: Sequence[Column]) -> None:
        handle, self.path = tempfile.mkstemp(prefix="loancheck-export-", suffix=".xlsx")
        os.close(handle)
        self.columns = columns
        self.book = xlsxwriter.Workbook(self.path, {"constant_memory": True})
        self.sheet = self.book.add_worksheet(sheet[:31])
        bold = self.book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
        self.formats = {
            RATE: self.book.add_format({"num_format": "0.00%"}),
            TIME: self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        for i, column in enumerate(columns):
            self.sheet.set_column(i, i, column.width)
            self.sheet.write_string(0, i, column.header, bold)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        for values in rows:
            for i, (column, value) in enumerate(zip(self.columns, values, strict=True)):
                if value is None:
                    continue
                if column.kind == TIME:
                    local = value.astimezone(SHANGHAI).replace(tzinfo=None)
                    self.sheet.write_datetime(self.row, i, local, self.formats[TIME])
                elif column.kind == RATE:
                    self.sheet.write_number(self.row, i, value, self.formats[RATE])
                elif column.kind == INT:
                    self.sheet.write_number(self.row, i, value)
                else:
                    self.sheet.write_string(self.row, i, str(value))
            self.row += 1

    def close(self) -> IO[bytes]:
        """Finish the file; it is unlinked at once and lives on as the returned handle."""
        self.book.close()
        handle = open(self.path, "rb")  # noqa: SIM115 - closed by chunks()
        os.unlink(self.path)
        return handle

    def discard(self) -> None:
        try:
            self.book.close()
        finally:
            if os.path.exists(self.path):
                os.unlink(self.path)


async def write(
    sheet: str, columns: Sequence[Column], batches: AsyncIterator[Sequence[Sequence[Any]]]
) -> IO[bytes]:
    """Write every batch (as it is read from the database) and return the finished file."""
    xlsx = await asyncio.to_thread(XlsxFile, sheet, columns)
    try:
        async for batch in batches:
            await asyncio.to_thread(xlsx.write_rows, batch)
        return await asyncio.to_thread(xlsx.close)
    except BaseException:
        await asyncio.to_thread(xlsx.discard)
        raise


async def single(rows: Sequence[Sequence[Any]]) -> AsyncIterator[Sequence[Sequence[Any]]]:
    yield rows

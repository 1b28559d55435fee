"""The printable label sheet: A4 pages of QR labels (二维码标签), each with the checkpoint's
name and code, cut lines between them. Pure: bytes in, bytes out (CPU-bound: call it in a
thread).

Chinese text uses reportlab's built-in CID font STSong-Light (Adobe-GB1, resolved by the PDF
viewer), so no font file ships or downloads. QR codes are embedded as 1-bit images drawn at
8 pixels per module: crisp when printed and decodable from the PDF itself.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from inspection_api.beijing import minute_text
from inspection_api.checkpoints.qr import qr_png

CJK_FONT = "STSong-Light"
LATIN_BOLD = "Helvetica-Bold"
COLUMNS, ROWS = 3, 4
LABELS_PER_PAGE = COLUMNS * ROWS
MARGIN = 10 * mm
QR_SIZE = 42 * mm
NAME_SIZE, CODE_SIZE, SMALL_SIZE = 10, 10, 7


@dataclass(frozen=True)
class Label:
    name: str  # checkpoint name
    code: str  # checkpoint code
    org_name: str  # the 支行
    url: str  # what the QR code encodes


def _register_fonts() -> None:
    # Fonts live in reportlab's process-wide registry; registering again is harmless.
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _fit_lines(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Break ``text`` into at most ``max_lines`` lines no wider than ``width`` (by character:
    Chinese has no spaces); the last line ends with "…" when text is left over."""
    lines = [""]
    for char in text:
        if pdfmetrics.stringWidth(lines[-1] + char, font, size) <= width:
            lines[-1] += char
        elif len(lines) < max_lines:
            lines.append(char)
        else:
            last = lines[-1]
            while last and pdfmetrics.stringWidth(last + "…", font, size) > width:
                last = last[:-1]
            lines[-1] = last + "…"
            break
    return [line for line in lines if line]


def _draw_label(canvas: Canvas, label: Label, x: float, y: float, w: float, h: float) -> None:
    """One label in the cell whose lower-left corner is (x, y)."""
    canvas.setStrokeColorRGB(0.75, 0.75, 0.75)
    canvas.setDash(2, 2)
    canvas.setLineWidth(0.3)
    canvas.rect(x, y, w, h)  # cut line
    canvas.setDash()
    top = y + h - 4 * mm
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(CJK_FONT, SMALL_SIZE)
    canvas.drawCentredString(x + w / 2, top - SMALL_SIZE, "贷后检查点  请扫码签到")
    qr_top = top - SMALL_SIZE - 1.5 * mm
    image = ImageReader(io.BytesIO(qr_png(label.url, border=2)))
    canvas.drawImage(image, x + (w - QR_SIZE) / 2, qr_top - QR_SIZE, QR_SIZE, QR_SIZE)
    line_y = qr_top - QR_SIZE - 1.5 * mm - NAME_SIZE
    canvas.setFont(CJK_FONT, NAME_SIZE)
    for line in _fit_lines(label.name, CJK_FONT, NAME_SIZE, w - 6 * mm, 2):
        canvas.drawCentredString(x + w / 2, line_y, line)
        line_y -= NAME_SIZE + 2
    canvas.setFont(LATIN_BOLD, CODE_SIZE)
    canvas.drawCentredString(x + w / 2, line_y, label.code)
    line_y -= SMALL_SIZE + 3
    canvas.setFillColorRGB(0.35, 0.35, 0.35)
    canvas.setFont(CJK_FONT, SMALL_SIZE)
    org = _fit_lines(label.org_name, CJK_FONT, SMALL_SIZE, w - 6 * mm, 1)
    canvas.drawCentredString(x + w / 2, line_y, org[0] if org else "")


def label_sheet(labels: Sequence[Label], *, title: str, printed_at: datetime) -> bytes:
    """A4 pages of ``COLUMNS`` × ``ROWS`` labels, filled row by row, with a footer naming
    the sheet, the print time and the page."""
    _register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("LoanCheck")
    canvas.setCreator("LoanCheck 贷后检查远程巡检平台")
    page_w, page_h = A4
    cell_w = (page_w - 2 * MARGIN) / COLUMNS
    cell_h = (page_h - 2 * MARGIN) / ROWS
    pages = max(1, -(-len(labels) // LABELS_PER_PAGE))
    stamp = minute_text(printed_at)
    for page in range(pages):
        chunk = labels[page * LABELS_PER_PAGE : (page + 1) * LABELS_PER_PAGE]
        for index, label in enumerate(chunk):
            row, column = divmod(index, COLUMNS)
            x = MARGIN + column * cell_w
            y = page_h - MARGIN - (row + 1) * cell_h
            _draw_label(canvas, label, x, y, cell_w, cell_h)
        canvas.setFillColorRGB(0.35, 0.35, 0.35)
        canvas.setFont(CJK_FONT, SMALL_SIZE)
        footer = f"{title}    打印时间 {stamp}    第 {page + 1}/{pages} 页"
        canvas.drawCentredString(page_w / 2, MARGIN / 2, footer)
        canvas.showPage()
    canvas.save()
    return out.getvalue()

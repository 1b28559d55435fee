"""The briefing sheet (明白纸) as a one-page A4 PDF, laid out like the bank's paper form:
the loan's facts, 检查内容 in four columns of label and answer, 其他需特殊说明情况 beside
检查初步结论, 上级管理条线参与意见, 填表说明 and a footer naming the record. Pure: content in,
bytes out (CPU-bound: call it in a thread).

Chinese is drawn with a real TrueType font **embedded** in the PDF (subset), so the sheet
prints the same everywhere: WenQuanYi Micro Hei from Debian's ``fonts-wqy-microhei`` (Noto
CJK, also in Debian, has PostScript outlines, which reportlab cannot embed). The boxes of
choices come from DejaVu Sans (``fonts-dejavu-core``) when it is there, else from the CJK font.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from inspection_api.sheets.content import CHECKED, UNCHECKED, SheetContent, beijing
from inspection_api.sheets.errors import SheetFontMissing

CJK_FONT = "WenQuanYiMicroHei"
BOX_FONT = "DejaVuSans"
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
BOX_FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
TITLE = "中小企业贷后管理“明白纸”"
PAGE = landscape(A4)
MARGIN = 12 * mm
BODY, SMALL = 9, 7.5
INK = colors.black
SHADE = colors.Color(0.93, 0.93, 0.93)


def _first(paths: Sequence[str]) -> str | None:
    return next((p for p in paths if Path(p).is_file()), None)


def register_fonts() -> bool:
    """Register the embedded fonts once per process; True when the box font is there."""
    names = pdfmetrics.getRegisteredFontNames()
    if CJK_FONT not in names:
        path = _first(CJK_FONT_FILES)
        if path is None:
            raise SheetFontMissing(paths="、".join(CJK_FONT_FILES))
        pdfmetrics.registerFont(TTFont(CJK_FONT, path, subfontIndex=0))
    if BOX_FONT not in names:
        path = _first(BOX_FONT_FILES)
        if path is None:
            return False
        pdfmetrics.registerFont(TTFont(BOX_FONT, path))
    return True


class _Styles:
    def __init__(self, boxes: bool) -> None:
        self.boxes = boxes
        self.body = ParagraphStyle(
            "body", fontName=CJK_FONT, fontSize=BODY, leading=BODY * 1.35, wordWrap="CJK"
        )
        self.label = ParagraphStyle("label", parent=self.body)
        self.head = ParagraphStyle(
            "head", parent=self.body, alignment=TA_CENTER, fontSize=BODY + 0.5
        )
        self.small = ParagraphStyle("small", parent=self.body, fontSize=SMALL, leading=SMALL * 1.4)

    def markup(self, text: str) -> str:
        """Escape, keep line breaks, and draw ``[x]``/``[ ]`` as ☑/☐ boxes."""
        checked, unchecked = ("☑", "☐") if self.boxes else ("■", "□")
        html = escape(text).replace("\n", "<br/>")
        font = f'<font name="{BOX_FONT}" size="{BODY + 1}">' if self.boxes else "<font>"
        html = html.replace(CHECKED, f"{font}{checked}</font>")
        return html.replace(UNCHECKED, f"{font}{unchecked}</font>")

    def p(self, text: str, style: ParagraphStyle | None = None, bold: bool = False) -> Paragraph:
        # The CJK font has one weight: headings are set apart by shading and size instead.
        return Paragraph(self.markup(text), style or self.body)


def _canvas(*args: Any, **kwargs: Any) -> Canvas:
    # Starting in the embedded font keeps Helvetica (never embedded) out of the file.
    return Canvas(*args, **{**kwargs, "initialFontName": CJK_FONT})


def _fit(flowable: Paragraph, width: float, height: float) -> KeepInFrame:
    """Long remarks shrink to their box instead of pushing the sheet onto a second page."""
    return KeepInFrame(width, height, [flowable], mode="shrink")


def briefing_sheet_pdf(content: SheetContent) -> bytes:
    """The one-page A4 (landscape) 明白纸 of ``content``."""
    boxes = register_fonts()
    s = _Styles(boxes)
    width = PAGE[0] - 2 * MARGIN
    # Four 检查内容 columns, each a label and an answer: 8 grid columns.
    label_w, value_w = 0.115 * width, 0.135 * width
    col_w = [label_w, value_w] * 4
    rows: list[list[object]] = []
    style: list[tuple[object, ...]] = [
        ("FONT", (0, 0), (-1, -1), CJK_FONT, BODY),
        ("GRID", (0, 0), (-1, -1), 0.6, INK),
        ("BOX", (0, 0), (-1, -1), 1.2, INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]

    def facts(label: str, value: str) -> Paragraph:
        return s.p(f"{label}：{value}")

    rows.append([
        facts("客户名称", content.customer_name), "", "",
        facts("金额", content.amount), "",
        facts("放款日期", content.loan_date),
        facts("到期日", content.maturity_date),
        facts("五级分类", content.classification),
    ])  # fmt: skip
    style += [("SPAN", (0, 0), (2, 0)), ("SPAN", (3, 0), (4, 0))]
    rows.append([s.p("检查内容", s.head, bold=True)] + [""] * 7)
    style += [("SPAN", (0, 1), (-1, 1)), ("BACKGROUND", (0, 1), (-1, 1), SHADE)]
    # Sections past the fourth go into a further band of four.
    for band_start in range(0, max(len(content.columns), 1), 4):
        band = content.columns[band_start : band_start + 4]
        head_row = len(rows)
        heads: list[object] = []
        for column in band:
            heads += [s.p(column.title, s.head, bold=True), ""]
        heads += [""] * (8 - len(heads))
        rows.append(heads)
        for n in range(4):
            style.append(("SPAN", (2 * n, head_row), (2 * n + 1, head_row)))
        style.append(("BACKGROUND", (0, head_row), (-1, head_row), SHADE))
        depth = max((len(c.cells) for c in band), default=0)
        for r in range(depth):
            row: list[object] = []
            for column in band:
                if r < len(column.cells):
                    cell = column.cells[r]
                    row += [s.p(cell.label, s.label), s.p(cell.value)]
                else:
                    row += ["", ""]
            rows.append(row + [""] * (8 - len(row)))
    # 其他需特殊说明情况 | remarks | 检查初步结论 | boxes
    remarks_row = len(rows)
    conclusion = "  ".join(
        f"{CHECKED if code == content.conclusion else UNCHECKED}{label}"
        for code, label in (("normal", "正常"), ("watch", "关注"),
                            ("close_watch", "强烈关注"), ("exit", "退出"))
    )  # fmt: skip
    remarks_w = sum(col_w[1:5])
    rows.append([
        s.p("其他需特殊说明情况", s.label, bold=True),
        _fit(s.p(content.remarks or ""), remarks_w - 6, 18 * mm), "", "", "",
        s.p("检查初步结论", s.label, bold=True),
        s.p(conclusion), "",
    ])  # fmt: skip
    style += [
        ("SPAN", (1, remarks_row), (4, remarks_row)),
        ("SPAN", (6, remarks_row), (7, remarks_row)),
    ]
    opinion_row = len(rows)
    opinions = "\n".join(f"{o.text}（{o.author}，{beijing(o.at)}）" for o in content.opinions)
    rows.append([
        s.p("上级管理条线参与，请简要说明意见", s.label, bold=True),
        _fit(s.p(opinions), sum(col_w[1:]) - 6, 18 * mm), "", "", "", "", "", "",
    ])  # fmt: skip
    style.append(("SPAN", (1, opinion_row), (-1, opinion_row)))
    notes_row = len(rows)
    rows.append([
        s.p("填表说明", s.label, bold=True),
        s.p("\n".join(content.instructions), s.small), "", "", "", "", "", "",
    ])  # fmt: skip
    style.append(("SPAN", (1, notes_row), (-1, notes_row)))
    for label_row in (remarks_row, opinion_row, notes_row):
        style.append(("BACKGROUND", (0, label_row), (0, label_row), SHADE))
    style.append(("BACKGROUND", (5, remarks_row), (5, remarks_row), SHADE))

    heights: list[float | None] = [None] * len(rows)
    heights[remarks_row] = 20 * mm
    heights[opinion_row] = 20 * mm
    table = Table(rows, colWidths=col_w, rowHeights=heights, style=TableStyle(style))

    footer = (
        f"检查记录编号 {content.inspection_id} · {content.kind_label} · 检查点 {content.checkpoint}"
        f" · {content.org_name} · 检查人员 {content.inspector_name}"
        f" · 提交时间 {beijing(content.submitted_at)} · 打印时间 {beijing(content.printed_at)}"
    )
    signature = Table(
        [[s.p("检查人员签字："), s.p("支行负责人签字："), s.p("日期：________年_____月_____日")]],
        colWidths=[width / 3] * 3,
        style=TableStyle(
            [("FONT", (0, 0), (-1, -1), CJK_FONT, BODY), ("LEFTPADDING", (0, 0), (-1, -1), 3)]
        ),
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{TITLE} {content.customer_name}",
        author="LoanCheck",
        creator="LoanCheck 贷后检查远程巡检平台",
        subject=f"检查记录 {content.inspection_id}",
    )

    def title(canvas: Canvas, _doc: object) -> None:
        # The CJK font has one weight: the title's outline is stroked too, to print bold.
        canvas.saveState()
        text = canvas.beginText()
        text.setTextRenderMode(2)
        text.setFont(CJK_FONT, 17)
        canvas.setLineWidth(0.45)
        text.setTextOrigin(
            (PAGE[0] - pdfmetrics.stringWidth(TITLE, CJK_FONT, 17)) / 2, PAGE[1] - MARGIN - 15
        )
        text.textOut(TITLE)
        canvas.drawText(text)
        canvas.restoreState()

    doc.build([
        Spacer(1, 22),
        table,
        Spacer(1, 5 * mm),
        signature,
        Spacer(1, 3 * mm),
        s.p(footer, s.small),
    ], onFirstPage=title, canvasmaker=_canvas)  # fmt: skip
    return out.getvalue()

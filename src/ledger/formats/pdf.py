"""What the printable documents share: the font, the company header, styles,
labels in Chinese and English, and building a document into bytes.

Text is set in reportlab's built-in CID font ``STSong-Light`` (Adobe-GB1):
a PDF reader brings the glyphs, so nothing is installed or embedded and
Chinese, Latin and digits all print in one face.

Only this module uses reportlab, and only once a document is made: it loads
then (with the font and the styles), so a process that prints nothing never
loads it. The documents' modules build their pages from the helpers here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from ledger.formats.sheets import minor_places

if TYPE_CHECKING:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Flowable, Paragraph, Table

FONT = "STSong-Light"
# reportlab's units (reportlab.lib.units, reportlab.lib.pagesizes) computed
# the same way, so that laying out a page needs no reportlab; a test keeps them equal.
mm = 72.0 / 2.54 * 0.1
A4 = (210 * mm, 297 * mm)

LABELS: dict[str, tuple[str, str]] = {
    "statement": ("Statement of account", "对账单"),
    "customer": ("Customer", "客户"),
    "period": ("Period", "期间"),
    "up_to": ("up to {end}", "截至 {end}"),
    "printed": ("Printed on {day}", "打印日期 {day}"),
    "currency": ("Currency", "币种"),
    "opening": ("Opening balance", "期初余额"),
    "closing": ("Closing balance", "期末余额"),
    "invoiced": ("Invoiced in the period", "本期开票"),
    "credited": ("Credited in the period", "本期冲减"),
    "paid": ("Paid in the period", "本期收款"),
    "date": ("Date", "日期"),
    "document": ("Document", "单据"),
    "reference": ("Number", "编号"),
    "debit": ("Debit", "借方（应收）"),
    "credit": ("Credit", "贷方（收款/冲减）"),
    "balance": ("Balance", "余额"),
    "invoice": ("Invoice", "发票"),
    "credit_note": ("Credit note", "贷项通知"),
    "payment": ("Payment", "收款"),
    "order": ("Order {number}", "订单 {number}"),
    "order_total": ("order total {total}", "订单金额 {total}"),
    "brought_forward": ("Brought forward", "上期结转"),
    "order_balance": ("Balance of the order", "订单余额"),
    "nothing": ("No entries in this period.", "本期无往来记录。"),
    "confirm": (
        "Please check the entries above and tell us of any difference within 7 days of receipt.",
        "请核对上述账目，如有不符请于收到后 7 日内与我们联系。",
    ),
    "customer_sign": ("Confirmed by the customer (signature, stamp)", "客户确认（签字盖章）"),
    "page": ("Page {n}", "第 {n} 页"),
    "dispatch_note": ("Dispatch note", "发货单"),
    "packing_list": ("Packing list", "装箱单"),
    "order_number": ("Order number", "订单号"),
    "shipment": ("Shipment", "出货单号"),
    "document_number": ("Document number", "单据编号"),
    "planned": ("Planned date", "计划日期"),
    "dispatched": ("Dispatched", "发货时间"),
    "carrier": ("Carrier", "承运商"),
    "mode": ("Transport mode", "运输方式"),
    "tracking": ("Tracking number", "运单号"),
    "consignee": ("Consignee", "收货人"),
    "phone": ("Phone", "电话"),
    "address": ("Delivery address", "收货地址"),
    "sku": ("SKU", "SKU"),
    "name": ("Product", "品名"),
    "model": ("Model", "型号"),
    "spec": ("Specification", "规格"),
    "quantity": ("Quantity", "数量"),
    "total_quantity": ("Total quantity", "合计数量"),
    "packages": ("Packages", "件数"),
    "materials": ("Packing materials", "包装材料"),
    "labels": ("Labels", "唛头/标签"),
    "not_packed": ("not packed yet", "尚未包装"),
    "shipper_sign": ("Shipped by (signature)", "发货人（签字）"),
    "receiver_sign": ("Received in good order by (signature, date)", "收货人签收（签字、日期）"),
}


def label(key: str, lang: str, **values: Any) -> str:
    text = LABELS[key][1 if lang == "zh" else 0]
    return text.format(**values) if values else text


@dataclass(frozen=True)
class Company:
    """The issuing company as the header prints it (settings ``LEDGER_COMPANY_*``)."""

    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    tax_id: str = ""
    bank: str = ""


def amount(value: Decimal, currency: str) -> str:
    """ "12,345.60": thousands separated, the currency's minor unit of places
    (more only if the amount has them)."""
    places = max(minor_places(currency), -min(value.normalize().as_tuple().exponent, 0))  # type: ignore[operator]
    return f"{value:,.{places}f}"


@cache
def styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles, made (and the font registered) on the first call."""
    # reportlab loads only to print a document; so in each function below.
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return {
        "title": ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, spaceAfter=4),
        "company": ParagraphStyle("company", fontName=FONT, fontSize=13, leading=17),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=8.5, leading=11, wordWrap="CJK"),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14, wordWrap="CJK"),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK"),
        "number": ParagraphStyle("number", fontName=FONT, fontSize=9, leading=12,
                                 alignment=TA_RIGHT),
        "heading": ParagraphStyle("heading", fontName=FONT, fontSize=11.5, leading=16,
                                  spaceBefore=8),
    }  # fmt: skip


def text(value: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: customer data is never markup)."""
    from reportlab.platypus import Paragraph

    return Paragraph(escape(value), styles()[style])


def space(height: float) -> Flowable:
    """Blank space of ``height`` points down the page."""
    from reportlab.platypus import Spacer

    return Spacer(1, height)


def together(parts: list[Flowable]) -> Flowable:
    """``parts`` kept on one page."""
    from reportlab.platypus import KeepTogether

    return KeepTogether(parts)


def barcode(value: str, height: float, bar_width: float) -> Flowable:
    """``value`` as a Code 128 barcode, without the text under it."""
    from reportlab.graphics.barcode.code128 import Code128

    return Code128(value, barHeight=height, barWidth=bar_width, humanReadable=False)


def company_header(company: Company, title: str) -> list[Flowable]:
    lines = [company.address, company.phone, company.email, company.tax_id, company.bank]
    details = "  ·  ".join(line for line in lines if line)
    parts: list[Flowable] = [text(company.name, "company")]
    if details:
        parts.append(text(details, "small"))
    parts += [space(3 * mm), text(title, "title")]
    return parts


def grid(rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = True) -> Table:
    """A table of paragraphs with a light grid and a shaded header row."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(
        [list(row) for row in rows], colWidths=list(widths), repeatRows=1 if header else 0
    )
    style: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9AA5B1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")))
    table.setStyle(TableStyle(style))
    return table


def build(story: list[Flowable], lang: str, title: str) -> bytes:
    """The document as PDF bytes, A4, with a page number at the foot of each page."""
    from reportlab.platypus import SimpleDocTemplate

    styles()  # the font registered
    out = io.BytesIO()

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.setFont(FONT, 8)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, label("page", lang, n=doc.page))

    doc = SimpleDocTemplate(
        out, pagesize=A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm,
        topMargin=16 * mm, bottomMargin=18 * mm, creator="ledger",
    )  # fmt: skip
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


CONTENT_WIDTH = A4[0] - 36 * mm

"""The order template's columns: one definition for every file that carries
orders (the import, the template download, exports meant to be imported).

A file holds one row per order line. Rows with the same customer reference
form one order; the order's own columns (customer, delivery, currency...)
may be repeated on each of its rows or given once, on any of them.

Each column has a stable key, an English and a Chinese (Simplified) header,
a kind (how its cells are read and written) and the field of the receive
command (``POST /orders``) it fills, as a path: ``("customer", "name")``;
line columns start with ``"lines"``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from ledger.aggregates.values import CHANNELS, TRANSPORT_MODES

Kind = Literal["text", "code", "integer", "decimal", "date", "choice"]
"""How a cell is read: ``text`` as written (trimmed); ``code`` also NFKC-normalised
(full-width letters and digits become ASCII); ``integer`` and ``decimal`` numbers
(full-width digits and thousands separators allowed); ``date`` a date cell, an
ISO or ``2026/5/1`` or ``2026年5月1日`` text, or an Excel serial number;
``choice`` one of ``choices`` (English or Chinese)."""

Level = Literal["order", "line"]


@dataclass(frozen=True)
class Column:
    """One column of the template."""

    key: str
    en: str
    zh: str
    kind: Kind
    level: Level
    field: tuple[str, ...]
    required: bool = False
    default: str = ""
    choices: tuple[str, ...] = ()

    @property
    def bilingual(self) -> str:
        """The template's header: English, then Chinese."""
        return f"{self.en} / {self.zh}"

    def header(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


COLUMNS: tuple[Column, ...] = (
    Column("customer_ref", "Customer reference", "客户订单号", "code", "order", (), True),
    Column("channel", "Channel", "接单渠道", "choice", "order", ("channel",),
           default="email", choices=CHANNELS),
    Column("customer_name", "Customer", "客户名称", "text", "order", ("customer", "name"), True),
    Column("customer_phone", "Customer phone", "客户电话", "code", "order", ("customer", "phone")),
    Column("customer_email", "Customer email", "客户邮箱", "code", "order", ("customer", "email")),
    Column("customer_address", "Customer address", "客户地址", "text", "order",
           ("customer", "address")),
    Column("delivery_address", "Delivery address", "收货地址", "text", "order",
           ("delivery", "address"), True),
    Column("consignee", "Consignee", "收货人", "text", "order", ("delivery", "consignee"), True),
    Column("consignee_phone", "Consignee phone", "收货人电话", "code", "order",
           ("delivery", "phone")),
    Column("transport_mode", "Transport mode", "运输方式", "choice", "order",
           ("delivery", "transport_mode"), default="road", choices=TRANSPORT_MODES),
    Column("currency", "Currency", "币种", "code", "order", ("currency",), default="CNY"),
    Column("requested_date", "Requested date", "要求交货日期", "date", "order",
           ("requested_date",)),
    Column("sku", "SKU", "产品编号", "code", "line", ("lines", "sku"), True),
    Column("product_name", "Product", "产品名称", "text", "line", ("lines", "name"), True),
    Column("model", "Model", "型号", "text", "line", ("lines", "model")),
    Column("spec", "Specification", "规格", "text", "line", ("lines", "spec")),
    Column("quantity", "Quantity", "数量", "integer", "line", ("lines", "quantity"), True),
    Column("unit_price", "Unit price", "单价", "decimal", "line", ("lines", "unit_price"), True),
)  # fmt: skip

BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}
GROUP_KEY = "customer_ref"
# The receive command's limit (ledger.api.fields.MAX_LINES; a test keeps them equal).
MAX_LINES = 200

# The Chinese words a choice column also accepts, beside its English values.
CHOICE_WORDS: dict[str, dict[str, str]] = {
    "channel": {"电话": "phone", "邮件": "email", "电子邮件": "email", "平台": "platform",
                "网上平台": "platform", "现场": "onsite", "上门": "onsite",
                "微信": "wechat", "其他": "other", "其它": "other"},
    "transport_mode": {"公路": "road", "汽运": "road", "铁路": "rail", "空运": "air",
                       "航空": "air", "海运": "sea", "快递": "express"},
}  # fmt: skip
# The Chinese word shown for each choice (the first one listed above).
CHOICE_LABELS: dict[str, dict[str, str]] = {
    key: {value: word for word, value in reversed(words.items())}
    for key, words in CHOICE_WORDS.items()
}


def _fold(text: str) -> str:
    """A header as compared: NFKC, case-folded, without spaces, ``_`` or ``*``."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s_*]+", "", folded)


_NAMES: dict[str, Column] = {
    _fold(name): column
    for column in COLUMNS
    for name in (column.key, column.en, column.zh, column.bilingual)
}


def match_header(text: str) -> Column | None:
    """The column a header cell names: its key, its English or Chinese header,
    or both joined by ``/``, ``|`` or a line break (any one part that names
    a column is enough)."""
    whole = _NAMES.get(_fold(text))
    if whole is not None or not text:
        return whole
    for part in re.split(r"[/|\n（(）)]", text):
        found = _NAMES.get(_fold(part)) if part.strip() else None
        if found is not None:
            return found
    return None

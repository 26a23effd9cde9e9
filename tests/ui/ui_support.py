"""What the browser tests share besides their fixtures (tests/ui/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

TOKEN = "ui-merchandiser"


@dataclass
class Server:
    url: str
    api: httpx.Client

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


PAGE_TOKEN = "t-ui"
RECEIPT: dict[str, Any] = {
    "channel": "phone",
    "customer": {"name": "上海華聯貿易有限公司"},
    "lines": [{"sku": "A-100", "name": "保溫杯", "quantity": 3, "unit_price": "100.00"}],
    "delivery": {"address": "上海市浦東新區世紀大道100號", "consignee": "王小明"},
}

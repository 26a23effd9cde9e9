"""Working orders from the pages: a new order, the actions on the order page,
in Chinese, against ``ledger serve`` and Chromium (issue 14).

The page-driven history is compared with the same lifecycle driven through
the API; the guards of a page's post (form token, origin, version, one-time
key) are checked to record nothing when they refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from ui_support import TOKEN, Server

from ledger.api.auth import GRANTS
from ledger.api.ui.actions import BY_NAME
from ledger.api.ui.i18n_values import FIELDS, VALUES

pytestmark = pytest.mark.slow

CUSTOMER = "上海華聯貿易有限公司"
LINE = {"sku": "CUP-1", "name": "保溫杯", "quantity": 12, "unit_price": "18.7250"}
DELIVERY = {"address": "上海市浦東新區世紀大道100號", "consignee": "王小明"}
PROMISED, PLANNED, ISSUED = "2026-12-20", "2026-12-10", "2026-12-12"
AMOUNT = "224.70"  # 12 × 18.7250, rounded once to the fen


def history(server: Server, order_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = server.get(f"/orders/{order_id}/history")
    return entries


def facets(server: Server, order_id: str) -> dict[str, Any]:
    order = server.get(f"/orders/{order_id}")
    return {"stage": order["stage"], "status": order["status"], **order["facets"]}


def act(page: Any, name: str, fill: dict[str, str] | None = None, subject: str = "") -> None:
    """Open the action's form on the order page, fill it in, send it, land back."""
    details = page.locator(f"#act-{name}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    form = page.locator(f"[data-testid=form-{name}]")
    if subject:
        form.locator("[name=_subject]").select_option(subject)
    for field, value in (fill or {}).items():
        box = form.locator(f"[name='{field}']")
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(value)
        else:
            box.fill(value)
    with page.expect_navigation():
        form.locator(f"[data-testid=submit-{name}]").click()
    assert f"done={name}" in page.url, page.locator("main").inner_text()[:600]


def new_order_from_page(page: Any) -> str:
    page.goto("/ui/orders/new")
    for _ in range(2):  # with script, rows are added in place
        page.click("button[name=_add]")
    assert page.url.endswith("/ui/orders/new") and page.locator("[name='lines.4.sku']").count()
    page.select_option("[name=channel]", "wechat")
    page.fill("[name='customer.name']", CUSTOMER)
    page.fill("[name='delivery.address']", DELIVERY["address"])
    page.fill("[name='delivery.consignee']", DELIVERY["consignee"])
    for key, value in LINE.items():
        page.fill(f"[name='lines.0.{key}']", str(value))
    with page.expect_navigation():
        page.click("[data-testid=receive]")
    found = re.search(r"/ui/orders/([0-9a-f-]{36})\?done=receive", page.url)
    assert found, page.url
    return found.group(1)


def api_order(server: Server, **extra: Any) -> str:
    body = {"channel": "wechat", "customer": {"name": CUSTOMER}, "lines": [LINE],
            "delivery": DELIVERY, **extra}  # fmt: skip
    answer = server.api.post("/orders", json=body)
    assert answer.status_code == 201, answer.text
    order_id: str = answer.json()["id"]
    return order_id


def api(server: Server, order_id: str, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = server.api.post(f"/orders/{order_id}{path}", json=body or {})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def api_lifecycle(server: Server) -> str:
    order_id = api_order(server)
    api(server, order_id, "/verify", {"checks": {"customer": True, "product": True,
                                                 "delivery": True}})  # fmt: skip
    api(server, order_id, "/confirm", {"promised_date": PROMISED})
    shipped = api(server, order_id, "/shipments", {"planned_date": PLANNED, "lines": [
        {"sku": LINE["sku"], "quantity": LINE["quantity"]}]})  # fmt: skip
    sid = shipped["shipments"][0]["shipment_id"]
    for kind in ("dispatch_note", "waybill"):
        api(server, order_id, f"/shipments/{sid}/documents",
            {"kind": kind, "number": f"{kind[:2].upper()}-1", "status": "submitted"})  # fmt: skip
    api(server, order_id, f"/shipments/{sid}/dispatch", {"tracking_number": "SF1234567890"})
    api(server, order_id, f"/shipments/{sid}/deliver", {"received_by": "王小明"})
    api(server, order_id, "/invoices", {"invoice_number": "INV-API-1", "amount": AMOUNT,
                                        "issued_on": ISSUED})  # fmt: skip
    api(server, order_id, "/payments", {"reference": "PAY-API-1", "amount": AMOUNT,
                                        "received_on": ISSUED})  # fmt: skip
    api(server, order_id, "/settle")
    api(server, order_id, "/archive", {"archive_ref": "AR-1"})
    return order_id


def test_a_merchandiser_takes_an_order_from_the_new_order_page_to_archived_in_chinese(
    open_page: Callable[..., Any], server: Server
) -> None:
    page = open_page(lang="zh")
    order_id = new_order_from_page(page)
    assert page.locator("[data-testid=next-action]").inner_text().endswith("核对订单")
    assert page.locator("[data-testid=unit-price]").inner_text() == "18.7250"
    first = page.locator("[data-testid=actions] details.action").first
    assert first.get_attribute("data-action") == "verify"  # the next action comes first
    act(page, "verify")
    act(page, "confirm", {"promised_date": PROMISED})
    act(page, "schedule_shipment", {"planned_date": PLANNED})
    sid = page.locator("[data-testid=shipments] h3 .code").first.inner_text()
    for kind, number in (("dispatch_note", "DI-1"), ("waybill", "WA-1")):
        act(page, "issue_document", {"kind": kind, "number": number, "status": "submitted"}, sid)
    act(page, "dispatch", {"tracking_number": "SF1234567890"}, sid)
    act(page, "deliver", {"received_by": "王小明"}, sid)
    act(page, "invoice", {"invoice_number": "INV-UI-1", "amount": AMOUNT, "issued_on": ISSUED})
    act(page, "receive_payment", {"reference": "PAY-UI-1", "amount": AMOUNT, "received_on": ISSUED})
    act(page, "settle")
    act(page, "archive", {"archive_ref": "AR-1"})
    assert page.locator("[data-testid=stage]").inner_text() == "已归档"
    assert page.locator("[data-testid=no-actions]").count() == 1

    api_id = api_lifecycle(server)
    by_pages, by_api = history(server, order_id), history(server, api_id)
    assert [e["type"] for e in by_pages] == [e["type"] for e in by_api]
    assert facets(server, order_id) == facets(server, api_id)
    assert {e["actor"] for e in by_pages} == {"王芳"}  # the signed-in user, every time
    assert server.get(f"/orders/{order_id}")["channel"] == "wechat"


@pytest.mark.parametrize("role", ["warehouse", "finance", "auditor"])
def test_each_role_sees_only_its_own_actions(
    open_page: Callable[..., Any], server: Server, role: str
) -> None:
    order_id = api_order(server)
    api(server, order_id, "/verify", {"checks": {"customer": True, "product": True,
                                                 "delivery": True}})  # fmt: skip
    api(server, order_id, "/confirm", {"promised_date": PROMISED})
    api(server, order_id, "/shipments", {"planned_date": PLANNED, "lines": [
        {"sku": LINE["sku"], "quantity": LINE["quantity"]}]})  # fmt: skip
    page = open_page(token=f"ui-{role}")
    page.goto(f"/ui/orders/{order_id}")
    shown = set(page.eval_on_selector_all("[data-action]", "xs => xs.map(x => x.dataset.action)"))
    allowed = {name for name, a in BY_NAME.items() if a.permission in GRANTS[role]}
    assert shown <= allowed
    if role == "auditor":
        assert shown == set() and page.locator("[data-testid=no-actions]").count() == 1
    elif role == "warehouse":
        assert {"pack", "issue_document", "dispatch"} <= shown
    else:
        assert "invoice" in shown and not shown & {"dispatch", "verify", "hold"}


def _form_of(page: Any, name: str) -> dict[str, str]:
    """The fields a browser would send for the action's form, as it stands."""
    pairs = page.eval_on_selector(
        f"[data-testid=form-{name}]", "f => Array.from(new FormData(f).entries())"
    )
    return dict(pairs)


def _post(server: Server, order_id: str, name: str, form: dict[str, str], **headers: str) -> Any:
    return httpx.post(
        f"{server.url}/ui/orders/{order_id}/actions/{name}", data=form,
        cookies={"ledger_token": TOKEN, "ledger_lang": "zh"},
        headers={"Origin": server.url, **headers},
    )  # fmt: skip


def test_forged_and_cross_site_posts_are_refused_and_record_nothing(
    open_page: Callable[..., Any], server: Server
) -> None:
    order_id = api_order(server)
    page = open_page()
    page.goto(f"/ui/orders/{order_id}")
    form = _form_of(page, "hold") | {"reason": "credit check"}
    forged = _post(server, order_id, "hold", form | {"_csrf": "0" * 32})
    elsewhere = _post(server, order_id, "hold", form, Origin="https://evil.example")
    marked = _post(server, order_id, "hold", form, **{"Sec-Fetch-Site": "cross-site"})
    tokenless = _post(server, order_id, "hold", {k: v for k, v in form.items() if k != "_csrf"})
    for answer in (forged, elsewhere, marked, tokenless):
        assert answer.status_code == 403
        assert "该表单来自其他网站" in answer.text
    assert len(history(server, order_id)) == 1
    assert _post(server, order_id, "hold", form).status_code == 303  # the real form works
    assert [e["type"] for e in history(server, order_id)][-1] == "OrderPutOnHold"


def test_a_stale_form_records_nothing_and_a_double_submit_records_once(
    open_page: Callable[..., Any], server: Server
) -> None:
    order_id = api_order(server)
    page = open_page(lang="zh")
    page.goto(f"/ui/orders/{order_id}")
    verify = _form_of(page, "verify")
    api(server, order_id, "/verify", {"checks": {"customer": True, "product": True,
                                                 "delivery": True}})  # fmt: skip
    page.locator("#act-hold summary").click()
    page.fill("[data-testid=form-hold] [name=reason]", "客户要求暂缓")
    with page.expect_navigation():
        page.click("[data-testid=submit-hold]")
    assert "订单在您打开此页面后已被修改——请重新加载" in page.locator("#act-hold").inner_text()
    assert page.locator("[data-testid=form-hold] [name=reason]").input_value() == "客户要求暂缓"
    assert len(history(server, order_id)) == 2  # received, verified: no hold
    gone = _post(server, order_id, "verify", verify)  # a command the state no longer offers
    assert gone.status_code == 412 and "订单在您打开此页面后已被修改" in gone.text
    assert len(history(server, order_id)) == 2

    page.goto(f"/ui/orders/{order_id}")
    hold = _form_of(page, "hold") | {"reason": "客户要求暂缓"}
    first, second = _post(server, order_id, "hold", hold), _post(server, order_id, "hold", hold)
    assert first.status_code == second.status_code == 303
    assert [e["type"] for e in history(server, order_id)].count("OrderPutOnHold") == 1


def test_a_guard_refusal_shows_its_message_in_the_page_language_and_keeps_the_values(
    open_page: Callable[..., Any], server: Server
) -> None:
    order_id = api_order(server)
    api(server, order_id, "/verify", {"checks": {"customer": True, "product": True,
                                                 "delivery": True}})  # fmt: skip
    api(server, order_id, "/confirm", {"promised_date": PROMISED})
    before = len(history(server, order_id))
    refusals = {"zh": "短交关闭数量超过未发且未计划的数量。",
                "en": "CUP-1: only 12 is open and not planned for shipment"}  # fmt: skip
    for lang, message in refusals.items():
        page = open_page(lang=lang)
        page.goto(f"/ui/orders/{order_id}")
        page.locator("#act-short_close summary").click()
        form = page.locator("[data-testid=form-short_close]")
        form.locator("[name=sku]").fill("CUP-1")
        form.locator("[name=quantity]").fill("500")
        form.locator("[name=reason]").fill("客户不再需要")
        with page.expect_navigation():
            form.locator("[data-testid=submit-short_close]").click()
        assert form.locator("[data-testid=refusal]").inner_text() == message
        assert form.locator("[name=quantity]").input_value() == "500"
        assert form.locator("[name=reason]").input_value() == "客户不再需要"
    assert len(history(server, order_id)) == before


def test_the_new_order_page_refuses_what_the_api_refuses_and_adds_rows_without_script(
    open_page: Callable[..., Any], server: Server
) -> None:
    page = open_page(lang="zh", java_script_enabled=False)
    page.goto("/ui/orders/new")
    assert page.locator("[name='lines.2.sku']").count() == 1
    page.fill("[name='lines.0.sku']", "A-1")
    page.click("button[name=_add]")
    assert page.locator("[name='lines.1.sku']").count() == 1  # the kept row and a new one
    assert page.locator("[name='lines.0.sku']").input_value() == "A-1"
    page.fill("[name='customer.name']", CUSTOMER)
    page.fill("[name='delivery.address']", DELIVERY["address"])
    page.fill("[name='delivery.consignee']", DELIVERY["consignee"])
    page.fill("[name='lines.0.name']", "保溫杯")
    page.fill("[name='lines.0.quantity']", "3")
    page.fill("[name='lines.0.unit_price']", "1.23456")  # 5 decimals: the API says no
    before = server.get("/orders", limit="1")["total"]
    page.click("[data-testid=receive]")
    assert "部分内容无效" in page.locator("[data-testid=refusal]").inner_text()
    assert page.locator("[name='lines.0.unit_price']").input_value() == "1.23456"
    assert page.locator(".field-error").count() >= 1
    assert server.get("/orders", limit="1")["total"] == before


def test_screenshots_of_the_workspace_in_both_languages(
    open_page: Callable[..., Any], server: Server, shots: Path
) -> None:
    order_id = api_order(server, requested_date="2026-12-15")
    api(server, order_id, "/verify", {"checks": {"customer": True, "product": True,
                                                 "delivery": True}})  # fmt: skip
    for lang in ("en", "zh"):
        page = open_page(lang=lang, viewport={"width": 1366, "height": 900})
        page.goto("/ui/board")
        width = page.eval_on_selector(".columns", "c => [c.scrollWidth, c.clientWidth]")
        assert width[0] <= width[1]  # the board fits a 1,366 px screen
        page.screenshot(path=str(shots / f"workspace-board-{lang}.png"))
        page.goto(f"/ui/orders/{order_id}")
        page.screenshot(path=str(shots / f"workspace-order-{lang}.png"))
        page.goto("/ui/orders/new")
        page.screenshot(path=str(shots / f"workspace-new-order-{lang}.png"), full_page=True)


# -- Chinese everywhere ------------------------------------------------------------------

IDENTIFIERS = {w for w in (*VALUES, *FIELDS) if re.fullmatch(r"[a-z_]+", w)}
RAW = re.compile(
    r"(?<![A-Za-z0-9_\-./@])([a-z]+(?:_[a-z]+)+|"
    + "|".join(sorted(IDENTIFIERS, key=len, reverse=True))
    + r")(?![A-Za-z0-9_\-])"
)
# The text of the page's main region as read, every folded part unfolded,
# code-like values (SKUs, numbers, tracking numbers, recorded actors) left out.
SHOWN_TEXT = """() => {
  document.querySelectorAll('main details').forEach(d => { d.open = true; });
  const main = document.querySelector('main').cloneNode(true);
  main.querySelectorAll('code, .code, script').forEach(e => e.remove());
  document.body.appendChild(main);
  const text = main.innerText;
  main.remove();
  return text;
}"""


def _covering(server: Server) -> list[str]:
    """Demo orders whose timelines together show every event type the demo has."""
    orders = server.get("/orders", limit="200")["items"]
    types_of = {o["order_id"]: {e["type"] for e in history(server, o["order_id"])}
                for o in orders}  # fmt: skip
    wanted, chosen = set().union(*types_of.values()), []
    while wanted:
        best = max(types_of, key=lambda o: len(types_of[o] & wanted))
        chosen.append(best)
        wanted -= types_of[best]
    assert len(set().union(*(types_of[o] for o in chosen))) >= 30
    return chosen


def test_every_page_and_every_timeline_event_in_chinese_shows_no_raw_identifier(
    open_page: Callable[..., Any], server: Server
) -> None:
    page = open_page(lang="zh")
    pages = ["/ui/board", "/ui/board?as_of=2026-06-30", "/ui/backlog", "/ui/reports",
             "/ui/planning", "/ui/imports", "/ui/orders/new", "/ui/no-such-page"]  # fmt: skip
    raw: dict[str, list[str]] = {}
    for path in pages + [f"/ui/orders/{o}" for o in _covering(server)]:
        page.goto(path)
        found = [m.group(1) for m in RAW.finditer(page.evaluate(SHOWN_TEXT))]
        if found:
            raw[path] = sorted(set(found))
    assert raw == {}


def test_chart_labels_stay_inside_their_charts_with_an_order_at_the_amount_bound(
    open_page: Callable[..., Any], server: Server
) -> None:
    huge = {"sku": "BIG-1", "name": "生产线", "quantity": 1, "unit_price": "9999999999999.00"}
    answer = server.api.post("/orders", json={
        "channel": "other", "customer": {"name": CUSTOMER}, "lines": [huge],
        "delivery": DELIVERY, "currency": "CHF"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    year = answer.json()["created_at"][:4]
    page = open_page(lang="zh", viewport={"width": 1366, "height": 900})
    for _ in range(50):  # until the reports' projection has the order
        page.goto(f"/ui/reports?year={year}&currency=CHF")
        if "10T" in (page.locator("[data-testid=sales-chart]").text_content() or ""):
            break
        page.wait_for_timeout(200)
    outside = page.evaluate("""() => Array.from(document.querySelectorAll('svg')).flatMap(svg => {
        const [x0, y0, w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
        return Array.from(svg.querySelectorAll('text')).map(t => [t.textContent, t.getBBox()])
          .filter(([_, b]) => b.x < x0 || b.y < y0 || b.x + b.width > x0 + w
                              || b.y + b.height > y0 + h).map(([s]) => s); })""")
    assert outside == []
    assert "10T" in (page.locator("[data-testid=sales-chart]").text_content() or "")
    ticks = page.locator("[data-testid=orders-chart] text.tick").all_text_contents()
    assert ticks and all(re.fullmatch(r"\d+", tick) for tick in ticks)


def test_the_board_filters_by_stage_and_merchandiser_in_the_url_and_my_orders_are_mine(
    open_page: Callable[..., Any], server: Server
) -> None:
    mine = api_order(server)
    page = open_page(lang="zh")
    page.goto("/ui/board")
    with page.expect_navigation():
        page.click("[data-testid=my-orders]")
    assert "merchandiser=%E7%8E%8B%E8%8A%B3" in page.url
    picker = page.locator("#f-merchandiser option").all_text_contents()
    assert "王芳" in picker and "仓库-李" not in picker  # those who may receive orders
    shown = page.eval_on_selector_all(".card h3 a", "as => as.map(a => a.href.split('/').pop())")
    assert mine in shown
    for order_id in shown:
        assert history(server, order_id)[0]["actor"] == "王芳"
    columns = server.get("/board", limit="200")["columns"]
    demo = [card["order_id"] for column in columns for card in column["cards"]]
    others = [o for o in demo if history(server, o)[0]["actor"] != "王芳"]
    assert others and not set(others) & set(shown)

    page.goto("/ui/board?stage=settled")
    counts = {c["stage"]: c["count"] for c in server.get("/board", limit="1")["columns"]}
    shown_columns = page.eval_on_selector_all(
        "section.column", "cs => cs.map(c => [c.dataset.stage, c.querySelectorAll('.card').length,"
        " Number(c.querySelector('.count').dataset.count)])")  # fmt: skip
    assert [(s, n) for s, _, n in shown_columns if n] == [("settled", counts["settled"])]
    assert page.locator("#f-stage").input_value() == "settled"
    export = httpx.get(f"{server.url}/ui/board/export.csv", params={"stage": "settled"},
                       cookies={"ledger_token": TOKEN})  # fmt: skip
    assert export.status_code == 200
    assert len(export.text.strip().splitlines()) - 1 == counts["settled"]


def test_amend_and_a_document_status_from_the_page_send_only_what_was_changed(
    open_page: Callable[..., Any], server: Server
) -> None:
    order_id = api_order(server)
    page = open_page(lang="zh")
    page.goto(f"/ui/orders/{order_id}")
    act(page, "amend", {"reason": "客户改期", "requested_date": "2026-12-30"})
    amended = history(server, order_id)[-1]
    assert amended["type"] == "OrderAmended" and amended["reason"] == "客户改期"
    order = server.get(f"/orders/{order_id}")
    assert order["requested_date"] == "2026-12-30"
    assert order["delivery"]["address"] == DELIVERY["address"]  # the untouched group kept
    assert [line["sku"] for line in order["lines"]] == [LINE["sku"]]

    api(server, order_id, "/verify", {"checks": {"customer": True, "product": True,
                                                 "delivery": True}})  # fmt: skip
    api(server, order_id, "/confirm", {"promised_date": PROMISED})
    sid = api(server, order_id, "/shipments", {"planned_date": PLANNED, "lines": [
        {"sku": LINE["sku"], "quantity": 5}]})["shipments"][0]["shipment_id"]  # fmt: skip
    api(server, order_id, f"/shipments/{sid}/documents", {"kind": "waybill", "number": "W-9"})
    page.goto(f"/ui/orders/{order_id}")
    options = page.locator("[data-testid=form-change_document_status] [name=_subject] option")
    assert options.first.text_content() == f"{sid} · 运单"
    act(page, "change_document_status", {"status": "reviewed"}, f"{sid}|waybill")
    shipment = server.get(f"/orders/{order_id}")["shipments"][0]
    assert shipment["documents"]["waybill"]["status"] == "reviewed"
    assert "已审核" in page.locator("[data-testid=shipments]").inner_text()


def test_the_order_page_puts_the_summary_first_and_folds_a_long_timeline(
    open_page: Callable[..., Any], server: Server
) -> None:
    cards = [c for col in server.get("/board", limit="200")["columns"] for c in col["cards"]]
    late = next(c for c in cards if c["flags"]["overdue"] and c["latest_promised_date"])
    long = max(cards, key=lambda c: c["version"])
    assert long["version"] > 20
    page = open_page(lang="zh")
    page.goto(f"/ui/orders/{late['order_id']}")
    order = server.get(f"/orders/{late['order_id']}")
    assert page.locator("[data-testid=overdue]").inner_text().startswith("逾期")
    assert page.locator("[data-testid=original-promise]").inner_text() == (
        order["original_promised_date"])  # fmt: skip
    assert page.locator("[data-testid=latest-promise]").inner_text() == (
        order["latest_promised_date"])  # fmt: skip
    order_of_sections = page.eval_on_selector_all(
        "main section[aria-labelledby]", "s => s.map(x => x.getAttribute('aria-labelledby'))"
    )
    assert order_of_sections[0] == "h-summary" and order_of_sections[-1] == "h-timeline"
    assert order_of_sections.index("h-lines") < order_of_sections.index("h-shipments")

    page.goto(f"/ui/orders/{long['order_id']}")
    assert page.locator("[data-testid=timeline] > li").count() == 20
    folded = page.locator("[data-testid=older-events]")
    assert folded.get_attribute("open") is None
    assert folded.locator("ol.timeline > li").count() == long["version"] - 20

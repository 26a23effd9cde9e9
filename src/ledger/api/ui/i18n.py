"""The pages' labels in English and Chinese, and which language a request gets.

Chinese labels are Simplified (zh-Hans): merchandisers on the mainland and
the demo's customer names use it. A label missing in one language falls
back to English, then to its key, so a page never breaks over a label.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.api.ui.i18n_backlog import LABELS as BACKLOG_LABELS
from ledger.api.ui.i18n_planning import LABELS as PLANNING_LABELS
from ledger.api.ui.i18n_tracking import LABELS as TRACKING_LABELS

LANGS = ("en", "zh")
LANG_COOKIE = "ledger_lang"

_LABELS: dict[str, tuple[str, str]] = {
    # chrome
    "app": ("ledger · order follow-up", "ledger · 业务跟单"),
    "nav.board": ("Progress board", "进度看板"),
    "nav.backlog": ("Backlog", "积压订单"),
    "nav.reports": ("Reports", "数据报告"),
    "nav.imports": ("Import", "导入订单"),
    "nav.main": ("Main", "主导航"),
    "skip": ("Skip to content", "跳到正文"),
    "lang.switch": ("中文", "English"),
    "lang.switch_label": ("切换到中文", "Switch to English"),
    "logout": ("Sign out", "退出"),
    "signed_in_as": ("Signed in as", "当前用户"),
    "go_order": ("Order number", "订单号"),
    "go": ("Open", "打开"),
    # login
    "login.title": ("Sign in", "登录"),
    "login.intro": (
        "Paste your API token. It is kept in a session cookie that scripts cannot read.",
        "请粘贴您的 API 令牌。令牌保存在脚本无法读取的会话 Cookie 中。",
    ),
    "login.token": ("Token", "令牌"),
    "login.submit": ("Sign in", "登录"),
    "login.bad": ("That token is not known.", "该令牌无效。"),
    "login.expired": ("Please sign in to continue.", "请先登录。"),
    # board
    "board.title": ("Progress board", "进度看板"),
    "filters": ("Filters", "筛选"),
    "customer": ("Customer", "客户"),
    "product": ("Product", "产品"),
    "flag": ("Flag", "标记"),
    "any": ("Any", "全部"),
    "as_of": ("As of", "截至日期"),
    "as_of.hint": ("empty = now", "留空 = 现在"),
    "apply": ("Apply", "应用"),
    "reset": ("Reset", "重置"),
    "live": ("Live · refreshes every 15 s", "实时 · 每 15 秒刷新"),
    "historic": ("The board as it was at the end of {date} (UTC)", "{date}（UTC）日终时的看板"),
    "updated": ("Updated {time}", "更新于 {time}"),
    "orders_n": ("{n} orders", "{n} 个订单"),
    "more_n": ("+ {n} more", "还有 {n} 个"),
    "empty_column": ("No orders", "暂无订单"),
    "promised": ("Promised", "承诺交期"),
    "no_promise": ("no promise yet", "尚未承诺交期"),
    "days_late": ("{n} d late", "逾期 {n} 天"),
    "overdue_days": ("Overdue · {n} d", "逾期 {n} 天"),
    "shipped": ("Shipped", "已发货"),
    "invoiced": ("Invoiced", "已开票"),
    "paid": ("Paid", "已收款"),
    "next": ("Next", "下一步"),
    "live_orders": ("Live orders", "在途订单"),
    "orders_at": (
        "{n} orders open at the end of {date} (UTC)", "{date}（UTC）日终时在途订单 {n} 个"
    ),
    "merchandiser": ("Merchandiser", "跟单员"),
    "my_orders": ("My orders", "我的订单"),
    "open_qty_n": ("{n} open", "未发 {n}"),
    "stages": ("Stages", "阶段"),
    # flags
    "flag.on_hold": ("On hold", "暂停"),
    "flag.open_quality_issue": ("Quality issue", "质量问题"),
    "flag.open_complaint": ("Complaint", "客户投诉"),
    "flag.overdue": ("Overdue", "逾期"),
    "flag.transit_exception": ("Transit exception", "运输异常"),
    # stages
    "stage.received": ("Received", "已接收"),
    "stage.verified": ("Verified", "已核对"),
    "stage.confirmed": ("Confirmed", "已确认"),
    "stage.in_production": ("In production", "生产中"),
    "stage.ready_to_ship": ("Ready to ship", "待发货"),
    "stage.shipped": ("Shipped", "已发货"),
    "stage.delivered": ("Delivered", "已送达"),
    "stage.invoiced": ("Invoiced", "已开票"),
    "stage.settled": ("Settled", "已结算"),
    "stage.archived": ("Archived", "已归档"),
    "stage.on_hold": ("On hold", "暂停中"),
    "stage.cancelled": ("Cancelled", "已取消"),
    "stage.rejected": ("Verification failed", "核对未通过"),
    "stage.split": ("Split", "已拆单"),
    "stage.merged": ("Merged", "已合并"),
    # next actions (board.NEXT_ACTION and next_action())
    "act.verify order": ("Verify order", "核对订单"),
    "act.amend order and verify again": ("Amend and verify again", "修改后重新核对"),
    "act.confirm with customer": ("Confirm with customer", "与客户确认"),
    "act.plan production or allocate stock": (
        "Plan production or allocate stock",
        "安排生产或调配库存",
    ),
    "act.follow up production": ("Follow up production", "跟进生产进度"),
    "act.schedule shipment and prepare documents": (
        "Schedule shipment, prepare documents",
        "制定出货计划并办理单证",
    ),
    "act.track shipment to delivery": ("Track shipment to delivery", "跟踪货物至签收"),
    "act.invoice customer": ("Invoice customer", "开具发票"),
    "act.collect payment": ("Collect payment", "催收货款"),
    "act.archive order": ("Archive order", "订单归档"),
    "act.resolve hold and release": ("Resolve hold and release", "处理暂停并恢复"),
    "act.handle transit exception": ("Handle transit exception", "处理运输异常"),
    "act.resolve quality issue": ("Resolve quality issue", "处理质量问题"),
    "act.resolve complaint": ("Resolve complaint", "处理客户投诉"),
    "act.settle order": ("Settle order", "完成结算"),
    "act.agree a new delivery date with customer": (
        "Agree a new delivery date",
        "与客户协商新交期",
    ),
    # order page
    "order.title": ("Order {number}", "订单 {number}"),
    "order.version_of": ("Version {v} of {n}", "第 {v} 版，共 {n} 版"),
    "order.state_at": ("State at version", "查看版本状态"),
    "order.show": ("Show", "查看"),
    "order.latest": ("Latest", "最新"),
    "order.viewing_past": (
        "You are looking at the order as it was after event {v}. Later events are dimmed.",
        "当前显示第 {v} 个事件之后的订单状态，之后的事件以浅色显示。",
    ),
    "order.summary": ("Summary", "概要"),
    "order.timeline": ("Timeline", "事件时间线"),
    "order.window": (
        "Versions {first}–{last} of {n}; the slider opens any other.",
        "显示第 {first}–{last} 版，共 {n} 版；用滑块查看其他版本。",
    ),
    "order.lines": ("Lines", "订单明细"),
    "order.shipments": ("Shipments", "出货"),
    "order.documents": ("Transport documents", "运输单证"),
    "order.invoices": ("Invoices and credit notes", "发票与贷项"),
    "order.payments": ("Payments", "收款"),
    "order.complaints": ("Complaints", "客户投诉"),
    "order.quality": ("Quality issues", "质量问题"),
    "order.promises": ("Delivery promises", "交期承诺"),
    "order.older": ("{n} earlier events", "更早的 {n} 个事件"),
    "order.supply": ("Purchases and production", "采购与生产"),
    "order.production": ("Production", "生产进度"),
    "order.production_done": ("complete", "已完成"),
    "order.po": ("Purchase order", "采购单号"),
    "order.supplier": ("Supplier", "供应商"),
    "order.eta": ("Expected", "预计到货"),
    "order.accepted": ("Accepted", "合格"),
    "order.rejected": ("Rejected", "不合格"),
    "order.dispatched_at": ("Dispatched", "发出时间"),
    "order.delivered_at": ("Delivered", "签收时间"),
    "stage": ("Stage", "阶段"),
    "order.chain": ("Hash chain verification", "哈希链校验"),
    "chain.ok": (
        "Intact: {n} events checked, none changed or missing.",
        "完整：已校验 {n} 个事件，无篡改或缺失。",
    ),
    "chain.sealed": ("Sealed under the audit key.", "已用审计密钥封存。"),
    "chain.unsealed": (
        "{n} events not sealed yet (the next seal covers them).",
        "{n} 个事件尚未封存（下次封存时覆盖）。",
    ),
    "chain.broken": ("Broken: {n} finding(s).", "已损坏：发现 {n} 处问题。"),
    "chain.wrong_key": (
        "Sealed with key {other}, this service's key is {this}: the seals cannot be checked.",
        "封存所用密钥为 {other}，本服务密钥为 {this}：无法校验封存。",
    ),
    "chain.na": ("Not available: {why}", "不可用：{why}"),
    "none": ("None", "无"),
    "channel": ("Channel", "渠道"),
    "currency": ("Currency", "币种"),
    "total": ("Total", "总额"),
    "outstanding": ("Outstanding", "未收"),
    "ordered": ("Ordered", "订购"),
    "delivered": ("Delivered", "已签收"),
    "requested": ("Requested", "客户要求"),
    "original_promise": ("Original promise", "原承诺交期"),
    "latest_promise": ("Latest promise", "最新承诺交期"),
    "consignee": ("Consignee", "收货人"),
    "address": ("Address", "地址"),
    "payment_terms": ("Payment terms", "付款条件"),
    "contract": ("Contract", "合同"),
    "version": ("Version", "版本"),
    "event": ("Event", "事件"),
    "time": ("Time", "时间"),
    "actor": ("Actor", "操作人"),
    "reason": ("Reason", "原因"),
    "changed": ("What changed", "变更内容"),
    "details": ("Details", "详情"),
    "recorded": ("recorded", "记录于"),
    "sku": ("SKU", "SKU"),
    "name": ("Name", "名称"),
    "quantity": ("Qty", "数量"),
    "unit_price": ("Unit price", "单价"),
    "amount": ("Amount", "金额"),
    "open": ("Open", "未发"),
    "shipment": ("Shipment", "出货单"),
    "planned": ("Planned", "计划日期"),
    "carrier": ("Carrier", "承运商"),
    "mode": ("Mode", "运输方式"),
    "status": ("Status", "状态"),
    "tracking": ("Tracking", "运单号"),
    "location": ("Location", "位置"),
    "kind": ("Kind", "类型"),
    "number": ("Number", "编号"),
    "discrepancy": ("Discrepancy", "差异"),
    "issued_on": ("Issued", "开具日期"),
    "received_on": ("Received", "到账日期"),
    "reference": ("Reference", "参考号"),
    "credit_note": ("Credit note", "贷项通知"),
    "invoice": ("Invoice", "发票"),
    "category": ("Category", "类别"),
    "severity": ("Severity", "严重程度"),
    "description": ("Description", "描述"),
    "resolution": ("Resolution", "处理结果"),
    "date": ("Date", "日期"),
    # backlog
    "backlog.title": ("Backlog", "积压订单"),
    "backlog.ageing": ("Ageing of overdue orders (days late)", "逾期订单账龄（逾期天数）"),
    "backlog.against_original": ("against the original promise", "按原承诺交期"),
    "backlog.against_latest": ("against the latest promise", "按最新承诺交期"),
    "backlog.list": ("Overdue and stale orders", "逾期与停滞订单"),
    "backlog.overdue_original": ("Overdue (original)", "逾期（原交期）"),
    "backlog.overdue_latest": ("Overdue (latest)", "逾期（最新交期）"),
    "backlog.stale": ("Stale", "停滞"),
    "backlog.quiet": ("Quiet {n} d", "{n} 天无进展"),
    "backlog.open_qty": ("Open qty", "未发数量"),
    "backlog.open_value": ("Open value", "未发金额"),
    "backlog.orders": ("Orders", "订单数"),
    "backlog.by_customer": ("Open value by customer", "按客户的未发金额"),
    "backlog.showing": ("Showing {shown} of {total}", "显示 {shown} / {total}"),
    "days": ("days", "天"),
    # reports
    "reports.title": ("Reports", "数据报告"),
    "year": ("Year", "年份"),
    "reports.orders_by_month": ("Orders by month", "每月订单数"),
    "reports.sales_by_month": ("Sales by month ({currency})", "每月销售额（{currency}）"),
    "reports.this_year": ("{year}", "{year} 年"),
    "reports.top_customers": ("Top customers ({currency})", "主要客户（{currency}）"),
    "reports.top_products": ("Top products ({currency})", "主要产品（{currency}）"),
    "reports.lead_times": ("Stage lead times (days from received)", "各阶段周期（自接单起天数）"),
    "reports.median": ("Median", "中位数"),
    "reports.p90": ("P90", "P90"),
    "reports.step": ("Own step (median)", "本阶段用时（中位数）"),
    "reports.bottleneck": (
        "Bottleneck: {stage} — its own step takes {days} days (median).",
        "瓶颈：{stage}——本阶段用时中位数 {days} 天。",
    ),
    "reports.unavailable": ("The reports read model is not available.", "报表数据暂不可用。"),
    "reports.month": ("Month", "月份"),
    "reports.orders": ("Orders", "订单数"),
    "reports.stage": ("Stage", "阶段"),
    "reports.n_orders": ("Orders", "订单数"),
    "chart.table": ("Data table", "数据表"),
    "month.1": ("Jan", "1月"), "month.2": ("Feb", "2月"), "month.3": ("Mar", "3月"),
    "month.4": ("Apr", "4月"), "month.5": ("May", "5月"), "month.6": ("Jun", "6月"),
    "month.7": ("Jul", "7月"), "month.8": ("Aug", "8月"), "month.9": ("Sep", "9月"),
    "month.10": ("Oct", "10月"), "month.11": ("Nov", "11月"), "month.12": ("Dec", "12月"),
    # forms and actions (ledger.api.ui.workspace)
    "form.remove": ("Remove", "删除"),
    "form.add_row": ("Add a row", "添加一行"),
    "form.cancel": ("Cancel", "取消"),
    "form.stale": (
        "The order changed since you opened it — reload the page. Nothing was recorded.",
        "订单在您打开此页面后已被修改——请重新加载。本次未记录任何内容。",
    ),
    "form.invalid": (
        "Some entries are not valid; nothing was recorded. See the marked fields.",
        "部分内容无效，未记录任何内容。请查看标出的字段。",
    ),
    "form.forbidden": ("Your role may not do this.", "您的角色无权执行此操作。"),
    "new.title": ("New order", "新建订单"),
    "new.intro": (
        "Received by phone, e-mail, WeChat or in person: enter it here. "
        "The system gives it its number.",
        "通过电话、邮件、微信或现场接到的订单，在此录入，系统自动生成订单号。",
    ),
    "new.submit": ("Record the order", "录入订单"),
    "nav.new": ("New order", "新建订单"),
    "actions.title": ("Actions", "操作"),
    "actions.none": (
        "Nothing for your role to do on this order now.", "您的角色目前对此订单无可执行的操作。"
    ),
    "actions.done": ("Recorded: {what}.", "已记录：{what}。"),
    "actions.subject.pack": ("Shipment", "出货单"),
    "actions.subject.issue_document": ("Shipment", "出货单"),
    "actions.subject.dispatch": ("Shipment", "出货单"),
    "actions.subject.update_transit": ("Shipment", "出货单"),
    "actions.subject.deliver": ("Shipment", "出货单"),
    "actions.subject.resolve_quality_issue": ("Quality issue", "质量问题"),
    "actions.subject.resolve_complaint": ("Complaint", "投诉"),
    "actions.subject.receive_purchase": ("Purchase order", "采购单"),
    "actions.subject.reschedule_shipment": ("Shipment", "出货单"),
    "actions.subject.change_document_status": ("Shipment · document", "出货单 · 单证"),
    # errors
    "error.not_found": ("Not found", "未找到"),
    "error.no_order": ("There is no order {what}.", "没有订单 {what}。"),
    "error.bad_input": ("Invalid input: {what}", "输入无效：{what}"),
    "error.invalid": ("Invalid request", "请求无效"),
    "error.no_page": ("There is no page {what}.", "没有页面 {what}。"),
    "error.forbidden": ("Refused", "已拒绝"),
    "error.other_site": (
        "This form was sent from another site; nothing was done.",
        "该表单来自其他网站，未执行任何操作。",
    ),
    "back_to_board": ("Back to the board", "返回看板"),
    # downloads (exports and printable documents)
    "download": ("Download", "下载"),
    "download.csv": ("CSV", "CSV"),
    "download.xlsx": ("Excel", "Excel"),
    "download.cards": ("Every card", "全部卡片"),
    "download.orders": ("Every order listed", "全部订单"),
    "download.template": ("Its orders as an import template", "订单（导入模板格式）"),
    "download.sales_month": ("Sales by month", "按月销售"),
    "download.sales_customer": ("Sales by customer", "按客户销售"),
    "download.sales_product": ("Sales by product", "按产品销售"),
    "download.lead_times": ("Lead times", "阶段周期"),
    "print.title": ("Printable documents", "打印单据"),
    "print.dispatch_note": ("Dispatch note", "发货单"),
    "print.packing_list": ("Packing list", "装箱单"),
    "print.statement": ("Customer statement (PDF)", "客户对账单（PDF）"),
}  # fmt: skip

_EVENTS: dict[str, tuple[str, str]] = {
    "OrderReceived": ("Order received", "接收订单"),
    "OrderVerified": ("Order verified", "订单核对通过"),
    "VerificationFailed": ("Verification failed", "订单核对未通过"),
    "OrderAmended": ("Order amended", "订单变更"),
    "OrderConfirmed": ("Confirmed with customer", "与客户确认"),
    "DeliveryDatePromised": ("Delivery date promised", "承诺交期"),
    "OrderSplit": ("Order split", "拆单"),
    "OrderMerged": ("Order merged", "合并订单"),
    "ShipmentScheduled": ("Shipment scheduled", "制定出货计划"),
    "ShipmentRescheduled": ("Shipment rescheduled", "调整出货计划"),
    "StockAllocated": ("Stock allocated", "调配库存"),
    "StockReleased": ("Stock released", "释放库存"),
    "PurchaseOrdered": ("Purchase ordered", "下达采购单"),
    "PurchaseReceived": ("Purchase received", "采购到货"),
    "ProductionProgressed": ("Production progressed", "生产进度更新"),
    "ProductionCompleted": ("Production completed", "生产完成"),
    "QualityIssueRaised": ("Quality issue raised", "发现质量问题"),
    "QualityIssueResolved": ("Quality issue resolved", "质量问题已处理"),
    "OrderPacked": ("Packed", "包装完成"),
    "DocumentIssued": ("Document issued", "开具单证"),
    "DocumentStatusChanged": ("Document status changed", "单证状态变更"),
    "ShipmentDispatched": ("Shipment dispatched", "发货"),
    "LineShortClosed": ("Line short-closed", "短交关闭"),
    "TransitUpdated": ("Transit updated", "货物动态更新"),
    "ShipmentDelivered": ("Shipment delivered", "货物签收"),
    "OrderInvoiced": ("Invoiced", "开具发票"),
    "CreditNoteIssued": ("Credit note issued", "开具贷项通知"),
    "PaymentReceived": ("Payment received", "收到货款"),
    "OrderSettled": ("Order settled", "订单结算"),
    "ComplaintFiled": ("Complaint filed", "客户投诉"),
    "ComplaintResolved": ("Complaint resolved", "投诉已处理"),
    "OrderPutOnHold": ("Put on hold", "暂停订单"),
    "OrderReleased": ("Released", "恢复订单"),
    "OrderCancelled": ("Order cancelled", "取消订单"),
    "OrderArchived": ("Order archived", "订单归档"),
    "PersonalDataErased": ("Personal data erased", "个人数据已删除"),
    "TrackingLinkIssued": ("Tracking link issued", "发出跟踪链接"),
    "TrackingLinkRevoked": ("Tracking link revoked", "撤销跟踪链接"),
    "BacklogReviewed": ("Backlog reviewed", "积压订单审查"),
    "BacklogDisposed": ("Backlog decision", "积压订单处理"),
}

_LABELS.update(PLANNING_LABELS)
_LABELS.update(TRACKING_LABELS)
_LABELS.update(BACKLOG_LABELS)

Translate = Callable[..., str]


def translator(lang: str) -> Translate:
    """``t(key, **values)``: the label in ``lang``, formatted with ``values``."""
    index = 1 if lang == "zh" else 0

    def t(key: str, **values: object) -> str:
        pair = _LABELS.get(key) or _EVENTS.get(key)
        text = (pair[index] or pair[0]) if pair else key.split(".", 1)[-1]
        return text.format(**values) if values else text

    return t


def event_label(kind: str, lang: str) -> str:
    pair = _EVENTS.get(kind)
    return pair[1 if lang == "zh" else 0] if pair else kind


def choose_lang(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's choice; else the first of en/zh the browser prefers; else English."""
    if cookie in LANGS:
        return cookie
    best, best_q = "en", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        lang = tag.strip().lower()[:2]
        if lang in LANGS and q > best_q:
            best, best_q = lang, q
    return best

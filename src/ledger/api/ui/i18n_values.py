"""Labels for the values the pages show and the fields events carry, and the
guards' refusals, in English and Chinese.

A value (``road``, ``submitted``, ``wechat``) is an identifier of the domain;
a page shows its label, never the identifier itself. ``tests/ui`` renders
every page and timeline in Chinese and fails on an identifier left raw.
"""

from __future__ import annotations

from typing import Any

# Every closed choice of the domain (ledger.aggregates.values and the statuses of
# ledger.aggregates.state), by the word the events and the state carry.
VALUES: dict[str, tuple[str, str]] = {
    # channels
    "phone": ("phone", "电话"),
    "email": ("e-mail", "邮件"),
    "platform": ("online platform", "网上平台"),
    "onsite": ("on site", "现场"),
    "wechat": ("WeChat", "微信"),
    "other": ("other", "其他"),
    # transport modes
    "road": ("road", "公路"),
    "rail": ("rail", "铁路"),
    "air": ("air", "空运"),
    "sea": ("sea", "海运"),
    "express": ("express", "快递"),
    # severities
    "minor": ("minor", "轻微"),
    "major": ("major", "严重"),
    "critical": ("critical", "致命"),
    # resolutions of quality issues
    "return": ("return", "退货"),
    "exchange": ("exchange", "换货"),
    "repair": ("repair", "返修"),
    "compensation": ("compensation", "赔偿"),
    # transit statuses
    "in_transit": ("in transit", "运输中"),
    "delayed": ("delayed", "延误"),
    "damaged": ("damaged", "货损"),
    "lost": ("lost", "丢失"),
    # documents
    "bill_of_lading": ("bill of lading", "提单"),
    "waybill": ("waybill", "运单"),
    "customs_declaration": ("customs declaration", "报关单"),
    "dispatch_note": ("dispatch note", "发货单"),
    "packing_list": ("packing list", "装箱单"),
    "drafted": ("drafted", "草拟"),
    "reviewed": ("reviewed", "已审核"),
    "submitted": ("submitted", "已提交"),
    "cleared": ("cleared", "已放行"),
    "rejected": ("rejected", "被退回"),
    # shipments, purchases, issues, complaints
    "planned": ("planned", "已计划"),
    "packed": ("packed", "已包装"),
    "dispatched": ("dispatched", "已发出"),
    "delivered": ("delivered", "已签收"),
    "open": ("open", "未结"),
    "closed": ("closed", "已关闭"),
    "resolved": ("resolved", "已处理"),
    # payment methods
    "bank_transfer": ("bank transfer", "银行转账"),
    "letter_of_credit": ("letter of credit", "信用证"),
    "cash": ("cash", "现金"),
    "cheque": ("cheque", "支票"),
    "online": ("online payment", "在线支付"),
    # check areas
    "customer": ("customer", "客户"),
    "product": ("product", "产品"),
    "delivery": ("delivery", "交货"),
    # order statuses (the status facet; the stages have their own labels)
    "received": ("received", "已接收"),
    "verified": ("verified", "已核对"),
    "confirmed": ("confirmed", "已确认"),
    "in_production": ("in production", "生产中"),
    "ready_to_ship": ("ready to ship", "待发货"),
    "shipped": ("shipped", "已发货"),
    "invoiced": ("invoiced", "已开票"),
    "settled": ("settled", "已结算"),
    "archived": ("archived", "已归档"),
    "on_hold": ("on hold", "暂停中"),
    "cancelled": ("cancelled", "已取消"),
    "split": ("split", "已拆单"),
    "merged": ("merged", "已合并"),
}

# The fields of events (their payloads) and of what an event changed.
FIELDS: dict[str, tuple[str, str]] = {
    "accepted": ("accepted", "合格数量"),
    "amount": ("amount", "金额"),
    "archive_ref": ("archive reference", "归档编号"),
    "carrier": ("carrier", "承运商"),
    "category": ("category", "类别"),
    "channel": ("channel", "渠道"),
    "checks": ("checks", "核对项"),
    "children": ("child orders", "子订单"),
    "complaint_id": ("complaint", "投诉编号"),
    "contact": ("contact", "联系人"),
    "contract_ref": ("contract", "合同号"),
    "credit_note_number": ("credit note", "贷项通知号"),
    "currency": ("currency", "币种"),
    "customer": ("customer", "客户"),
    "customer_feedback": ("customer feedback", "客户反馈"),
    "delivery": ("delivery", "交货信息"),
    "description": ("description", "描述"),
    "discrepancy": ("discrepancy", "差异"),
    "estimated_cost": ("estimated cost", "预估费用"),
    "eta": ("expected arrival", "预计到货"),
    "export": ("export", "出口"),
    "into": ("merged into", "合并至"),
    "into_number": ("merged into", "合并至订单"),
    "invoice_info": ("invoice details", "开票信息"),
    "invoice_number": ("invoice", "发票号"),
    "issue_id": ("quality issue", "质量问题编号"),
    "issued_on": ("issued on", "开具日期"),
    "items": ("items", "物料"),
    "kind": ("kind", "类型"),
    "labels": ("labels", "标签"),
    "lines": ("lines", "订单明细"),
    "location": ("location", "位置"),
    "materials": ("materials", "包装材料"),
    "merged_from": ("merged from", "合并自"),
    "mode": ("transport mode", "运输方式"),
    "transport_mode": ("transport mode", "运输方式"),
    "note": ("note", "备注"),
    "number": ("number", "编号"),
    "packages": ("packages", "件数"),
    "payment_terms": ("payment terms", "付款条件"),
    "percent": ("percent", "百分比"),
    "planned_date": ("planned date", "计划日期"),
    "po_number": ("purchase order", "采购单号"),
    "problems": ("problems", "问题"),
    "promised_date": ("promised date", "承诺交期"),
    "quantity": ("quantity", "数量"),
    "reason": ("reason", "原因"),
    "received_by": ("received by", "签收人"),
    "received_on": ("received on", "到账日期"),
    "reference": ("reference", "参考号"),
    "rejected": ("rejected", "不合格数量"),
    "requested_date": ("requested date", "客户要求交期"),
    "resolution": ("resolution", "处理结果"),
    "severity": ("severity", "严重程度"),
    "shipment_id": ("shipment", "出货单号"),
    "sku": ("SKU", "SKU"),
    "special_requirements": ("special requirements", "特殊要求"),
    "split_from": ("split from", "拆分自"),
    "stage": ("stage", "阶段"),
    "status": ("status", "状态"),
    "supplier": ("supplier", "供应商"),
    "tracking_number": ("tracking number", "运单号"),
    "warehouse": ("warehouse", "仓库"),
    "name": ("name", "名称"),
    "phone": ("phone", "电话"),
    "email": ("e-mail", "邮箱"),
    "address": ("address", "地址"),
    "consignee": ("consignee", "收货人"),
    "unit_price": ("unit price", "单价"),
    "model": ("model", "型号"),
    "spec": ("specification", "规格"),
    "method": ("method", "方式"),
    "due_days": ("due days", "账期天数"),
    "prepayment_percent": ("prepayment %", "预付比例"),
    "part": ("part", "物料"),
    "unit_cost": ("unit cost", "单位成本"),
    "received_on_date": ("received on", "到货日期"),
    "progress_stage": ("progress", "进度阶段"),
    "on_hold": ("on hold", "暂停"),
    "hold_reason": ("hold reason", "暂停原因"),
    "cancel_reason": ("cancel reason", "取消原因"),
    "latest_promised_date": ("latest promise", "最新承诺交期"),
    "original_promised_date": ("original promise", "原承诺交期"),
    "total": ("total", "总额"),
    "net_invoiced": ("invoiced (net)", "净开票额"),
    "invoiced": ("invoiced", "已开票"),
    "credited": ("credited", "已贷记"),
    "paid": ("paid", "已收款"),
    "outstanding": ("outstanding", "未收"),
    "ordered": ("ordered", "订购"),
    "shipped": ("shipped", "已发货"),
    "delivered": ("delivered", "已签收"),
    "short_closed": ("short-closed", "短交关闭"),
    "open_quantity": ("open quantity", "未发数量"),
    "shipped_ratio": ("shipped share", "发货比例"),
    "invoiced_ratio": ("invoiced share", "开票比例"),
    "paid_ratio": ("paid share", "收款比例"),
    "delivered_ratio": ("delivered share", "签收比例"),
    "allocated": ("allocated", "已调配"),
    "production_percent": ("production", "生产进度"),
    "transit_status": ("transit", "运输状态"),
    "planned_quantity": ("planned", "已计划数量"),
}

# The guards' refusals (DomainError codes) in Chinese; English pages show the
# guard's own message, which names the figures.
GUARDS_ZH: dict[str, str] = {
    "amount_has_too_many_decimals": "金额的小数位数超过该币种的最小单位。",
    "amount_must_be_positive": "金额必须为正数。",
    "amount_must_not_be_negative": "金额不能为负数。",
    "amount_too_large": "金额必须小于 10^13。",
    "cannot_allocate_more_than_open": "调配数量超过未发数量。",
    "cannot_amend_after_production_started": "生产开始后不能再修改订单。",
    "cannot_amend_below_invoiced": "修改后的总额不能低于已开票金额。",
    "cannot_amend_lines_with_progress": "已短交关闭或已开票的明细不能替换。",
    "cannot_amend_lines_with_shipments_or_allocations": "请先释放库存、撤销出货计划，再修改明细。",
    "cannot_archive_unsettled_order": "只有已结算或已取消的订单才能归档。",
    "cannot_archive_with_open_items": "请先处理未结的投诉、质量问题和采购单。",
    "cannot_cancel_after_dispatch": "货物已发出，不能取消订单。",
    "cannot_cancel_invoiced_order": "请先开具贷项通知冲销发票，再取消订单。",
    "cannot_credit_more_than_unpaid_invoiced": "贷项金额超过已开票且未收款的金额。",
    "cannot_invoice_more_than_allowed": (
        "开票金额超过当前允许的额度（签收前只能按约定预付比例开票）。"
    ),
    "cannot_invoice_more_than_ordered": "开票数量超过订购数量。",
    "cannot_merge_different_customers": "只能合并同一客户、同一币种的订单。",
    "cannot_merge_different_prices": "待合并订单中同一产品的单价不同。",
    "cannot_pay_more_than_outstanding": "收款金额超过已开票未收的金额。",
    "cannot_plan_more_than_ordered": "计划出货数量超过订购数量。",
    "cannot_receive_more_than_ordered": "到货数量超过采购单尚待到货的数量。",
    "cannot_release_more_than_allocated": "释放数量超过已调配数量。",
    "cannot_settle_uninvoiced_shipments": "已发货的货物必须全部开票后才能结算。",
    "cannot_settle_unpaid_balance": "仍有未收款项，不能结算。",
    "cannot_settle_with_goods_in_transit": "所有已发出的货物签收后才能结算。",
    "cannot_settle_with_open_lines": "请先发货或短交关闭所有明细。",
    "cannot_ship_more_than_ordered": "发货数量超过订购数量。",
    "cannot_ship_more_than_planned": "发货数量超过出货计划数量。",
    "cannot_short_close_allocated_quantity": "请先释放已调配库存，再短交关闭。",
    "cannot_short_close_more_than_open": "短交关闭数量超过未发且未计划的数量。",
    "complaint_not_open": "该投诉已处理。",
    "date_out_of_range": "日期必须在 2000-01-01 至 2099-12-31 之间。",
    "document_already_issued": "该出货单的此类单证已开具。",
    "duplicate_complaint": "投诉编号已存在。",
    "duplicate_credit_note": "贷项通知号已存在。",
    "duplicate_invoice": "发票号已存在。",
    "duplicate_payment": "该收款已记录。",
    "duplicate_purchase_order": "采购单号已存在。",
    "duplicate_quality_issue": "质量问题编号已存在。",
    "duplicate_shipment": "出货单号已存在。",
    "duplicate_sku": "同一 SKU 出现了两次。",
    "invalid_checks": "必须分别给出客户、产品、交货三项核对结果。",
    "invalid_currency": "币种必须是 ISO 4217 代码。",
    "invalid_document_transition": "单证不能变更为该状态。",
    "invalid_due_days": "账期天数必须在 0 到 365 之间。",
    "invalid_prepayment_percent": "预付比例必须在 0 到 100 之间。",
    "lines_required": "至少需要一行明细。",
    "merge_has_no_open_lines": "这些订单已没有待发货的明细。",
    "merge_needs_two_orders": "合并至少需要两个不同的订单。",
    "missing_value": "必填项不能为空。",
    "nothing_to_amend": "修改必须有实际变更。",
    "open_critical_quality_issue": "存在未处理的致命质量问题，不能发货。",
    "order_already_confirmed": "订单已确认。",
    "order_already_on_hold": "订单已处于暂停状态。",
    "order_closed": "订单已关闭，不能再操作。",
    "order_needs_a_line": "订单至少需要一行明细。",
    "order_not_awaiting_verification": "只有已接收或核对未通过的订单才能核对。",
    "order_not_confirmed": "订单须先与客户确认。",
    "order_not_on_hold": "订单未处于暂停状态。",
    "order_not_verified": "只有已核对的订单才能确认。",
    "order_on_hold": "订单暂停中，不能执行此操作。",
    "order_settled": "订单已结算。",
    "percent_out_of_range": "百分比必须在 0 到 100 之间。",
    "production_already_completed": "生产已完成。",
    "production_percent_cannot_decrease": "生产进度不能倒退。",
    "purchase_order_not_open": "采购单已关闭。",
    "quality_issue_not_open": "该质量问题已处理。",
    "quantity_must_be_positive": "数量必须是正整数。",
    "quantity_too_large": "数量超过上限。",
    "required_documents_missing": "发货前单证至少须为已提交状态。",
    "shipment_already_delivered": "该出货单已签收。",
    "shipment_already_dispatched": "该出货单已发出。",
    "shipment_not_in_transit": "该出货单不在运输中。",
    "split_must_conserve_lines": "拆分后各部分之和必须正好等于订单的未发明细。",
    "split_needs_two_parts": "拆单至少需要两部分。",
    "split_part_empty": "拆单的每一部分都需要明细。",
    "unknown_complaint": "没有该投诉。",
    "unknown_document": "该出货单没有此单证。",
    "unknown_invoice": "没有该发票。",
    "unknown_purchase_order": "没有该采购单。",
    "unknown_quality_issue": "没有该质量问题。",
    "unknown_shipment": "没有该出货单。",
    "unknown_sku": "订单中没有该 SKU。",
    # refusals of the pages themselves
    "stale": "订单在您打开此页面后已被修改——请重新加载。",
    "invalid_input": "输入无效。",
    "forbidden": "您的角色无权执行此操作。",
}


def value_label(value: Any, lang: str) -> str:
    """The label of a domain value in ``lang``; anything else as it is."""
    if isinstance(value, str):
        pair = VALUES.get(value)
        if pair is not None:
            return pair[1 if lang == "zh" else 0]
    return "" if value is None else str(value)


def field_label(key: str, lang: str) -> str:
    pair = FIELDS.get(key)
    if pair is None:
        return key.replace("_", " ")
    return pair[1 if lang == "zh" else 0]


def guard_message(code: str, message: str, lang: str) -> str:
    """A refusal in the page's language: the guard's message in English."""
    if lang == "zh":
        return GUARDS_ZH.get(code, "操作被拒绝。")
    return message

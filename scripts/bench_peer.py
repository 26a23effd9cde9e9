"""The peer that `scripts/bench http` measures ledger against: the naive way to
build this service's write endpoint.

A plain FastAPI app: ``POST /orders`` validates a body like ledger's
(customer, lines, delivery) with pydantic and saves one ``Order`` created
event with the eventsourcing library's defaults on PostgreSQL (its recorder
takes the table lock on every save; no group commit, no projections, no
auth, no idempotency, no hash chain, no order number). ``GET /health``
answers without touching the store.

Run by the bench as ``uvicorn bench_peer:app --workers 2`` with the library's
``POSTGRES_*`` variables in the environment (``PERSISTENCE_MODULE`` is set
here).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from fastapi import FastAPI
from pydantic import BaseModel, Field

os.environ.setdefault("PERSISTENCE_MODULE", "eventsourcing.postgres")


class Customer(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(default="", max_length=50)


class Line(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class Delivery(BaseModel):
    address: str = Field(min_length=1, max_length=500)
    consignee: str = Field(default="", max_length=200)


class Receipt(BaseModel):
    channel: str = Field(min_length=1, max_length=32)
    customer: Customer
    lines: list[Line] = Field(min_length=1, max_length=500)
    delivery: Delivery


class Order(Aggregate):
    def __init__(
        self,
        channel: str,
        customer: dict[str, Any],
        lines: list[dict[str, Any]],
        delivery: dict[str, Any],
    ) -> None:
        self.channel = channel
        self.customer = customer
        self.lines = lines
        self.delivery = delivery


class Orders(Application[Any]):
    pass


orders = Orders()
app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/orders", status_code=201)
def create(receipt: Receipt) -> dict[str, Any]:
    order = Order(
        channel=receipt.channel,
        customer=receipt.customer.model_dump(),
        lines=[line.model_dump(mode="json") for line in receipt.lines],
        delivery=receipt.delivery.model_dump(),
    )
    orders.save(order)
    return {"id": str(order.id), "version": order.version}

"""Idempotency keys belong to their caller (the token's name, else its
fingerprint): the same key from two callers is two keys, so nobody can claim
another's key ahead of time or receive another's recorded answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from api_client import ALL_CHECKS, receipt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.api.schemas import ReceiveIn
from ledger.application import Ctx, Ledger
from ledger.settings import Settings

TOKENS: dict[str, Any] = {
    "t-sally": {"role": "sales", "name": "sally"},
    "t-sam": {"role": "sales", "name": "sam"},
    "t-sally-phone": {"role": "sales", "name": "sally"},  # the same person, a second token
    "t-w1": "merchandiser",  # no names: told apart by their fingerprints
    "t-w2": "merchandiser",
    "t-admin": {"role": "admin", "name": "adam"},
}


@pytest.fixture(params=["memory", "sqlite"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FastAPI]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{quote(str(tmp_path / 'l.db'))}"
    yield create_app(Settings(database_url=url, tokens=TOKENS))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as http:
        yield http


def post(client: TestClient, token: str, path: str, body: Any, key: str) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    return client.post(path, json=body, headers=headers)


def replayed(response: Any) -> bool:
    return bool(response.headers.get("Idempotent-Replayed") == "true")


def test_the_same_key_from_two_callers_is_two_keys(client: TestClient) -> None:
    first = post(client, "t-sally", "/orders", receipt(), "order-1")
    other = post(client, "t-sam", "/orders", receipt(), "order-1")
    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["id"] != other.json()["id"] and not replayed(other)
    again = post(client, "t-sally", "/orders", receipt(), "order-1")
    assert replayed(again) and again.json()["id"] == first.json()["id"]


def test_a_key_claimed_ahead_of_time_takes_nothing_from_its_victim(client: TestClient) -> None:
    """Sam sends Sally's predictable key first, with another body: Sally's
    command still runs, and Sam never sees its answer."""
    post(client, "t-sam", "/orders", receipt(channel="email"), "sally-monday-1")
    sallys = post(client, "t-sally", "/orders", receipt(), "sally-monday-1")
    assert sallys.status_code == 201 and not replayed(sallys)
    sams = post(client, "t-sam", "/orders", receipt(), "sally-monday-1")
    assert sams.status_code == 422 and sams.json()["code"] == "idempotency_key_reused"
    assert sallys.json()["id"] not in sams.text


def test_tokens_of_one_name_share_their_keys(client: TestClient) -> None:
    first = post(client, "t-sally", "/orders", receipt(), "order-2")
    again = post(client, "t-sally-phone", "/orders", receipt(), "order-2")
    assert replayed(again) and again.json()["id"] == first.json()["id"]


def test_tokens_without_a_name_are_told_apart_by_their_fingerprints(client: TestClient) -> None:
    order = post(client, "t-w1", "/orders", receipt(), "o")
    path = f"/orders/{order.json()['id']}/verify"
    first = post(client, "t-w1", path, {"checks": ALL_CHECKS}, "verify-1")
    second = post(client, "t-w2", path, {"checks": ALL_CHECKS}, "verify-1")
    assert first.status_code == 200 and not replayed(first)
    # Not w1's answer replayed: w2's own command, refused as the order is verified.
    assert second.status_code == 409 and second.json()["code"] == "order_not_awaiting_verification"


def test_generated_ids_differ_between_callers_with_the_same_key(client: TestClient) -> None:
    order = post(client, "t-w1", "/orders", receipt(), "o").json()["id"]
    post(client, "t-w1", f"/orders/{order}/verify", {"checks": ALL_CHECKS}, "v")
    post(client, "t-w1", f"/orders/{order}/confirm", {"promised_date": "2026-10-15"}, "c")
    complaint = {"category": "late", "description": "two days late"}
    mine = post(client, "t-w1", f"/orders/{order}/complaints", complaint, "complaint-1")
    theirs = post(client, "t-w2", f"/orders/{order}/complaints", complaint, "complaint-1")
    assert (mine.status_code, theirs.status_code) == (200, 200)
    assert len(theirs.json()["complaints"]) == 2


def test_a_key_recorded_before_keys_were_scoped_counts_for_its_actor_only(app: FastAPI) -> None:
    """Recorded under the bare key (as before): Sally's retry gets her answer,
    anyone else's key of that name is theirs."""
    with TestClient(app, raise_server_exceptions=True) as client:
        ledger: Ledger = app.state.ledger
        body = receipt()
        parsed = ReceiveIn.model_validate(body)
        old = ledger.receive(
            Ctx(actor="sally", idempotency_key="legacy-1"),
            channel=parsed.channel,
            customer=parsed.customer.value(),
            lines=[line.value() for line in parsed.lines],
            delivery=parsed.delivery.value(),
            currency=parsed.currency,
            requested_date=parsed.requested_date,
        )
        retry = post(client, "t-sally", "/orders", body, "legacy-1")
        assert replayed(retry) and retry.json()["id"] == str(old.order.id)
        reused = post(client, "t-sally", "/orders", receipt(channel="email"), "legacy-1")
        assert reused.status_code == 422
        sams = post(client, "t-sam", "/orders", body, "legacy-1")
        assert sams.status_code == 201 and sams.json()["id"] != str(old.order.id)


def test_after_erasure_a_key_answers_with_its_recorded_order(client: TestClient) -> None:
    """The fingerprint covered the erased data and is erased with it: the key
    still records its command once, and answers with what it recorded."""
    first = post(client, "t-sally", "/orders", receipt(), "order-3")
    name = receipt()["customer"]["name"]
    erased = post(client, "t-admin", f"/customers/{quote(name)}/erase", None, "erase-1")
    assert erased.status_code == 200
    again = post(client, "t-sally", "/orders", receipt(channel="email"), "order-3")
    assert replayed(again) and again.json()["id"] == first.json()["id"]
    assert again.json()["customer"]["phone"] == "[erased]"

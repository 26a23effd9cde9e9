"""One order through its whole life over HTTP, on every backend."""

from __future__ import annotations

from api_client import LIFECYCLE, TOKENS, Api


def test_an_order_goes_from_received_to_archived_through_the_api(any_backend_api: Api) -> None:
    api = any_backend_api
    created = api.post("/orders", _receipt(), as_="sales")
    assert created.status_code == 201
    order = created.json()
    assert created.headers["Location"] == f"/orders/{order['id']}"
    assert created.headers["ETag"] == '"1"'
    assert order["number"].startswith("SO-") and order["stage"] == "received"
    assert order["facets"]["total"] == "401.00"
    position = order["position"]

    for stage, role, path, body in LIFECYCLE:
        response = api.post(path.format(id=order["id"]), body, as_=role)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["version"] == order["version"] + 1
        order = response.json()
        assert order["stage"] == stage, path
        assert response.headers["ETag"] == f'"{order["version"]}"'
        assert order["position"] > position
        position = order["position"]

    assert order["stage"] == "archived"
    assert order["facets"]["shipped_ratio"] == "1.0000"
    assert order["facets"]["paid"] == "401.00"
    now = api.get(f"/orders/{order['id']}")
    assert now.status_code == 200 and now.json()["version"] == len(LIFECYCLE) + 1
    history = api.get(f"/orders/{order['id']}/history").json()
    assert [entry["version"] for entry in history] == list(range(1, len(LIFECYCLE) + 2))
    assert history[-1]["type"] == "OrderArchived"
    assert {entry["actor"] for entry in history} >= {"sally", "max", "fiona"}
    warehouse = next(e for e in history if e["type"] == "ShipmentDispatched")
    assert warehouse["actor"].startswith("warehouse:") and len(warehouse["actor"]) == 18
    assert not any(token in str(history) for token in TOKENS)


def test_split_and_merge_create_orders_atomically(any_backend_api: Api) -> None:
    api = any_backend_api
    parent = api.receive()
    split = api.ok(
        f"/orders/{parent['id']}/split",
        {
            "parts": [
                [{"sku": "A-100", "quantity": 3}],
                [{"sku": "B-200", "quantity": 2}],
            ]
        },
        as_="sales",
    )
    assert split["stage"] == "split" and len(split["split_into"]) == 2
    children = [api.get(f"/orders/{child_id}").json() for child_id in split["split_into"]]
    assert [c["split_from"] for c in children] == [parent["id"]] * 2
    assert [c["number"] for c in children] == [f"{parent['number']}-1", f"{parent['number']}-2"]

    merged = api.post("/orders/merge", {"order_ids": [c["id"] for c in children]}, as_="sales")
    assert merged.status_code == 201
    assert merged.headers["Location"] == f"/orders/{merged.json()['id']}"
    assert sorted(merged.json()["merged_from"]) == sorted(c["id"] for c in children)
    assert all(api.get(f"/orders/{c['id']}").json()["stage"] == "merged" for c in children)


def _receipt() -> dict[str, object]:
    from api_client import receipt

    return receipt()

"""Managing webhooks (admin only): the secret is shown once and kept sealed,
bad URLs and private addresses are refused at registration and at every
connection, and the deliveries log and replay answer as documented."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from feed_support import ROLES, TOKENS, auth
from webhook_support import deliveries, order_story

from ledger.api.app import create_app
from ledger.integration.egress import is_public
from ledger.integration.signing import SecretUnreadable
from ledger.settings import Settings
from webhook_receiver import Receiver

KEY = "k" * 32


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def client(store_url: str) -> Iterator[TestClient]:
    """The API with private addresses refused (the default)."""
    app = create_app(Settings(database_url=store_url, tokens=TOKENS, audit_key=KEY, pool_size=3))
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One API on SQLite for the checks that do not depend on the store."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hooks') / 'ledger.db'}"
    app = create_app(Settings(database_url=url, tokens=TOKENS, run_projections=False))
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


def create(client: TestClient, url: str, events: list[str] | None = None) -> dict[str, object]:
    response = client.post("/admin/webhooks", headers=auth("admin"),
                           json={"url": url, "events": events or ["*"]})  # fmt: skip
    return {**response.json(), "http": response.status_code}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://hooks.example.com/x", "invalid_webhook_url"),
        ("http:///nohost", "invalid_webhook_url"),
        ("https://user:pw@hooks.example.com/", "invalid_webhook_url"),
        ("https://hooks.example.com:99999/", "invalid_webhook_url"),
        ("http://127.0.0.1:8080/hooks", "webhook_url_private"),
        ("http://localhost/hooks", "webhook_url_private"),
        ("http://10.1.2.3/hooks", "webhook_url_private"),
        ("http://192.168.0.10/hooks", "webhook_url_private"),
        ("http://169.254.169.254/latest/meta-data", "webhook_url_private"),
        ("http://[::1]:9000/hooks", "webhook_url_private"),
        ("http://[::ffff:127.0.0.1]/hooks", "webhook_url_private"),
        ("http://100.64.0.1/hooks", "webhook_url_private"),
        ("http://no-such-host.invalid/hooks", "webhook_url_unresolvable"),
    ],
)
def test_bad_and_private_urls_are_refused_at_registration(
    embedded: TestClient, url: str, code: str
) -> None:
    answer = create(embedded, url)
    assert (answer["http"], answer["code"]) == (422, code)
    assert embedded.get("/admin/webhooks", headers=auth("admin")).json()["items"] == []


def test_public_addresses_are_told_from_private_ones() -> None:
    assert is_public("93.184.216.34") and is_public("2606:4700:4700::1111")
    for address in ("127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.1.1",
                    "::1", "fe80::1%eth0", "fc00::1", "::ffff:10.0.0.1", "0.0.0.0", "224.0.0.1",
                    "100.100.0.1"):  # fmt: skip
        assert not is_public(address), address


def test_only_an_admin_manages_webhooks(client: TestClient) -> None:
    for role in ROLES:
        if role != "admin":
            listed = client.get("/admin/webhooks", headers=auth(role))
            made = client.post("/admin/webhooks", headers=auth(role),
                               json={"url": "https://x.example/", "events": ["*"]})  # fmt: skip
            assert (listed.status_code, made.status_code) == (403, 403), role
    assert client.get("/admin/webhooks").status_code == 401


def test_the_secret_is_shown_once_and_kept_sealed(store_url: str) -> None:
    receiver = Receiver()
    settings = Settings(database_url=store_url, tokens=TOKENS, audit_key=KEY, pool_size=3,
                        webhook_allow_private=True)  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as client:
        made = create(client, receiver.url, ["OrderReceived", "alert.overdue"])
        assert made["http"] == 201 and str(made["secret"]).startswith("whsec_")
        webhook_id = str(made["id"])
        shown = client.get(f"/admin/webhooks/{webhook_id}", headers=auth("admin")).json()
        assert "secret" not in shown and shown["events"] == ["OrderReceived", "alert.overdue"]
        assert [w["id"] for w in client.get("/admin/webhooks", headers=auth("admin")).json()[
            "items"]] == [webhook_id]  # fmt: skip
        stored = app.state.worker.webhooks.store.get(webhook_id)
        assert stored.secret != made["secret"] and str(made["secret"])[6:] not in stored.secret
        box = app.state.worker.webhooks.box()
        assert box.open(webhook_id, stored.secret) == made["secret"]
        with pytest.raises(SecretUnreadable):  # sealed for this subscription only
            box.open("wh_" + "0" * 32, stored.secret)
    receiver.down()


def test_a_private_address_is_refused_at_connection_too(store_url: str) -> None:
    """Registered while allowed, then delivered by a process that does not allow it."""
    receiver = Receiver()
    allowed = Settings(database_url=store_url, tokens=TOKENS, audit_key=KEY, pool_size=3,
                       webhook_allow_private=True, run_projections=False)  # fmt: skip
    with TestClient(create_app(allowed)) as client:
        made = create(client, receiver.url)
        assert made["http"] == 201
    refusing = allowed.model_copy(update={"webhook_allow_private": False,
                                          "run_projections": True})  # fmt: skip
    app = create_app(refusing)
    with TestClient(app) as client:
        order_story(app.state.ledger, 0)
        deadline = time.monotonic() + 10
        while not (tried := deliveries(client, str(made["id"]), status="retrying")):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "private" in tried[0]["last_error"] and tried[0]["last_status"] is None
    assert receiver.received == []
    receiver.down()


def test_deletes_replays_and_logs_answer_for_unknown_webhooks_and_positions(
    client: TestClient,
) -> None:
    unknown = "wh_" + "a" * 32
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries"),
                         ("POST", "/replay?from=1")):  # fmt: skip
        response = client.request(method, f"/admin/webhooks/{unknown}{path}", headers=auth("admin"))
        assert (response.status_code, response.json()["code"]) == (404, "webhook_not_found")
    bad = client.get("/admin/webhooks/not-an-id", headers=auth("admin"))
    assert bad.status_code == 422
    made = create(client, "https://93.184.216.34/hooks", ["OrderReceived"])
    assert made["http"] == 201
    at = f"/admin/webhooks/{made['id']}"
    far = client.post(f"{at}/replay", params={"from": 99}, headers=auth("admin"))
    assert (far.status_code, far.json()["code"]) == (422, "position_not_in_log")
    assert client.post(f"{at}/replay", headers=auth("admin")).status_code == 422  # no from
    log = client.get(f"{at}/deliveries", params={"status": "nonsense"}, headers=auth("admin"))
    assert log.status_code == 422
    assert client.delete(at, headers=auth("admin")).status_code == 204
    assert client.get(at, headers=auth("admin")).status_code == 404


def test_unknown_event_types_are_refused(client: TestClient) -> None:
    answer = create(client, "https://93.184.216.34/hooks", ["OrderReceived", "OrderLost"])
    assert (answer["http"], answer["code"]) == (422, "unknown_event_type")


@pytest.mark.postgres
def test_postgres_without_an_audit_key_cannot_seal_a_secret(postgres_url: str) -> None:
    app = create_app(Settings(database_url=postgres_url, tokens=TOKENS, pool_size=2))
    with TestClient(app) as client:
        answer = create(client, "https://93.184.216.34/hooks")
    assert (answer["http"], answer["code"]) == (503, "audit_key_missing")

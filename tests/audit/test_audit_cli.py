"""The audit commands as a user meets them: orders named by id or number,
replays that refuse what the order does not have, progress that counts the
right thing, output that may be cut short, restores that leave nothing
behind when refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from audit_helpers import AUDIT_KEY, Opened, five_event_order, make_ledger

from cli_helpers import Cli, run_ledger
from ledger.audit.backup import backup
from ledger.audit.backup_format import EVENTS, MANIFEST, canonical
from ledger.audit.keys import mac
from ledger.audit.service import seal
from ledger.settings import Settings

BAR = "#" * 30


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys, audit_key=AUDIT_KEY)


def orders_in(settings: Settings, count: int) -> list[tuple[UUID, str]]:
    """``count`` sealed five-event orders: (id, number) each."""
    ledger = make_ledger(settings)
    orders = [five_event_order(ledger) for _ in range(count)]
    seal(ledger)
    found = [(order, ledger.get_order(order).number) for order in orders]
    ledger.close()
    return found


def test_every_command_that_names_an_order_takes_its_id_or_its_number(
    sql_settings: Settings, cli: Cli, tmp_path: Path
) -> None:
    ((order, number),) = orders_in(sql_settings, 1)
    url = sql_settings.database_url
    for given in (str(order), number):
        verified = cli("audit", "verify", "--order", given, database_url=url)
        assert verified.status == 0, verified.err
        assert verified.out.startswith("clean: 5 events of 1 orders checked")
        replayed = cli("replay", given, "--version", "3", "--json", database_url=url)
        assert [s["version"] for s in json.loads(replayed.out)["steps"]] == [1, 2, 3]
        out = tmp_path / f"{given}.jsonl"
        assert cli("audit", "export", given, "-o", str(out), database_url=url).status == 0
        assert [json.loads(line).get("order") for line in out.read_text().splitlines()[:5]] == [
            str(order)
        ] * 5


def test_replay_refuses_a_version_or_a_time_the_order_does_not_have(
    sql_settings: Settings, cli: Cli
) -> None:
    """As the API answers 404: exit status 2, nothing printed on stdout."""
    ((_, number),) = orders_in(sql_settings, 1)
    url = sql_settings.database_url
    beyond = cli("replay", number, "--version", "99", database_url=url)
    assert (beyond.status, beyond.out) == (2, "")
    assert beyond.err == f"ledger: order {number} has 5 versions; there is no version 99\n"
    before = cli("replay", number, "--until", "2000-01-01", database_url=url)
    assert (before.status, before.out) == (2, "")
    assert before.err == f"ledger: order {number} did not exist at 2000-01-01T00:00:00+00:00\n"
    assert cli("replay", number, "--version", "5", database_url=url).status == 0


@pytest.mark.parametrize(
    "command",
    [["replay", "SO-2026-999999"], ["audit", "verify", "--order", "SO-2026-999999"],
     ["audit", "export", "SO-2026-999999"]],
)  # fmt: skip
def test_an_unknown_order_is_named_as_the_user_typed_it(
    sql_settings: Settings, cli: Cli, command: list[str]
) -> None:
    orders_in(sql_settings, 1)
    ran = cli(*command, database_url=sql_settings.database_url)
    assert (ran.status, ran.out, ran.err) == (2, "", "ledger: no order SO-2026-999999\n")


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-1", "June"])
def test_a_month_that_does_not_exist_is_a_usage_error(
    tmp_path: Path, cli: Cli, period: str
) -> None:
    ran = cli("audit", "export", "--period", period, database_url=f"sqlite:///{tmp_path / 'l.db'}")
    assert ran.status == 2 and f"argument --period: '{period}' is not a month" in ran.err
    assert not (tmp_path / "l.db").exists()


def test_an_unknown_customer_exports_nothing_and_says_so(
    sql_settings: Settings, cli: Cli, tmp_path: Path
) -> None:
    orders_in(sql_settings, 1)
    out = tmp_path / "c.jsonl"
    url = sql_settings.database_url
    ran = cli("audit", "export", "--customer", "nobody", "-o", str(out), database_url=url)
    assert (ran.status, ran.err) == (2, "ledger: no orders of customer 'nobody'\n")
    assert sorted(p.name for p in tmp_path.iterdir() if "jsonl" in p.name) == []


def test_verifying_one_order_counts_that_orders_events(sql_settings: Settings, cli: Cli) -> None:
    ((_, number), *_) = orders_in(sql_settings, 3)
    ran = cli("audit", "verify", "--order", number, database_url=sql_settings.database_url)
    assert f"verify [{BAR}] 5/5" in ran.err and "/15" not in ran.err


def test_restore_draws_a_progress_bar(tmp_path: Path, cli: Cli, opened: Opened) -> None:
    source = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY)
    orders_in(source, 3)
    backup(opened(source), tmp_path / "a.backup")
    ran = cli("restore", str(tmp_path / "a.backup"), database_url=f"sqlite:///{tmp_path / 'b.db'}")
    assert ran.status == 0, ran.err
    assert f"restore [{BAR}] 15/15" in ran.err


@pytest.fixture
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str, Path]:
    """A sealed SQLite store, its environment, an order number and an export."""
    folder = tmp_path_factory.mktemp("pipe")
    settings = Settings(database_url=f"sqlite:///{folder / 'l.db'}", audit_key=AUDIT_KEY)
    ((_, number), *_) = orders_in(settings, 40)
    env = {"LEDGER_DATABASE_URL": settings.database_url, "LEDGER_AUDIT_KEY": AUDIT_KEY}
    export = folder / "e.jsonl"
    assert run_ledger("audit", "export", number, "-o", str(export), env=env).status == 0
    return env, number, export


PRINTING = [
    ["replay", "{number}"], ["replay", "{number}", "--json"], ["audit", "export", "{number}"],
    ["audit", "export", "--period", "2026-01"], ["audit", "verify"], ["audit", "verify", "--json"],
    ["audit", "verify", "--order", "{number}"], ["audit", "verify", "--file", "{export}"],
    ["audit", "seal"], ["backup", "{folder}/b.backup"], ["--help"], ["audit", "--help"],
]  # fmt: skip


@pytest.mark.parametrize("command", PRINTING, ids=" ".join)
def test_a_closed_output_pipe_ends_quietly(
    demo_store: tuple[dict[str, str], str, Path], command: list[str]
) -> None:
    """``ledger … | head``: the command stops at the closed pipe with the status a
    Unix tool has then (141), and no traceback."""
    env, number, export = demo_store
    argv = [part.format(number=number, export=export, folder=export.parent) for part in command]
    ran = run_ledger(*argv, env=env, closed_stdout=True)
    assert "Traceback" not in ran.err and "Error" not in ran.err, ran.err
    assert ran.status in (0, 141)  # 0: argparse's help swallows the error itself
    if command[0] != "--help" and command[-1] != "--help":
        assert ran.status == 141


def tampered(good: Path) -> Path:
    """The backup with an event changed after its seal, sha256, size and MAC
    made to match: the restore finds it only while loading."""
    with tarfile.open(good) as tar:
        data = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    raw = gzip.decompress(data[EVENTS]).replace(b'"sales"', b'"salez"', 1)  # the actor: public
    data[EVENTS] = gzip.compress(raw)
    manifest = json.loads(data[MANIFEST])
    manifest["sha256"][EVENTS] = hashlib.sha256(data[EVENTS]).hexdigest()
    manifest["sizes"][EVENTS] = len(raw)
    del manifest["mac"]
    manifest["mac"] = mac(AUDIT_KEY.encode(), canonical(manifest)).hex()
    data[MANIFEST] = json.dumps(manifest).encode()
    out = good.with_name("tampered.backup")
    with tarfile.open(out, "w") as tar:
        for name, blob in data.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return out


def test_a_refused_restore_leaves_nothing_behind(tmp_path: Path, cli: Cli, opened: Opened) -> None:
    """Refused before the store is opened (no key, another key) or while loading
    (an event that breaks its seal): no database file, no key file, no locks."""
    source = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY)
    orders_in(source, 2)
    backup(opened(source), tmp_path / "a.backup")
    bad = tampered(tmp_path / "a.backup")
    target = tmp_path / "target"
    target.mkdir()
    url = f"sqlite:///{target / 'restored.db'}"
    for backup_file, key, says in (
        (tmp_path / "a.backup", None, "this store has no audit key yet"),
        (tmp_path / "a.backup", "another-key-0123456789abcdef", "the backup was sealed with key"),
        (bad, AUDIT_KEY, "differs from its seal"),
    ):
        ran = cli("restore", str(backup_file), database_url=url, audit_key=key)
        assert ran.status == 2 and says in ran.err, ran.err
        assert list(target.iterdir()) == []
    assert cli("restore", str(tmp_path / "a.backup"), database_url=url).status == 0
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "restored.db",
        "restored.db.audit-key",
        "restored.db.locks",
    ]


@pytest.mark.postgres
def test_a_restore_refused_for_a_missing_key_leaves_postgres_untouched(
    tmp_path: Path, postgres_url: str, cli: Cli, opened: Opened
) -> None:
    source = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY)
    orders_in(source, 1)
    backup(opened(source), tmp_path / "a.backup")
    ran = cli("restore", str(tmp_path / "a.backup"), database_url=postgres_url, audit_key=None)
    assert ran.status == 2 and "LEDGER_AUDIT_KEY" in ran.err
    schema = postgres_url.rsplit("schema=", 1)[1]
    with psycopg.connect(postgres_url.split("?")[0]) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        assert found.fetchone() is None

"""Every ``ledger`` command given what a new user gets wrong: a clear one-line
error, exit status 2, no traceback, and nothing left behind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cli_helpers import Cli, run_ledger
from ledger.cli_support import Progress, moment, month, positive

KEY = "a-test-audit-key-0123456789"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    return Cli(monkeypatch, capsys, database_url=f"sqlite:///{tmp_path / 'l.db'}", audit_key=KEY)


# (arguments, environment, the start of the one line on stderr); {tmp} is the test's folder.
REFUSED = [
    (["audit", "verify"], {"database_url": "garbage"},
     "ledger: LEDGER_DATABASE_URL: database URL must look like sqlite:///path.db"),
    (["replay", "SO-1"], {"pool_size": "many"},
     "ledger: LEDGER_POOL_SIZE: Input should be a valid integer"),
    (["project"], {"seal_cron": "hourly"},
     "ledger: LEDGER_SEAL_CRON: Wrong number of fields; got 1, expected 5"),
    (["project"], {"forecast_cron": "61 2 * * *"},
     "ledger: LEDGER_FORECAST_CRON: Error validating expression '61': the last value (61)"),
    (["audit", "seal"], {"audit_key": "short"},
     "ledger: LEDGER_AUDIT_KEY: the audit key must be at least 16 bytes, it is 5"),
    (["audit", "verify"], {"database_url": "sqlite:////nonexistent/folder/l.db"},
     "ledger: no store at /nonexistent/folder/l.db: no folder /nonexistent/folder"),
    (["audit", "verify", "--file", "{tmp}/missing.jsonl"], {},
     "ledger: {tmp}/missing.jsonl: No such file or directory"),
    (["audit", "verify", "--file", "{tmp}"], {}, "ledger: {tmp}: Is a directory"),
    (["audit", "verify", "--key", KEY], {},
     "ledger: --key is for --file; the store is checked with LEDGER_AUDIT_KEY"),
    (["backup", "{tmp}"], {}, "ledger: {tmp} is a directory; name the backup file"),
    (["backup", "{tmp}/no/such/x.backup"], {}, "ledger: {tmp}/no/such is not a directory"),
    (["audit", "export", "--period", "2026-01", "-o", "{tmp}/no/x.jsonl"], {},
     "ledger: cannot write {tmp}/no/x.jsonl: No such file or directory"),
    (["restore", "{tmp}/missing.backup"], {},
     "ledger: cannot read {tmp}/missing.backup: No such file or directory"),
    (["restore", "{tmp}/not-a-backup"], {},
     "ledger: {tmp}/not-a-backup is not a ledger backup (the plain tar `ledger backup` writes)"),
    (["replay", "SO-2026-000001"], {}, "ledger: no order SO-2026-000001"),
    (["replay", "00000000-0000-0000-0000-000000000000"], {},
     "ledger: no order 00000000-0000-0000-0000-000000000000"),
    (["audit", "verify", "--order", "SO-9"], {}, "ledger: no order SO-9"),
    (["replay", " "], {}, "ledger: name the order by its number (SO-2026-000123) or its id"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "env", "says"), REFUSED, ids=lambda v: str(v)[:40])
def test_a_refused_command_says_why_in_one_line_and_exits_2(
    cli: Cli, tmp_path: Path, argv: list[str], env: dict[str, str], says: str
) -> None:
    (tmp_path / "not-a-backup").write_text("hello")
    before = sorted(tmp_path.iterdir())
    ran = cli(*[a.format(tmp=tmp_path) for a in argv], **env)
    assert ran.status == 2
    assert ran.err.startswith(says.format(tmp=tmp_path)) and ran.err.count("\n") == 1, ran.err
    assert sorted(p for p in tmp_path.iterdir() if p.name != "l.db") == [
        p for p in before if p.name != "l.db"
    ]


USAGE = [
    (["replay", "SO-1", "--until", "noon"], "argument --until: 'noon' is not an ISO 8601 time"),
    (["replay", "SO-1", "--version", "0"], "argument --version: 0 is less than 1"),
    (["replay", "SO-1", "--version", "x"], "argument --version: 'x' is not a whole number"),
    (["audit", "export", "--period", "2026-13"], "argument --period: '2026-13' is not a month"),
    (["audit", "verify", "--order", "SO-1", "--file", "x"], "not allowed with argument --order"),
    (["demo", "--until", "9999-12-31"], "argument --until: 9999-12-31 is outside 2001-01-01"),
    (["demo", "--until", "2026-02-30"], "argument --until: '2026-02-30' is not a date"),
    (["demo", "--orders", "x"], "argument --orders: 'x' is not a whole number"),
    (["serve", "--port", "99999"], "argument --port: 99999 is not a TCP port"),
    (["serve", "--workers", "0"], "argument --workers: 0 is less than 1"),
    (["serve", "--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
    (["rebuild", "nothing"], "argument NAME: invalid choice: 'nothing'"),
    ([], "the following arguments are required: COMMAND"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "says"), USAGE, ids=lambda v: str(v)[:40])
def test_a_usage_error_names_the_argument_and_exits_2(
    cli: Cli, tmp_path: Path, argv: list[str], says: str
) -> None:
    ran = cli(*argv)
    assert ran.status == 2 and says in ran.err.splitlines()[-1], ran.err
    assert ran.out == "" and not (tmp_path / "l.db").exists()


def test_an_empty_store_answers_each_command_plainly(cli: Cli, tmp_path: Path) -> None:
    verified = cli("audit", "verify")
    assert (verified.status, verified.out) == (
        0,
        "clean: 0 events of 0 orders checked; 0 orders sealed, 0 events after the last seal\n",
    )
    assert cli("audit", "seal").out == "sealed 0 chain heads; 0 order break(s) left unsealed\n"
    exported = cli("audit", "export", "--period", "2026-01", "-o", str(tmp_path / "e.jsonl"))
    assert (exported.status, exported.err) == (0, "exported 0 order(s)\n")
    assert cli("backup", str(tmp_path / "e.backup")).status == 0
    assert cli("rebuild", "--all").status == 0


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [(month, "2026-12", "2026-12"), (positive, "7", 7),
     (moment, "2026-06-30T18:00", "2026-06-30T18:00:00+00:00"),
     (moment, "2026-06-30T18:00+08:00", "2026-06-30T18:00:00+08:00")],
)  # fmt: skip
def test_the_argument_types_accept_what_they_describe(
    parse: object, text: str, value: object
) -> None:
    parsed = parse(text)  # type: ignore[operator]
    assert (parsed.isoformat() if hasattr(parsed, "isoformat") else parsed) == value


def test_serve_on_a_port_in_use_exits_2_without_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = {"LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}"}
        ran = run_ledger("serve", "--port", port, "--no-projections", env=env)
    assert ran.status == 2
    assert "address already in use" in ran.err and "Traceback" not in ran.err, ran.err
    assert ran.err.count("\n") == 1 and "token" not in ran.out, (ran.out, ran.err)


def test_a_refusal_after_a_half_drawn_bar_starts_a_line_of_its_own(cli: Cli) -> None:
    """The bar's line is ended once; the next command's refusal starts plainly."""
    Progress("verify", 10)(3)
    assert cli("replay", "SO-1").err == "\nledger: no order SO-1\n"
    assert cli("replay", "SO-2").err == "ledger: no order SO-2\n"

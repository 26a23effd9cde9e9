"""Settings: the database URL becomes a complete eventsourcing environment."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from pydantic import ValidationError

from ledger.settings import Settings, backend_of, eventsourcing_env, get_settings


def env_for(url: str, **overrides: object) -> dict[str, str]:
    return eventsourcing_env(Settings(database_url=url, **overrides))  # type: ignore[arg-type]


def test_defaults_follow_the_spec() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///./ledger.db"
    assert settings.alert_cron == "*/15 * * * *"
    assert (settings.backup_keep, settings.stale_days) == (7, 14)
    assert settings.tokens is None
    assert settings.cipher_key is None


def test_settings_are_read_from_ledger_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", "memory://")
    monkeypatch.setenv("LEDGER_TOKENS", '{"t-1": "sales", "t-2": "finance"}')
    monkeypatch.setenv("LEDGER_STALE_DAYS", "30")

    settings = Settings()

    assert settings.database_url == "memory://"
    assert settings.tokens == {"t-1": "sales", "t-2": "finance"}
    assert settings.stale_days == 30


def test_get_settings_reads_once() -> None:
    get_settings.cache_clear()
    try:
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def test_memory_url_selects_the_in_memory_store() -> None:
    env = env_for("memory://")
    assert backend_of(Settings(database_url="memory://")) == "memory"
    assert env["PERSISTENCE_MODULE"] == "ledger.persistence.popo:LedgerPOPOFactory"
    assert not any(key.startswith(("SQLITE_", "POSTGRES_")) for key in env)


def test_sqlite_url_with_three_slashes_is_a_relative_path() -> None:
    env = env_for("sqlite:///./ledger.db")
    assert env["PERSISTENCE_MODULE"] == "ledger.persistence.sqlite:LedgerSQLiteFactory"
    assert env["SQLITE_DBNAME"] == "./ledger.db"
    assert env["SQLITE_LOCK_TIMEOUT"].isdigit()


def test_sqlite_url_with_four_slashes_is_an_absolute_path() -> None:
    env = env_for("sqlite:////var/lib/ledger/跟单.db")
    assert env["SQLITE_DBNAME"] == "/var/lib/ledger/跟单.db"


def test_sqlite_path_is_percent_decoded() -> None:
    assert env_for("sqlite:///data/my%20ledger.db")["SQLITE_DBNAME"] == "data/my ledger.db"


def test_postgres_url_gives_every_connection_setting() -> None:
    env = env_for("postgresql://ledger:s3cret@db.example.com:6543/orders", pool_size=4)

    assert env["PERSISTENCE_MODULE"] == "ledger.persistence.postgres:LedgerPostgresFactory"
    assert env["POSTGRES_HOST"] == "db.example.com"
    assert env["POSTGRES_PORT"] == "6543"
    assert env["POSTGRES_USER"] == "ledger"
    assert env["POSTGRES_PASSWORD"] == "s3cret"
    assert env["POSTGRES_DBNAME"] == "orders"
    assert env["POSTGRES_SCHEMA"] == ""
    assert env["POSTGRES_POOL_SIZE"] == "4"
    for key in ("POSTGRES_MAX_OVERFLOW", "POSTGRES_CONNECT_TIMEOUT", "POSTGRES_LOCK_TIMEOUT"):
        assert env[key].isdigit()


def test_postgres_user_and_password_are_percent_decoded() -> None:
    env = env_for("postgres://us%40er:p%3Aa%2Fss%20w%40rd@localhost/ledger")
    assert env["POSTGRES_USER"] == "us@er"
    assert env["POSTGRES_PASSWORD"] == "p:a/ss w@rd"
    assert env["POSTGRES_PORT"] == "5432"


def test_postgres_url_may_name_a_schema() -> None:
    assert env_for("postgresql://u@h/db?schema=tenant_1")["POSTGRES_SCHEMA"] == "tenant_1"


@pytest.mark.parametrize(
    "url",
    ["memory://", "sqlite:///./ledger.db", "postgresql://u:p@h:1/db"],
)
def test_the_env_is_complete_and_never_enables_db_functions(url: str) -> None:
    env = env_for(url)
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in env
    assert env["CREATE_TABLE"] == "y"
    assert env["IS_SNAPSHOTTING_ENABLED"] == "y"
    assert all(isinstance(value, str) for value in env.values())


def test_a_cipher_key_turns_on_the_library_cipher() -> None:
    env = env_for("memory://", cipher_key="a2V5")
    assert env["CIPHER_TOPIC"] == "eventsourcing.cipher:AESCipher"
    assert env["CIPHER_KEY"] == "a2V5"
    assert "CIPHER_KEY" not in env_for("memory://")


def test_nothing_leaks_in_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "evil")
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.popo")
    monkeypatch.setenv("CIPHER_KEY", "evil")

    env = env_for("postgresql://u:p@good-host/db")
    factory = InfrastructureFactory.construct(Environment(env=env))
    try:
        assert env["POSTGRES_HOST"] == "good-host"
        assert "CIPHER_KEY" not in env
        assert type(factory).__name__ == "LedgerPostgresFactory"
        assert factory.datastore.enable_db_functions is False  # type: ignore[attr-defined]
    finally:
        factory.close()


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("mysql://u:p@h/db", "unsupported database URL scheme 'mysql'"),
        ("ledger.db", "must look like"),
        ("sqlite://ledger.db", "three slashes"),
        ("sqlite:///", "three slashes"),
        ("postgresql://u:p@h:5432/", "needs a database name"),
        ("postgresql://u:p@h:99999/db", "invalid port"),
        ("postgresql://u:p@h/db?sslmode=require", "unsupported PostgreSQL URL parameters"),
        ("memory://somewhere", "just 'memory://'"),
    ],
)
def test_a_bad_database_url_is_refused_with_a_clear_message(url: str, complaint: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(database_url=url)
    assert complaint in str(raised.value)
    assert "LEDGER_" not in complaint


def test_a_refused_url_does_not_echo_its_password() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(database_url="postgresql://u:hunter2@h:5432/")
    assert "hunter2" not in str(raised.value)

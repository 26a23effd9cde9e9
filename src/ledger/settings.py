"""The service's configuration, read once from ``LEDGER_*`` environment variables.

``eventsourcing_env`` translates the settings into the complete environment
the eventsourcing library is configured with. The application does not let
the library read ``os.environ``, so nothing in the shell (a stray
``POSTGRES_HOST``, ``CIPHER_KEY`` or ``PERSISTENCE_MODULE``) can change
where or how the ledger stores its events.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["memory", "sqlite", "postgres"]

URL_FORMS = "sqlite:///path.db, postgresql://user:pass@host:port/db or memory://"

# An HMAC key shorter than this is guessable; 32 random bytes (64 hex digits) is the norm.
MIN_AUDIT_KEY_BYTES = 16

# Topics rather than imports: naming the factory class keeps this module free
# of psycopg, and a topic stays valid if a module later holds more classes.
FACTORY_TOPICS: dict[Backend, str] = {
    "memory": "ledger.persistence.popo:LedgerPOPOFactory",
    "sqlite": "ledger.persistence.sqlite:LedgerSQLiteFactory",
    "postgres": "ledger.persistence.postgres:LedgerPostgresFactory",
}


@dataclass(frozen=True)
class DatabaseTarget:
    """A parsed ``LEDGER_DATABASE_URL``."""

    backend: Backend
    path: str = ""  # sqlite file
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = ""


def parse_database_url(url: str) -> DatabaseTarget:
    """Parse a database URL; raise ``ValueError`` saying what is wrong.

    Messages never repeat the URL itself, which may hold a password.
    """
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        msg = f"database URL must look like {URL_FORMS}"
        raise ValueError(msg)
    if scheme == "memory":
        return _parse_memory(url)
    if scheme == "sqlite":
        return _parse_sqlite(url)
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(url)
    msg = f"unsupported database URL scheme {scheme!r}; use {URL_FORMS}"
    raise ValueError(msg)


def _parse_memory(url: str) -> DatabaseTarget:
    if url.partition("://")[2]:
        msg = "the in-memory database URL is just 'memory://'"
        raise ValueError(msg)
    return DatabaseTarget(backend="memory")


def _parse_sqlite(url: str) -> DatabaseTarget:
    # 'sqlite:///./x.db' is the relative path './x.db', 'sqlite:////abs/x.db'
    # the absolute path '/abs/x.db' (SQLAlchemy's convention).
    rest = url.partition("://")[2]
    if not rest.startswith("/") or len(rest) < 2:
        msg = "a SQLite URL needs three slashes and a path, e.g. sqlite:///./ledger.db"
        raise ValueError(msg)
    path = unquote(rest[1:])
    if "?" in path or path.startswith("file:"):
        msg = "a SQLite URL takes a plain file path, without query or 'file:' URI"
        raise ValueError(msg)
    return DatabaseTarget(backend="sqlite", path=path)


def _parse_postgres(url: str) -> DatabaseTarget:
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        msg = "the PostgreSQL URL has an invalid port"
        raise ValueError(msg) from None
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        msg = "a PostgreSQL URL needs a database name: postgresql://user:pass@host:port/db"
        raise ValueError(msg)
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"schema"})
    if unknown:
        msg = f"unsupported PostgreSQL URL parameters {unknown}; only 'schema' is understood"
        raise ValueError(msg)
    schema = query.get("schema", [""])[-1]
    return DatabaseTarget(
        backend="postgres",
        host=unquote(parts.hostname or "") or "localhost",
        port=port,
        user=unquote(parts.username or "") or "postgres",
        password=unquote(parts.password or ""),
        dbname=dbname,
        schema=schema,
    )


class Settings(BaseSettings):
    """Every setting of the service, read from the environment (prefix ``LEDGER_``)."""

    # Inputs are kept out of error messages: a database URL or key may hold a secret.
    model_config = SettingsConfigDict(env_prefix="LEDGER_", hide_input_in_errors=True)

    database_url: str = "sqlite:///./ledger.db"
    tokens: dict[str, Any] | None = None
    audit_key: str | None = None
    cipher_key: str | None = None
    rebuild_cron: str | None = None
    rebuild_models: str = "all"  # comma-separated read models for the nightly rebuild
    run_projections: bool = True  # `ledger serve` runs runners + scheduler in-process
    # FastAPI's OpenTelemetry spans, metrics and logs per request, to the providers the
    # process configured; off, FastAPI no longer asks the providers on every request.
    telemetry: bool = False
    alert_cron: str | None = "*/15 * * * *"  # the alert scan; empty turns it off
    seal_cron: str | None = "5 * * * *"  # seal the moved chain heads hourly
    backup_cron: str | None = None
    forecast_cron: str | None = "20 2 * * *"  # the seasonal forecasts, daily
    backup_dir: str = "./backups"
    backup_keep: int = 7
    stale_days: int = 14
    snapshot_interval: int = 50
    pool_size: int = 10
    # The issuing company on printed statements and dispatch notes (docs/exports.md).
    company_name: str = "ledger"
    company_address: str = ""
    company_phone: str = ""
    company_email: str = ""
    company_tax_id: str = ""
    company_bank: str = ""
    # Webhooks (docs/integration.md): private, loopback and link-local hosts are
    # refused unless allowed; each attempt's socket timeout; the retry schedule.
    webhook_allow_private: bool = False
    webhook_timeout: float = Field(5.0, gt=0, le=60)
    webhook_retry_base: float = Field(30.0, gt=0, le=3600)
    webhook_attempts: int = Field(9, ge=1, le=20)
    # Customer tracking links (docs/integration.md): requests per client address a minute.
    tracking_rate_per_minute: int = Field(60, ge=1, le=100_000)

    # The pages show times in this IANA zone (stored times stay UTC); empty: the host's.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _timezone_is_known(cls, value: str | None) -> str | None:
        if not value:
            return None
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str) -> str:
        parse_database_url(value)
        return value

    @field_validator("rebuild_cron", "alert_cron", "seal_cron", "backup_cron", "forecast_cron")
    @classmethod
    def _cron_is_a_crontab(cls, value: str | None) -> str | None:
        """Refused at start, not in the scheduler's thread when the job is due."""
        if value:
            from apscheduler.triggers.cron import CronTrigger  # loaded only when a cron is set

            CronTrigger.from_crontab(value)  # its ValueError says what is wrong
        return value

    @field_validator("audit_key")
    @classmethod
    def _audit_key_is_long_enough(cls, value: str | None) -> str | None:
        if not value:  # an empty variable means "not set"
            return None
        if len(value.encode()) < MIN_AUDIT_KEY_BYTES:
            msg = (
                f"the audit key must be at least {MIN_AUDIT_KEY_BYTES} bytes, "
                f"it is {len(value.encode())}"
            )
            raise ValueError(msg)
        return value

    @property
    def database(self) -> DatabaseTarget:
        """The parsed database URL."""
        return parse_database_url(self.database_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()


def backend_of(settings: Settings) -> Backend:
    """Which store the settings select."""
    return settings.database.backend


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The complete eventsourcing environment for ``settings``.

    Complete because the application does not merge ``os.environ``. It never
    sets ``POSTGRES_ENABLE_DB_FUNCTIONS``: the ledger's recorders add rows to
    the insert transaction, which the library's stored-function path skips.
    """
    target = settings.database
    env = {
        "PERSISTENCE_MODULE": FACTORY_TOPICS[target.backend],
        "CREATE_TABLE": "y",
        "IS_SNAPSHOTTING_ENABLED": "y",
        "ORIGINATOR_ID_TYPE": "uuid",
        "SINGLE_ROW_TRACKING": "y",
    }
    if settings.cipher_key:
        env["CIPHER_TOPIC"] = "eventsourcing.cipher:AESCipher"
        env["CIPHER_KEY"] = settings.cipher_key
    if target.backend == "sqlite":
        env.update(SQLITE_DBNAME=target.path, SQLITE_LOCK_TIMEOUT="10")
    elif target.backend == "postgres":
        env.update(_postgres_env(target, settings.pool_size))
    return env


def _postgres_env(target: DatabaseTarget, pool_size: int) -> dict[str, str]:
    return {
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        "POSTGRES_SCHEMA": target.schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_MAX_WAITING": "0",
        "POSTGRES_CONNECT_TIMEOUT": "2",
        "POSTGRES_CONN_MAX_AGE": "3600",
        "POSTGRES_PRE_PING": "y",
        # Seconds to wait for the library's events-table lock before the
        # insert fails as OperationalError (which the library retries).
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "5",
    }

"""Settings: one pydantic-settings class, read from CAREGRID_* environment variables."""

from __future__ import annotations

import hmac
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET = "caregrid-demo-secret-not-for-production"


class Settings(BaseSettings):
    """Runtime configuration. Unsafe defaults are refused outside the demo and tests."""

    model_config = SettingsConfigDict(env_prefix="CAREGRID_", extra="ignore")

    environment: Literal["demo", "test", "production"] = "demo"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = DEMO_SECRET
    timezone: str = "Asia/Shanghai"
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    session_hours: int = 12
    # argon2id cost (RFC 9106 second recommendation: t=3, m=64 MiB); tests lower it for speed.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # Sign-in throttling, an operational setting (not a jurisdiction rule): this many wrong
    # passwords for one account name, or from one client address, within the window refuse
    # every sign-in there (the right password included) for the cooldown. An address is shared
    # by a hospital's NAT, so its limit is the higher one.
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    login_cooldown_seconds: int = Field(default=900, ge=1)
    # Connections per process; the web app admits no more concurrent requests than this.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # How long a request may wait for admission before it gets 503 and Retry-After.
    admission_wait_seconds: float = Field(default=30.0, gt=0)
    # Indicators: the Parquet facts DuckDB and Spark read (default <data_dir>/facts), the
    # engine the pages use, and where the npm-installed browser libraries are.
    facts_dir: Path | None = None
    indicator_engine: Literal["duckdb", "postgres", "spark"] = "duckdb"
    # Where the Spark engine runs: in this process (local[N]) or on a standalone cluster
    # (spark://host:port), whose workers read the same Parquet facts at the same path.
    spark_master: str = Field(
        default="local[2]", pattern=r"^(local(\[(\d+|\*)\])?|spark://[^\s/]+)$"
    )
    vendor_dir: Path = Path(__file__).resolve().parents[2] / "node_modules"
    # Days of clinic sessions a calendar shows when no network of the host institution has a
    # profile with `slot_release_lead_days` (C3); a display default, not a jurisdiction rule.
    calendar_days: int = Field(default=14, ge=1, le=60)
    # Public reference data read at run time, never copied in (the demo plans Hong Kong from
    # its hk_ha folder when present): ../shared/data beside the checkout.
    reference_data_dir: Path = Path(__file__).resolve().parents[3] / "shared" / "data"
    # The largest request body accepted (layout files and fact imports included); 413 above.
    max_body_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto: trust it, so the site counts
    # as https (Secure cookies, HSTS). Off by default: a client could claim https itself.
    trust_forwarded_proto: bool = False
    # How long a browser keeps to https once it has seen the site over TLS (HSTS).
    hsts_seconds: int = Field(default=31_536_000, ge=0)
    # The audit log's tree heads are signed with this key (HMAC-SHA256), kept outside the
    # database; empty: derived from secret_key. The verifier needs the same key.
    audit_key: str = ""
    # The sealer (run by `caregrid serve`) signs a tree head over at most this many rows, as
    # often as every this many milliseconds while rows wait; 0 turns the background sealer off.
    audit_seal_rows: int = Field(default=1000, ge=1, le=100_000)
    audit_seal_interval_ms: int = Field(default=500, ge=0)
    # Where the sealer also writes the latest signed head, so a database restored to an older
    # state is caught (`caregrid audit verify --head`); default <data_dir>/audit-head.json.
    audit_head_file: Path | None = None
    # Emergency access (auth.access.open_emergency_grant): how long one grant opens a record,
    # how many grants one account may open in 24 hours, and how many days of grants the
    # auditors' page lists as alerts.
    emergency_grant_minutes: int = Field(default=60, ge=1, le=24 * 60)
    emergency_grants_per_day: int = Field(default=5, ge=1, le=100)
    emergency_alert_days: int = Field(default=7, ge=1, le=366)
    # The shortest password an account may be given (at creation, a reset or a change).
    password_min_length: int = Field(default=10, ge=8, le=128)
    host: str = "127.0.0.1"
    port: int = 8000

    @model_validator(mode="after")
    def _safe_defaults(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEMO_SECRET:
            raise ValueError("CAREGRID_SECRET_KEY must be set in production")
        if self.environment != "test" and (
            self.argon2_time_cost < 3 or self.argon2_memory_kib < 65536
        ):
            raise ValueError("weakened argon2 parameters are for the test environment only")
        if self.environment == "production" and not self.database_url:
            raise ValueError("CAREGRID_DATABASE_URL must be set in production")
        return self

    @property
    def audit_key_bytes(self) -> bytes:
        if self.audit_key:
            return self.audit_key.encode("utf-8")
        return hmac.new(self.secret_key.encode("utf-8"), b"caregrid audit key", "sha256").digest()

    @property
    def effective_audit_head_file(self) -> Path:
        return self.audit_head_file or self.data_dir / "audit-head.json"

    @property
    def effective_facts_dir(self) -> Path:
        return self.facts_dir or self.data_dir / "facts"

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'caregrid.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Settings, read from the environment (``SKILLVOUCHER_*``) when asked for, never at import."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKILLVOUCHER_", extra="ignore")

    data_dir: Path = Path("skillvoucher-data")
    """Where the embedded SQLite database and the signing keys live by default."""

    database_url: str | None = None
    """Any SQLAlchemy URL; defaults to a SQLite file in ``data_dir``."""

    read_database_url: str | None = None
    """A PostgreSQL streaming replica for reads that may be a moment old (statistics, the live
    status of a verified voucher); unset means those reads go to ``database_url`` too."""

    key_dir: Path | None = None
    """Signing keys and the registry's digest key; kept apart from the database on purpose."""

    consent_code_minutes: int = 10
    chunk_size: int = 5000

    quota_exhausted_memory_seconds: float = Field(default=1.0, ge=0, le=60)
    """How long a server process refuses claims on a first-come scheme it found full without
    asking the database again (0: ask every time). See ``quota_gate.ExhaustedQuotas``."""

    retry_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts at one chunk of a bulk job when the connection breaks or PostgreSQL refuses
    it as a serialization failure or deadlock (the first run counts)."""

    retry_base_seconds: float = Field(default=0.2, ge=0, le=60)
    """The wait before the first retry; it doubles for each next one, plus random jitter."""

    environment: Literal["development", "production"] = "development"
    """Production refuses what only development may use (the e-SSC simulator)."""

    session_hours: int = 12
    """How long a sign-in (cookie or bearer token) lasts."""

    lockout_threshold: int = 5
    """Failed passwords in a row before an account is locked."""

    lockout_minutes: int = 15

    redis_url: str | None = None
    """Shared counters for rate limits across processes (redis://…); without it, per process."""

    rate_limits_enabled: bool = True
    """Off only for tests that measure something else under load (the enrolment race)."""

    cookie_secure: bool = False
    """Mark session cookies Secure; on whenever the app is served over HTTPS."""

    essc_issuer: str | None = None
    """OpenID Connect issuer URL of the real e-SSC; unset means the built-in simulator, which
    production refuses."""

    essc_client_id: str | None = None
    essc_client_secret: SecretStr | None = None
    """This app's client credentials at the e-SSC (required with ``essc_issuer``)."""

    essc_redirect_uri: str | None = None
    """The callback URL registered at the e-SSC; by default derived from the request (set it
    when a proxy in front of the app changes the scheme or host)."""

    essc_id_number_claim: str = "essc_id_number"
    """The ID-token claim holding the card holder's resident ID number."""

    session_secret: SecretStr | None = None
    """Signs the short-lived cookie that carries OIDC state and nonce; generated once into
    ``key_dir`` when unset."""

    notice_essc_url: str | None = None
    """Where holder notices are posted to the e-SSC message box (unset: not sent there)."""

    notice_essc_token: SecretStr | None = None
    """Bearer token for ``notice_essc_url``."""

    notice_sms_url: str | None = None
    """The SMS gateway's endpoint for holder notices (unset: no SMS)."""

    notice_sms_token: SecretStr | None = None
    """Bearer token for ``notice_sms_url``."""

    notice_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long one notice channel call may take before it counts as failed (and is retried)."""

    settlement_notice_days: int = Field(default=5, ge=0, le=60)
    """Days a settlement batch stays on public notice before it may be paid (0: no notice)."""

    settlement_second_approval_fen: int = Field(default=10_000_000, ge=0)
    """Batches of at least this amount (fen) need a second, different approver (four eyes)."""

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'skillvoucher.db').as_posix()}"

    @cached_property
    def resolved_read_database_url(self) -> str | None:
        return normalise_database_url(self.read_database_url) if self.read_database_url else None

    @cached_property
    def resolved_key_dir(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url

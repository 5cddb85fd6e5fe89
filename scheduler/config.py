"""Settings: the only module that reads the environment (prefix SCHEDULER_)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = PROJECT_ROOT / "seeds" / "events_2023.json"
DEV_KEY_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "dev"}


class Settings(BaseSettings):
    """Everything configurable, built once and passed in."""

    model_config = SettingsConfigDict(env_prefix="SCHEDULER_", extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""
    base_url: str = "http://127.0.0.1:8000"
    secret_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)  # comma list, not JSON
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout: float = 30.0
    smtp_verify: bool = True
    smtp_cafile: Path | None = None
    mail_from: str = "科技招商推进领导小组办公室 <noreply@kjzs.example.org>"
    clock: str = "real"
    contacts_file: Path | None = None
    # Mail pipeline (issue 4): SMTP pool, local sink, outbox retry policy, ticker intervals (real seconds).
    smtp_connections: int = Field(default=4, ge=1, le=32)
    mail_sink: bool = False  # `serve` also runs a local SMTP sink on smtp_host:smtp_port storing var/mail/*.eml
    dispatch_batch: int = Field(default=100, ge=1, le=5000)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_retry_base: float = 60.0
    outbox_retry_cap: float = 6 * 3600.0
    outbox_sending_timeout: float = 600.0
    plan_interval: float = 10.0
    dispatch_interval: float = 1.0
    recover_interval: float = 60.0
    reminder_rules: dict[str, dict[str, Any]] = Field(default_factory=dict)  # JSON: {"district": {...}}
    seed_file: Path = DEFAULT_SEED
    timezone: str = "Asia/Shanghai"

    @field_validator("secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @field_validator("secret_keys")
    @classmethod
    def _refuse_placeholder_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if key.lower() in DEV_KEY_PLACEHOLDERS or len(key) < 16:
                raise ValueError("SCHEDULER_SECRET_KEYS: every key must be a random string of 16+ characters")
        return value

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to an SQLite file under var_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'scheduler.db').resolve()}"

    def signing_keys(self) -> list[str]:
        """Return the secret keys, creating a persistent local one when none is configured."""
        if self.secret_keys:
            return self.secret_keys
        key_file = self.var_dir / "secret_key"
        if not key_file.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        self.secret_keys = [key_file.read_text().strip()]
        return self.secret_keys

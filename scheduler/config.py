"""Settings: the only module that reads the environment (prefix SCHEDULER_)."""

from __future__ import annotations

import secrets
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
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
    secret_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)  # a comma list, not JSON
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
    checklist_file: Path | None = PROJECT_ROOT / "seeds" / "checklists.toml"  # 筹备事项 templates (issue 5)
    # Mail pipeline (issue 4): SMTP pool, local sink, outbox retry policy, ticker intervals (real seconds).
    smtp_connections: int = Field(default=4, ge=1, le=32)
    mail_sink: bool = False  # `serve` also runs a local SMTP sink on smtp_host:smtp_port storing var/mail/*.eml
    dispatch_batch: int = Field(default=100, ge=1, le=5000)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_retry_base: float = 60.0
    outbox_retry_cap: float = 6 * 3600.0
    outbox_sending_timeout: float = 600.0
    plan_interval: float = 10.0
    # Logistics (issue 12): personal fields of a roster are purged this many days after its event ends.
    logistics_retention_days: int = Field(default=90, ge=0, le=3650)
    dispatch_interval: float = 1.0
    recover_interval: float = 60.0
    reminder_rules: dict[str, dict[str, Any]] = Field(default_factory=dict)  # JSON: {"district": {...}}
    mail_policy: dict[str, Any] = Field(default_factory=dict)  # JSON: MailPolicy fields, e.g. {"hours_end": "18:00"}
    seed_file: Path = DEFAULT_SEED
    # A fixed event whose plan gives no end lasts this long in feeds and invitations (issue 14; docs/feeds.md).
    event_default_minutes: int = Field(default=120, ge=15, le=24 * 60)
    feed_recheck_seconds: float = 2.0  # how stale a served feed may be before the data version is checked
    # Operations (issue 15): which peers may set X-Forwarded-For/-Proto (comma list of addresses or networks; empty:
    # nobody, the socket peer is the client), who sees /healthz details, whether /mail is readable without sign-in.
    forwarded_allow_ips: str = ""
    health_token: str | None = None
    mailbox_public: bool = False  # only the local demo (`make run`) turns it on
    access_log: bool = False  # SCHEDULER_ACCESS_LOG=on: one line per request, tokens redacted (costs throughput)

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
                raise ValueError("每个密钥都必须是 16 个字符以上的随机字符串")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        entries = [e.strip() for e in value.split(",") if e.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} 不是 IP 地址或网段（多个用逗号分隔，* 表示信任所有来源）") from None
        return ",".join(entries)

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


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each variable and what is wrong, in Chinese."""


_SETTINGS_MESSAGES = {
    "int_parsing": "不是整数",
    "float_parsing": "不是数字",
    "bool_parsing": "不是布尔值（true/false）",
    "literal_error": "取值无效",
    "missing": "缺少",
}
_SECRET_VARIABLES = {"SCHEDULER_SECRET_KEYS", "SCHEDULER_SMTP_PASSWORD", "SCHEDULER_HEALTH_TOKEN"}


def _describe(err: Any) -> str:
    var = f"SCHEDULER_{err['loc'][0]}".upper() if err["loc"] else "SCHEDULER_*"
    if err["type"] == "value_error":
        message = str(err.get("ctx", {}).get("error", err["msg"]))
    else:
        message = _SETTINGS_MESSAGES.get(err["type"], err["msg"])
        if err["type"] == "literal_error":
            message += f"（可选：{str(err.get('ctx', {}).get('expected', '')).replace(' or ', ', ')}）"
    if var in _SECRET_VARIABLES:  # never echo a secret back, not even a wrong one
        return f"{var}：{message}"
    return f"{var}：{message}，收到 {err.get('input')!r}"


def load_settings() -> Settings:
    """Build the settings from the environment; raise SettingsError with one Chinese line per problem."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError("\n".join(_describe(err) for err in exc.errors(include_url=False))) from None

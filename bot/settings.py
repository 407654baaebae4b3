"""Configuration, read once in the entry point from the environment and an optional `.env`."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.models import CALLBACK_PATH
from bot.sealing import Sealer, parse_keys

REQUIRED_FOR_SERVE = ("WEBEX_BOT_TOKEN", "WEBEX_WEBHOOK_SECRET")
REQUIRED_FOR_SIGN_IN = (
    "WEBEX_INTEGRATION_CLIENT_ID", "WEBEX_INTEGRATION_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY",
    "PUBLIC_URL",
)


class Settings(BaseSettings):
    """Every setting the bot reads; names are the environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    WEBEX_BOT_TOKEN: SecretStr | None = None
    WEBEX_ADMIN_TOKEN: SecretStr | None = None
    WEBEX_WEBHOOK_SECRET: SecretStr | None = None
    WEBEX_API_URL: str = "https://webexapis.com/v1"
    WEBEX_ORG_ID: str | None = None
    WEBEX_CLIENT_ID: str | None = None
    WEBEX_CLIENT_SECRET: SecretStr | None = None
    WEBEX_ADMIN_REFRESH_TOKEN: SecretStr | None = None
    PUBLIC_URL: str | None = None
    CHANGES_WITH: Literal["service-app", "admin"] = "service-app"
    WEBEX_INTEGRATION_CLIENT_ID: str | None = None
    WEBEX_INTEGRATION_CLIENT_SECRET: SecretStr | None = None
    TOKEN_ENCRYPTION_KEY: SecretStr | None = None
    HOST: str = "0.0.0.0"  # noqa: S104 - a web process must listen on every interface
    PORT: int = Field(default=8080, ge=0, le=65535)
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"
    DATABASE_URL: str = "sqlite:///ecn-bot.db"
    CARD_TOKEN_TTL_SECONDS: int = Field(default=15 * 60, gt=0)
    INBOX_RESUME_WINDOW_SECONDS: int = Field(default=10 * 60, gt=0)
    INBOX_LEASE_SECONDS: float = Field(default=30.0, gt=0)
    INBOX_RETENTION_HOURS: int = Field(default=24 * 7, gt=0)
    ROLE_CACHE_SECONDS: float = Field(default=60.0, ge=0, le=60)
    MAX_CONCURRENT_EVENTS: int = Field(default=64, gt=0)
    SHUTDOWN_GRACE_SECONDS: float = Field(default=25.0, ge=0)
    WEBEX_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    WEBEX_MAX_RETRIES: int = Field(default=4, ge=0, le=10)
    RETRY_AFTER_CAP_SECONDS: float = Field(default=30.0, gt=0)
    # Calls in flight per organization for work over many locations (the coverage report).
    WEBEX_MAX_CONCURRENCY: int = Field(default=10, ge=1, le=100)
    COMMAND_RATE_PER_MINUTE: int = Field(default=10, gt=0)
    WATCH_INTERVAL_SECONDS: float = Field(default=900.0, gt=0)  # the watch's checks
    RECEIVER_PROCESS: bool = True  # serve: acknowledge webhooks in a process of their own
    WORKER_NICE: int = Field(default=5, ge=0, le=19)  # the worker's priority below the receiver

    @field_validator(
        "WEBEX_BOT_TOKEN",
        "WEBEX_ADMIN_TOKEN",
        "WEBEX_WEBHOOK_SECRET",
        "WEBEX_CLIENT_SECRET",
        "WEBEX_ADMIN_REFRESH_TOKEN",
        "WEBEX_INTEGRATION_CLIENT_ID",
        "WEBEX_INTEGRATION_CLIENT_SECRET",
        "TOKEN_ENCRYPTION_KEY",
        "PUBLIC_URL",
        mode="before",
    )
    @classmethod
    def _empty_is_missing(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("TOKEN_ENCRYPTION_KEY")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_keys(value.get_secret_value())  # ValueError names the bad key's position
        return value

    @field_validator("WEBEX_API_URL", "PUBLIC_URL")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _resume_within_retention(self) -> Settings:
        # Events are resumed (and journaled ones brought into the inbox) within the window;
        # a window longer than the inbox keeps finished events would run those again.
        if self.INBOX_RESUME_WINDOW_SECONDS >= self.INBOX_RETENTION_HOURS * 3600:
            raise ValueError(
                f"INBOX_RESUME_WINDOW_SECONDS ({self.INBOX_RESUME_WINDOW_SECONDS} s) must be "
                f"shorter than INBOX_RETENTION_HOURS ({self.INBOX_RETENTION_HOURS} h)")
        return self

    @property
    def webhook_key(self) -> bytes:
        """The webhook secret as the signature check takes it (empty: every signature fails)."""
        secret = self.WEBEX_WEBHOOK_SECRET
        return secret.get_secret_value().encode() if secret else b""

    @property
    def card_token_ttl(self) -> timedelta:
        return timedelta(seconds=self.CARD_TOKEN_TTL_SECONDS)

    @property
    def inbox_resume_window(self) -> timedelta:
        return timedelta(seconds=self.INBOX_RESUME_WINDOW_SECONDS)

    @property
    def uses_refresh_token(self) -> bool:
        return bool(
            self.WEBEX_CLIENT_ID and self.WEBEX_CLIENT_SECRET and self.WEBEX_ADMIN_REFRESH_TOKEN
        )

    @property
    def signs_in(self) -> bool:
        """Changes are made with each admin's own token (personal sign-in)."""
        return self.CHANGES_WITH == "admin"

    @property
    def redirect_uri(self) -> str:
        """Where Webex sends the browser back after sign-in."""
        return f"{self.PUBLIC_URL}{CALLBACK_PATH}"

    def sealer(self) -> Sealer | None:
        """What seals tokens at rest (None without TOKEN_ENCRYPTION_KEY)."""
        key = self.TOKEN_ENCRYPTION_KEY
        return Sealer(key.get_secret_value()) if key else None

    def missing_for_serve(self) -> list[str]:
        """Names of required settings that are missing or empty, in a stable order."""
        missing = [name for name in REQUIRED_FOR_SERVE if getattr(self, name) is None]
        if self.WEBEX_ADMIN_TOKEN is None and not self.uses_refresh_token:
            missing.insert(1, "WEBEX_ADMIN_TOKEN")
        return missing

    def missing_for_tokens(self) -> tuple[list[str], str]:
        """Settings the stored tokens need, and why: personal sign-in needs its Integration,
        the key and PUBLIC_URL; the Service App's rotated tokens are stored sealed."""
        if self.signs_in:
            names = [n for n in REQUIRED_FOR_SIGN_IN if getattr(self, n) is None]
            return names, "CHANGES_WITH=admin"
        if self.uses_refresh_token and self.TOKEN_ENCRYPTION_KEY is None:
            return ["TOKEN_ENCRYPTION_KEY"], (
                "WEBEX_ADMIN_REFRESH_TOKEN: rotated tokens are stored encrypted")
        return [], ""

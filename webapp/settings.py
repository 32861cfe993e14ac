"""Web settings: read once when the application is created, never at import time.

``CONSULT_SECRET_KEY`` signs sessions; without it a key is generated once into the instance folder
(``secret_key``, readable by its owner only) so that sessions survive a restart.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from consult.config import Config, yes_no_setting

SECRET_FILE = "secret_key"


@dataclass(frozen=True)
class Limit:
    """At most ``count`` hits per ``seconds`` for one key."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or "60"))


@dataclass(frozen=True)
class WebSettings:
    secret_key: str
    cookie_secure: bool
    timezone: str
    public_url: str | None
    signin_ip: Limit  # sign-in attempts per address
    signin_user: Limit  # failed sign-ins per user name (known or not: no enumeration)
    code_ip: Limit  # voting-code attempts per address
    password_method: str
    trust_proxy: bool

    @classmethod
    def from_env(cls, config: Config, environ: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if environ is None else environ
        return cls(
            secret_key=env.get("CONSULT_SECRET_KEY") or instance_secret(config.instance_path),
            cookie_secure=flag(env, "CONSULT_COOKIE_SECURE", True),
            timezone=env.get("CONSULT_TIMEZONE", "Asia/Shanghai"),
            public_url=env.get("CONSULT_PUBLIC_URL") or None,
            signin_ip=Limit.parse(env.get("CONSULT_LIMIT_SIGNIN_IP", "20/300")),
            signin_user=Limit.parse(env.get("CONSULT_LIMIT_SIGNIN_USER", "5/900")),
            code_ip=Limit.parse(env.get("CONSULT_LIMIT_CODE_IP", "10/300")),
            password_method=env.get("CONSULT_PASSWORD_METHOD", "scrypt"),
            trust_proxy=flag(env, "CONSULT_TRUST_PROXY", False),
        )


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """The yes/no setting ``name`` of ``env`` (:func:`consult.config.yes_no_setting`)."""
    return yes_no_setting(name, env.get(name), default)


def instance_secret(instance_path: Path) -> str:
    """The instance folder's secret key, created on first use."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / SECRET_FILE
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= 32:
        return key
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key

"""Settings: safe defaults, overridden by environment variables (names fixed by DESIGN.md)."""

from __future__ import annotations

import os
from pathlib import Path

PREFIX = "PROXISERVICES_"

# Settings read from their bare names (operations contract); the rest use PREFIX.
BARE_NAMES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_DEFAULT_SENDER",
)


def _coerce(value: str, default: object) -> object:
    """Environment values are strings; give them the type of the default."""
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on", "oui"}
    if isinstance(default, int):
        return int(value)
    return value


def load(instance_path: str, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Build the configuration from defaults and the environment."""
    env = os.environ if environ is None else environ
    sqlite_path = Path(instance_path) / "proxiservices.sqlite3"
    config: dict[str, object] = {
        "SECRET_KEY": "dev-only-not-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{sqlite_path}",
        "SEED_DIR": str(Path(__file__).resolve().parent.parent / "seeds"),
        "TIMEZONE": "Europe/Paris",
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_SITES": 5,
        "MAX_HELP_DESKS": 3,
        "MAIL_SERVER": "localhost",
        "MAIL_PORT": 25,
    }
    for name in BARE_NAMES:
        if name in env:
            key = "SQLALCHEMY_DATABASE_URI" if name == "DATABASE_URL" else name
            config[key] = _coerce(env[name], config.get(key, ""))
    for name, value in env.items():
        if name.startswith(PREFIX):
            key = name.removeprefix(PREFIX)
            config[key] = _coerce(value, config.get(key, ""))
    uri = str(config["SQLALCHEMY_DATABASE_URI"])
    if uri.startswith("postgres://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgres://")
    elif uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    config["SQLALCHEMY_DATABASE_URI"] = uri
    return config

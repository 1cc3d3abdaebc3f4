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
    "MAIL_TIMEOUT",
)

# Refused as a secret in production (see proxiservices/security.py).
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"


def _coerce(name: str, value: str, default: object) -> object:
    """Environment values are strings; give them the type of the default. A number that
    does not read stops the start with a message naming the variable, rather than a
    traceback of int()."""
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on", "oui"}
    if isinstance(default, int):
        return _number(name, value, int, "un nombre entier", "a whole number")
    if isinstance(default, float):
        return _number(name, value, float, "un nombre (par exemple 0.5)", "a number")
    return value


def _number(name: str, value: str, parse, french: str, english: str) -> object:
    try:
        return parse(value.strip())
    except ValueError:
        raise RuntimeError(
            f"{name} doit être {french}, pas {value!r}. / {name} must be {english}."
        ) from None


def load(instance_path: str, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Build the configuration from defaults and the environment."""
    env = os.environ if environ is None else environ
    sqlite_path = Path(instance_path) / "proxiservices.sqlite3"
    config: dict[str, object] = {
        "SECRET_KEY": DEVELOPMENT_SECRET_KEY,
        # PROXISERVICES_ENV=production: SECRET_KEY becomes mandatory.
        "ENV": "development",
        # Number of reverse proxies in front of the app whose X-Forwarded-* are trusted.
        "PROXY_COUNT": 0,
        # Strict-Transport-Security (only once the site is served over HTTPS for good).
        "HSTS": False,
        # One JSON line per request on stderr (request_log.py): auto = on unless TESTING.
        "REQUEST_LOG": "auto",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{sqlite_path}",
        # Seconds to wait for a PostgreSQL connection before answering 503 (see outage.py).
        "DATABASE_CONNECT_TIMEOUT": 5,
        # Retry-After (seconds) of the 503 page shown while the database is unavailable.
        "DATABASE_RETRY_AFTER": 30,
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
        # Seconds a worker may keep showing cached answers after another worker's directory
        # edit (services/answer_cache.py); its own edits are seen at once.
        "DIRECTORY_CHECK_SECONDS": 1.0,
        # Anonymous visits (public result pages, API answers) are kept by each process and
        # written in batches (services/write_behind.py): every ACTIVITY_BUFFER_SECONDS, or
        # once ACTIVITY_BUFFER_ROWS wait; at most ACTIVITY_BUFFER_MAX are kept while the
        # database is down. 0 seconds: each visit is written in its request.
        "ACTIVITY_BUFFER_SECONDS": 2.0,
        "ACTIVITY_BUFFER_ROWS": 500,
        "ACTIVITY_BUFFER_MAX": 50000,
        "MAIL_SERVER": "localhost",
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "MAIL_DEFAULT_SENDER": "Proxiservices <ne-pas-repondre@proxiservices.localhost>",
        "MAIL_TIMEOUT": 10,
        # Address of the application in e-mailed links.
        "PUBLIC_URL": "http://127.0.0.1:5000",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": False,
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "PASSWORD_RESET_HOURS": 1,
        "PASSWORD_MIN_LENGTH": 12,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 30,
        "LOGIN_WINDOW_MINUTES": 15,
        "REQUEST_REMINDER_DAYS": "3,10",
        "REQUEST_EXPIRY_DAYS": 30,
        "DUPLICATE_WINDOW_DAYS": 7,
        # Months after a request ends, or after the last activity of one left open, before
        # `flask purge` anonymises it (domain/retention.py).
        "RETENTION_MONTHS": 12,
        # Shown on /donnees-personnelles: who is responsible, whom residents write to.
        # Empty: the page says the operator must set them.
        "DATA_CONTROLLER": "",
        "DPO_CONTACT": "",
        # Shown on /accessibilite: whom to write to about an accessibility problem.
        "ACCESSIBILITY_CONTACT": "",
        # Rate limits of POSTs (limits.py): per client address (generous: a town hall's
        # desks share one NAT address) and per account (strict). RATELIMIT_* names are
        # Flask-Limiter's own settings. Storage: memory (per worker) or redis://host:6379/0.
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_KEY_PREFIX": "proxiservices",
        "RATELIMIT_STRATEGY": "fixed-window",
        "RATELIMIT_LOGIN": "60 per minute; 600 per hour",
        "RATELIMIT_LOGIN_ACCOUNT": "10 per minute; 50 per hour",
        "RATELIMIT_PASSWORD_RESET": "20 per minute; 100 per hour",
        "RATELIMIT_PASSWORD_RESET_ACCOUNT": "5 per hour",
        "RATELIMIT_REQUESTS": "60 per minute; 600 per hour",
        "RATELIMIT_REQUESTS_ACCOUNT": "20 per minute; 200 per hour",
        # Pairing codes typed on a resident screen (/ecran), per client address.
        "RATELIMIT_SCREEN_CODE": "10 per minute; 60 per hour",
        # Minutes a resident screen pairing code stays valid (it is used once).
        "SCREEN_CODE_MINUTES": 10,
        "OUTBOX_SEND_AFTER_RESPONSE": True,
        "OUTBOX_MAX_ATTEMPTS": 20,
        "OUTBOX_CLAIM_MINUTES": 10,
        # Map tiles (the map page only); the CSP allows the origin of TILE_URL.
        "TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "TILE_ATTRIBUTION": "© les contributeurs d'OpenStreetMap",
        "TILE_ATTRIBUTION_URL": "https://www.openstreetmap.org/copyright",
    }
    for name in BARE_NAMES:
        if name in env:
            key = "SQLALCHEMY_DATABASE_URI" if name == "DATABASE_URL" else name
            config[key] = _coerce(name, env[name], config.get(key, ""))
    for name, value in env.items():
        if name.startswith(PREFIX):
            key = name.removeprefix(PREFIX)
            config[key] = _coerce(name, value, config.get(key, ""))
    uri = str(config["SQLALCHEMY_DATABASE_URI"])
    if uri.startswith("postgres://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgres://")
    elif uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    config["SQLALCHEMY_DATABASE_URI"] = uri
    if str(config["ENV"]).strip().lower() == "production":
        production_cookies(config, env)
    return config


def production_cookies(config: dict[str, object], env) -> None:
    """In production the cookies go over HTTPS only, unless the environment says otherwise;
    the session cookie then takes the `__Host-` prefix: the browser keeps it only if it is
    Secure, for path / and this host alone, so no sibling sub-domain can plant one."""
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if PREFIX + key not in env:
            config[key] = True
    if (
        config["SESSION_COOKIE_SECURE"]
        and PREFIX + "SESSION_COOKIE_NAME" not in env
        and not config.get("SESSION_COOKIE_DOMAIN")
        and config.get("SESSION_COOKIE_PATH", "/") in ("/", None)
    ):
        config["SESSION_COOKIE_NAME"] = "__Host-proxiservices"

"""Rate limits on the POSTs worth flooding: login, password reset, request submission, and
the resident screen's pairing code (guessing it).

Flask-Limiter counts the POSTs of each rule below, keyed by the client address (the real one
behind `PROXY_COUNT` proxies, ProxyFix rewrites `remote_addr`) and, for the stricter rule,
by the account: the e-mail typed in the form, or the signed-in agent. Many receptionists of
one town hall share one NAT address, so the per-address limits are generous and the
per-account ones strict. GETs are never counted: showing the login page costs nothing.

The counts live in memory by default (one count per worker process) or, with
PROXISERVICES_RATELIMIT_STORAGE_URI=redis://..., in Redis, shared by every worker. If
Redis stops answering, the limiter logs a warning and counts in memory until it is back
(`in_memory_fallback_enabled`), and any other storage error is logged and lets the request
through (`swallow_errors`): a broken counter must not lock the desks out.

The login POST is also throttled in the database (services/authentication.py): that one
counts failures only, survives restarts and is the lockout against password guessing;
this one counts every POST before any password hashing (scrypt is slow on purpose) and so
keeps a flood from eating the CPU. Both stay.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_login import current_user
from limits import parse_many
from sqlalchemy.exc import SQLAlchemyError

EXTENSION = "proxiservices_limiter"
LIMITED = "proxiservices_limited_endpoints"
TOO_MANY = "Trop de tentatives en peu de temps."


@dataclass(frozen=True)
class Rule:
    endpoint: str
    setting: str  # the config key holding the limits, e.g. "10 per minute; 50 per hour"
    key: str  # "address", "email" (typed in the form) or "account" (signed-in agent)


RULES: tuple[Rule, ...] = (
    Rule("accounts.login", "RATELIMIT_LOGIN", "address"),
    Rule("accounts.login", "RATELIMIT_LOGIN_ACCOUNT", "email"),
    Rule("accounts.forgot_password", "RATELIMIT_PASSWORD_RESET", "address"),
    Rule("accounts.forgot_password", "RATELIMIT_PASSWORD_RESET_ACCOUNT", "email"),
    Rule("accounts.reset", "RATELIMIT_PASSWORD_RESET", "address"),
    Rule("requests.new", "RATELIMIT_REQUESTS", "address"),
    Rule("requests.new", "RATELIMIT_REQUESTS_ACCOUNT", "account"),
    Rule("screen.pair", "RATELIMIT_SCREEN_CODE", "address"),
)


def address_key() -> str:
    return f"adresse:{request.remote_addr or 'inconnue'}"


def email_key() -> str:
    """The e-mail typed in the form, as a keyed hash: no address in Redis or in the logs."""
    typed = (request.form.get("email") or "").strip().lower()[:254]
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, typed.encode(), hashlib.sha256).hexdigest()[:32]
    return f"e-mail:{digest}"


def account_key() -> str:
    # Anonymous POSTs are refused by the view anyway: one shared bucket is enough for them.
    try:
        signed_in = current_user.is_authenticated  # loads the account from the database
    except SQLAlchemyError:
        # Database down: the view answers 503 right after. Raised here, the error would be
        # taken by Flask-Limiter for a storage failure (and logged as one).
        return "compte:inconnu"
    return f"compte:{current_user.id}" if signed_in else "compte:anonyme"


KEYS: dict[str, Callable[[], str]] = {
    "address": address_key,
    "email": email_key,
    "account": account_key,
}


def wait_text(seconds: float) -> str:
    """ "dans 3 minutes", "dans moins d'une minute", "dans 2 heures"."""
    if seconds < 60:
        return "dans moins d'une minute"
    minutes = math.ceil(seconds / 60)
    if minutes <= 90:
        return f"dans {minutes} minute{'s' if minutes > 1 else ''}"
    return f"dans {math.ceil(minutes / 60)} heures"


def seconds_left() -> int | None:
    """Until the limit this request ran into lets it through again."""
    limiter = current_app.extensions.get(EXTENSION)
    try:
        current = limiter.current_limit if limiter else None
        if current is None or not current.breached:
            return None
        return max(1, math.ceil(current.reset_at - time.time()))
    except Exception:  # storage gone between the count and this question
        return None


def breach_message() -> str:
    """The French text of the 429 page (web.py shows an HTTPException's description)."""
    seconds = seconds_left()
    if seconds is None:
        return f"{TOO_MANY} Patientez quelques minutes avant de réessayer."
    return f"{TOO_MANY} Vous pourrez réessayer {wait_text(seconds)}."


def add_retry_after(response: Response) -> Response:
    if response.status_code == 429 and request.endpoint in current_app.extensions.get(LIMITED, ()):
        seconds = seconds_left()
        if seconds is not None:
            response.headers["Retry-After"] = str(seconds)
    return response


def check_limits(value: str, setting: str) -> None:
    """Refuse to start on a limit Flask-Limiter would not understand."""
    try:
        parsed = parse_many(value)
    except ValueError:
        parsed = []
    if not parsed:
        raise RuntimeError(
            f"PROXISERVICES_{setting} invalide : « {value} ». Exemple attendu : "
            f"« 10 per minute; 50 per hour ». / invalid rate limit for {setting}."
        )


def limit_endpoint(
    app: Flask,
    endpoint: str,
    value: str,
    key: str,
    *,
    methods: Sequence[str] = ("POST",),
    setting: str = "",
) -> None:
    """Wrap this app's view of `endpoint` with a limit (the module's function stays bare, so
    every app built in a process has limits of its own)."""
    limiter: Limiter = app.extensions[EXTENSION]
    app.extensions[LIMITED].add(endpoint)
    view = app.view_functions[endpoint]
    app.view_functions[endpoint] = limiter.limit(
        value,
        key_func=KEYS[key],
        methods=list(methods),
        scope=setting or key,
        error_message=breach_message,
    )(view)


def storage_options(uri: str) -> dict[str, float]:
    """Short Redis timeouts: an unreachable Redis falls back to memory within a second."""
    if uri.startswith(("redis", "rediss", "valkey")):
        return {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}
    return {}


class _HideLimitedKey(logging.Filter):
    """Flask-Limiter logs each breach with the key it counted: a client address or an
    account. Logs must carry no personal data, so the key is masked; the rule and the
    endpoint stay, which is what an operator needs to see a flood."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if str(record.msg).startswith("ratelimit ") and isinstance(args, tuple) and len(args) == 3:
            record.args = (args[0], "clé masquée", args[2])
        return True


_LIMITER_LOG = logging.getLogger("flask-limiter")
if not any(isinstance(f, _HideLimitedKey) for f in _LIMITER_LOG.filters):
    _LIMITER_LOG.addFilter(_HideLimitedKey())


def install_rate_limits(app: Flask) -> Limiter | None:
    """The limits of RULES, from the settings; none with RATELIMIT_ENABLED off (the tests)."""
    config = app.config
    for setting in sorted({rule.setting for rule in RULES}):
        check_limits(str(config[setting]), setting)
    if not config.get("RATELIMIT_ENABLED", True):
        return None
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if uri.startswith("memory") and str(config.get("ENV", "")).lower() == "production":
        app.logger.warning(
            "Limites de débit comptées en mémoire, par processus : définissez "
            "PROXISERVICES_RATELIMIT_STORAGE_URI=redis://... pour les partager entre workers."
        )
    limiter = Limiter(
        key_func=address_key,
        storage_uri=uri,
        storage_options=storage_options(uri),
        key_prefix=str(config.get("RATELIMIT_KEY_PREFIX") or "proxiservices"),
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    # Marked as installed, init_app adds none of its hooks around every request: there are
    # no app-wide limits to check (the limits are the wrapped views' below), and those
    # hooks cost about 0.1 ms on every page. The 429 gets its Retry-After here instead.
    app.extensions.setdefault("limiter", set()).add(limiter)
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    app.extensions[LIMITED] = set()
    app.after_request(add_retry_after)
    for rule in RULES:
        limit_endpoint(
            app, rule.endpoint, str(config[rule.setting]), rule.key, setting=rule.setting
        )
    return limiter

"""What every response says to the browser, the proxies we trust, and the production secret.

The Content-Security-Policy has no 'unsafe-inline': templates hold no inline script, no
`style=` attribute and no inline event handler (tests/web/test_security_headers.py scans
them), and htmx runs with `includeIndicatorStyles: false` so it injects no <style>.
"""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from proxiservices.config import DEVELOPMENT_SECRET_KEY
from proxiservices.services.map import tile_origin

HSTS_VALUE = "max-age=31536000"


@lru_cache(maxsize=8)
def content_security_policy(tiles: str) -> str:
    """The policy; map tiles are the only images from elsewhere (their origin, if any)."""
    images = " ".join(filter(None, ("'self'", "data:", tiles)))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


@lru_cache(maxsize=8)
def _security_headers(tile_url: str, hsts: bool) -> tuple[tuple[str, str], ...]:
    """The headers every response carries unless its view already chose a value; built
    once per setting, not on every response."""
    headers = [
        ("Content-Security-Policy", content_security_policy(tile_origin(tile_url))),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "geolocation=(), camera=(), microphone=()"),
    ]
    if hsts:
        headers.append(("Strict-Transport-Security", HSTS_VALUE))
    return tuple(headers)


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        tile_url, hsts = str(app.config["TILE_URL"]), bool(app.config.get("HSTS"))
        for name, value in _security_headers(tile_url, hsts):
            if name not in headers:  # a view's stricter choice (no-referrer, say) stays
                headers.add(name, value)
        return response


def trust_proxies(app: Flask) -> None:
    """Behind `PROXY_COUNT` reverse proxies, take the client address, scheme and host from
    their X-Forwarded-* headers; with none (the default) those headers are ignored, since
    anyone could send them."""
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count < 0:
        raise RuntimeError(
            "PROXISERVICES_PROXY_COUNT doit être un entier positif ou nul / "
            "must be a non-negative integer."
        )
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def require_production_secret(app: Flask) -> None:
    """With PROXISERVICES_ENV=production the app refuses to start on a missing or
    development secret key: sessions and CSRF tokens could be forged with it."""
    if str(app.config.get("ENV", "")).strip().lower() != "production":
        return
    secret = app.config.get("SECRET_KEY")
    if not secret or secret == DEVELOPMENT_SECRET_KEY:
        raise RuntimeError(
            "SECRET_KEY manquante : en production (PROXISERVICES_ENV=production), définissez "
            "la variable d'environnement SECRET_KEY avec une valeur longue et aléatoire. / "
            "SECRET_KEY is missing: in production (PROXISERVICES_ENV=production), set the "
            "SECRET_KEY environment variable to a long random value."
        )


def install_security(app: Flask) -> None:
    """Everything above, in the order create_app needs it."""
    require_production_secret(app)
    trust_proxies(app)
    install_security_headers(app)

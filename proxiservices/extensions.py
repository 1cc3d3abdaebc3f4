"""Flask extensions, created unbound and attached in create_app."""

import hashlib
import json
import zlib

from flask import Flask, session
from flask.json.provider import DefaultJSONProvider
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_htmx import HTMX
from flask_login import LoginManager as BaseLoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LoginManager(BaseLoginManager):
    """Strong session protection, for signed-in sessions only. A visitor's session (the
    commune chosen, nothing else) has no user to protect; Flask-Login would still "clear"
    it on every page, adding a Set-Cookie that deletes a remember cookie this application
    never sets (and the work of a fingerprint per page)."""

    def _session_protection_failed(self) -> bool:
        if "_user_id" not in session:
            return False
        return super()._session_protection_failed()


class _SessionSerializer(URLSafeTimedSerializer):
    """A session cookie compressed only when it is big enough to gain from it. itsdangerous
    tries zlib on every cookie it signs; a visitor's session (a commune, the last counted
    visit: about a hundred bytes) gains at most a byte, and setting up a deflate stream
    cost a result page 0.16 ms on average, more than a millisecond at times. Reading is
    unchanged: a compressed cookie still announces itself with its leading dot."""

    COMPRESS_FROM = 512  # bytes of JSON

    def dump_payload(self, obj: object) -> bytes:
        json = super(URLSafeSerializerMixin, self).dump_payload(obj)
        if len(json) >= self.COMPRESS_FROM:  # as itsdangerous does, when it gains
            compressed = zlib.compress(json)
            if len(compressed) < len(json) - 1:
                return b"." + base64_encode(compressed)
        return base64_encode(json)


_PLAIN = (str, int, float, bool, type(None))


class _SessionJSON(TaggedJSONSerializer):
    """Flask's tagged JSON for the session, written by one kept encoder when no part of the
    value needs a tag (a visitor's session: a commune, the last counted visit). The same
    text as Flask's, without walking the value through every tag and building an encoder
    for each cookie; anything else (a tuple, bytes, a date, Markup...) goes Flask's way."""

    def __init__(self, ensure_ascii: bool, sort_keys: bool) -> None:
        super().__init__()
        self._encoder = json.JSONEncoder(
            ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":")
        )

    def dumps(self, value: object) -> str:
        if self._plain(value):
            return self._encoder.encode(value)
        return super().dumps(value)

    def _plain(self, value: object) -> bool:
        kind = type(value)
        if kind in _PLAIN:
            return True
        if kind is list:
            return all(self._plain(item) for item in value)  # type: ignore[attr-defined]
        if kind is dict:
            if len(value) == 1 and next(iter(value)) in self.tags:  # type: ignore[arg-type]
                return False  # Flask tags such a dict (" di")
            return all(
                type(key) is str and self._plain(item)
                for key, item in value.items()  # type: ignore[attr-defined]
            )
        return False


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, with its signing serializer built once per secret key
    (and fallback keys) rather than twice per request, to open and to save the session.
    Signed with hashlib's own sha1: Flask wraps it in a Python function (to defer the import
    on FIPS systems), which sends every signature and key derivation through the standard
    library's pure-Python HMAC instead of OpenSSL's. Same algorithm, same cookies."""

    # Flask's lazy lookup stays the fallback for a Python built without SHA-1 (as in Flask,
    # signing then fails, not the import).
    digest_method = staticmethod(
        getattr(hashlib, "sha1", None) or SecureCookieSessionInterface.digest_method
    )
    _kept: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        provider = app.json
        writing = (
            (provider.ensure_ascii, provider.sort_keys)
            if type(provider).dumps is DefaultJSONProvider.dumps
            else None  # a provider of its own writes its own way: Flask's serializer
        )
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()), writing)
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, self._serializer(*keys))
        return kept[1]

    def _serializer(
        self, secret_key, fallbacks: tuple, writing: tuple[bool, bool] | None
    ) -> URLSafeTimedSerializer | None:
        """As Flask 3.1 builds it (fallback keys first, the current key last), with the
        compression rule and the session JSON above."""
        if not secret_key:
            return None
        return _SessionSerializer(
            [*fallbacks, secret_key],
            salt=self.salt,
            serializer=self.serializer if writing is None else _SessionJSON(*writing),
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True)
csrf = CSRFProtect()
htmx = HTMX()
babel = Babel()
mail = Mail()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "Connectez-vous pour accéder à cette page."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

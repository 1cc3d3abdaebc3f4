"""Logging in, with throttling that does not reveal who has an account, and the password
reset by a single-use e-mailed link. Functions take the time (`at`) as an argument."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

from flask import current_app, render_template
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from proxiservices.domain.residents import normalise_email
from proxiservices.extensions import db
from proxiservices.models import LoginFailure, PasswordResetToken, User
from proxiservices.services.accounts import (
    AccountError,
    check_password_rules,
    get_user_by_email,
    hash_password,
    set_password,
)
from proxiservices.services.outbox import queue_message

# Unused reset links a person may have at once: more requests are silently ignored, so
# the form cannot be used to flood someone's mailbox.
MAX_OUTSTANDING_RESETS = 3
LOGIN_FAILED = "Adresse e-mail ou mot de passe incorrect."
LOGIN_THROTTLED = (
    "Trop de tentatives de connexion. Patientez quelques minutes avant de réessayer, "
    "ou choisissez « Mot de passe oublié »."
)
RESET_INVALID = "Ce lien n'est plus valable : il a déjà servi ou a expiré. Demandez-en un nouveau."


class LoginFailed(AccountError):
    """Unknown address, wrong password or disabled account: deliberately one message."""


class LoginThrottled(AccountError):
    """Too many recent failures for this address or from this network address."""


@cache
def _dummy_hash() -> str:
    """A hash to check against when the address is unknown, so the answer takes as long."""
    return hash_password(secrets.token_urlsafe(16))


def _window_start(at: datetime) -> datetime:
    return at - timedelta(minutes=int(current_app.config["LOGIN_WINDOW_MINUTES"]))


def _failures(key: str, since: datetime) -> int:
    stmt = select(func.count(LoginFailure.id)).where(
        LoginFailure.key == key, LoginFailure.at >= since
    )
    return db.session.scalar(stmt) or 0


def authenticate(email: str, password: str, *, remote_addr: str | None, at: datetime) -> User:
    """The account for these credentials, or LoginFailed / LoginThrottled. The answer is
    the same, and takes as long, whether the address is unknown or the password wrong."""
    config = current_app.config
    cleaned = normalise_email(email or "")
    email_key = f"email:{(cleaned or (email or '').strip()).lower()[:250]}"
    addr_key = f"addr:{remote_addr or 'inconnue'}"[:300]
    since = _window_start(at)
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    if _failures(email_key, since) >= int(config["LOGIN_MAX_FAILURES"]) or _failures(
        addr_key, since
    ) >= int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        db.session.commit()
        raise LoginThrottled(LOGIN_THROTTLED)
    user = get_user_by_email(cleaned) if cleaned else None
    stored = user.password_hash if user is not None else _dummy_hash()
    valid = check_password_hash(stored, password or "")
    if user is None or not valid or not user.active:
        db.session.add_all([LoginFailure(key=email_key, at=at), LoginFailure(key=addr_key, at=at)])
        db.session.commit()
        raise LoginFailed(LOGIN_FAILED)
    db.session.execute(delete(LoginFailure).where(LoginFailure.key == email_key))
    user.last_login_at = at
    db.session.commit()
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_password_reset(email: str, *, at: datetime, base_url: str) -> None:
    """E-mail a single-use reset link if an active account has this address; say nothing
    either way, so the form does not tell who has an account."""
    user = get_user_by_email(email)
    if user is None or not user.active:
        return
    outstanding = db.session.scalar(
        select(func.count(PasswordResetToken.id)).where(
            PasswordResetToken.user_id == user.id,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > at,
        )
    )
    if outstanding >= MAX_OUTSTANDING_RESETS:
        return
    hours = int(current_app.config["PASSWORD_RESET_HOURS"])
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=_token_hash(token),
            created_at=at,
            expires_at=at + timedelta(hours=hours),
        )
    )
    body = render_template(
        "accounts/password_reset_mail.txt",
        link=f"{base_url.rstrip('/')}/mot-de-passe/{token}",
        hours=hours,
        user=user,
    )
    queue_message(
        kind="password_reset",
        recipients=[user.email],
        subject="Proxiservices – choisir un nouveau mot de passe",
        body=body,
        at=at,
    )
    db.session.commit()


def _valid_token(token: str, at: datetime) -> PasswordResetToken | None:
    if not token or len(token) > 200:
        return None
    row = db.session.scalars(
        select(PasswordResetToken)
        .where(PasswordResetToken.token_hash == _token_hash(token))
        .options(joinedload(PasswordResetToken.user))
    ).one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= at or not row.user.active:
        return None
    return row


def check_reset_token(token: str, at: datetime) -> User | None:
    """The account a reset link is for, while the link is unused and not expired."""
    row = _valid_token(token, at)
    return row.user if row is not None else None


def reset_password(token: str, new_password: str, *, at: datetime) -> User:
    """Use a reset link: new password, every session and every other link of the account
    ended, past login failures for the address forgotten."""
    row = _valid_token(token, at)
    if row is None:
        raise AccountError(RESET_INVALID)
    user = row.user
    check_password_rules(new_password)
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=at)
    )
    db.session.execute(delete(LoginFailure).where(LoginFailure.key == f"email:{user.email}"))
    set_password(user, new_password, at)
    return user

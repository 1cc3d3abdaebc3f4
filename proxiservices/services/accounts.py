"""Staff accounts: creation with the attachment each role needs, listing, disabling,
password changes, and the session id that a password change or disabling invalidates.

Login and password reset are in services/authentication.py. Functions take the time (`at`)
as an argument; none reads the clock or the current user.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from proxiservices.domain.residents import normalise_email
from proxiservices.domain.roles import ADMIN, ELECTED, PARTNER, RECEPTIONIST, ROLE_LABELS, ROLES
from proxiservices.extensions import db
from proxiservices.models import Body, Commune, Site, Territory, User
from proxiservices.services.rows import get_by_id

HASH_METHOD = "scrypt"
PASSWORD_MAX_LENGTH = 256


class AccountError(ValueError):
    """A rule on accounts is not met; the message is French, for the person who acts."""


def _clean_email(email: str) -> str:
    normalised = normalise_email(email or "")
    if normalised is None:
        raise AccountError(f"Adresse e-mail invalide : « {(email or '').strip()[:80]} ».")
    return normalised.lower()


def check_password_rules(password: str) -> None:
    minimum = int(current_app.config["PASSWORD_MIN_LENGTH"])
    if len(password or "") < minimum:
        raise AccountError(f"Le mot de passe doit comporter au moins {minimum} caractères.")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(
            f"Le mot de passe doit comporter au plus {PASSWORD_MAX_LENGTH} caractères."
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        labels = ", ".join(f"{r} ({ROLE_LABELS[r]})" for r in ROLES)
        raise AccountError(f"Rôle inconnu : « {role} ». Rôles possibles : {labels}.")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


def _new_session_token() -> str:
    return secrets.token_hex(32)


def _find_site(site_ref: str) -> Site:
    ref = str(site_ref).strip()
    site = get_by_id(Site, int(ref)) if ref.isascii() and ref.isdigit() else None
    if site is None:
        site = db.session.scalars(select(Site).where(Site.slug == ref)).one_or_none()
    if site is None:
        raise AccountError(f"Lieu d'accueil inconnu : « {ref[:80]} » (identifiant ou slug).")
    return site


def _mairie_site(commune_insee: str) -> Site:
    insee = str(commune_insee).strip()
    if db.session.get(Commune, insee) is None:
        raise AccountError(f"Commune inconnue : « {insee[:20]} » (code Insee attendu).")
    site = db.session.scalars(select(Site).where(Site.slug == f"mairie-{insee}")).one_or_none()
    if site is None:
        raise AccountError(f"Aucune mairie connue pour la commune {insee} : indiquez le lieu.")
    return site


def _check_territory(code: str) -> str:
    code = str(code).strip()
    if db.session.get(Commune, code) is not None:
        return code
    territory = db.session.get(Territory, code)
    if territory is None or territory.kind not in {"epci", "departement"}:
        raise AccountError(
            f"Territoire inconnu : « {code[:20]} ». Indiquez le code Insee d'une commune, "
            "le SIREN d'une intercommunalité ou le code du département (88)."
        )
    return code


def create_user(
    *,
    email: str,
    role: str,
    password: str,
    at: datetime,
    name: str | None = None,
    body_slug: str | None = None,
    site_ref: str | None = None,
    commune_insee: str | None = None,
    territory_code: str | None = None,
) -> User:
    """Create an account attached as its role requires: a desk, a body or a territory."""
    user = add_user(
        email=email,
        role=role,
        password=password,
        at=at,
        name=name,
        body_slug=body_slug,
        site_ref=site_ref,
        commune_insee=commune_insee,
        territory_code=territory_code,
    )
    db.session.commit()
    return user


def add_user(
    *,
    email: str,
    role: str,
    password: str,
    at: datetime,
    name: str | None = None,
    body_slug: str | None = None,
    site_ref: str | None = None,
    commune_insee: str | None = None,
    territory_code: str | None = None,
) -> User:
    """create_user without the commit, for callers that load several things at once."""
    email = _clean_email(email)
    _check_role(role)
    if db.session.scalars(select(User.id).where(User.email == email)).first() is not None:
        raise AccountError(f"Un compte existe déjà pour l'adresse {email}.")
    check_password_rules(password)
    user = User(
        email=email,
        name=(name or "").strip() or None,
        role=role,
        password_hash=hash_password(password),
        active=True,
        session_token=_new_session_token(),
        created_at=at,
    )
    attach_user(
        user,
        body_slug=body_slug,
        site_ref=site_ref,
        commune_insee=commune_insee,
        territory_code=territory_code,
    )
    db.session.add(user)
    db.session.flush()
    return user


def attach_user(
    user: User,
    *,
    body_slug: str | None = None,
    site_ref: str | None = None,
    commune_insee: str | None = None,
    territory_code: str | None = None,
) -> None:
    """Set the desk, body or territory that `user.role` needs (and clear the others)."""
    _check_role(user.role)
    user.site_id = user.body_id = user.territory_code = None
    given = {
        "un organisme": body_slug,
        "un lieu d'accueil": site_ref,
        "une commune": commune_insee,
        "un territoire": territory_code,
    }
    allowed = {
        RECEPTIONIST: {"un lieu d'accueil", "une commune"},
        PARTNER: {"un organisme"},
        ELECTED: {"une commune", "un territoire"},
        ADMIN: set(),
    }[user.role]
    extra = [label for label, value in given.items() if value and label not in allowed]
    if extra:
        raise AccountError(
            f"Un compte « {ROLE_LABELS[user.role]} » ne se rattache pas à {' ni à '.join(extra)}."
        )
    if user.role == RECEPTIONIST:
        if site_ref:
            site = _find_site(site_ref)
            if commune_insee and site.commune_insee != str(commune_insee).strip():
                raise AccountError(f"Le lieu {site.slug} n'est pas sur la commune {commune_insee}.")
        elif commune_insee:
            site = _mairie_site(commune_insee)
        else:
            raise AccountError(
                "Un agent d'accueil est rattaché à un lieu d'accueil : indiquez le lieu "
                "ou la commune (l'agent est alors rattaché à sa mairie)."
            )
        user.site_id = site.id
    elif user.role == PARTNER:
        if not body_slug:
            raise AccountError("Un agent partenaire est rattaché à un organisme : indiquez-le.")
        body = db.session.scalars(select(Body).where(Body.slug == body_slug.strip())).first()
        if body is None:
            raise AccountError(f"Organisme inconnu : « {body_slug[:80]} ».")
        user.body_id = body.id
    elif user.role == ELECTED:
        if territory_code and commune_insee and territory_code != commune_insee:
            raise AccountError("Indiquez un seul territoire : la commune ou le territoire.")
        code = territory_code or commune_insee
        if not code:
            raise AccountError(
                "Un élu est rattaché à un territoire : une commune, une intercommunalité "
                "ou le département."
            )
        user.territory_code = _check_territory(code)


def list_users() -> list[User]:
    stmt = (
        select(User)
        .options(joinedload(User.site).joinedload(Site.commune), joinedload(User.body))
        .order_by(User.role, User.email)
    )
    return list(db.session.scalars(stmt))


def get_user_by_email(email: str) -> User | None:
    cleaned = normalise_email(email or "")
    if cleaned is None:
        return None
    return db.session.scalars(select(User).where(User.email == cleaned.lower())).one_or_none()


def attachment_labels(users: Iterable[User]) -> dict[int, str]:
    """What each account is attached to, in words ("Mairie de Bruyères", "CAF des Vosges",
    "CC Bruyères-Vallons des Vosges"); territories are looked up in one query."""
    users = list(users)
    codes = {u.territory_code for u in users if u.territory_code}
    names: dict[str, str] = {}
    if codes:
        names.update(
            (t.code, t.name)
            for t in db.session.scalars(select(Territory).where(Territory.code.in_(codes)))
        )
        names.update(
            (c.insee, c.name)
            for c in db.session.scalars(select(Commune).where(Commune.insee.in_(codes)))
        )
    labels = {}
    for user in users:
        if user.site is not None:
            labels[user.id] = user.site.name
        elif user.body is not None:
            labels[user.id] = user.body.name
        elif user.territory_code:
            labels[user.id] = names.get(user.territory_code, user.territory_code)
        else:
            labels[user.id] = ""
    return labels


def disable_user(email: str, at: datetime) -> User:
    """Disable an account; its open sessions end at their next request."""
    user = get_user_by_email(email)
    if user is None:
        raise AccountError(f"Aucun compte pour l'adresse « {(email or '').strip()[:80]} ».")
    user.active = False
    user.session_token = _new_session_token()
    db.session.commit()
    return user


def set_password(user: User, password: str, at: datetime) -> None:
    """Set a new password; every open session of the account ends (the caller logs the
    current one in again if it should continue)."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.session_token = _new_session_token()
    db.session.commit()


def change_password(user: User, current_password: str, new_password: str, at: datetime) -> None:
    """The account's own password change: the current password is required."""
    if not check_password_hash(user.password_hash, current_password or ""):
        raise AccountError("Le mot de passe actuel est incorrect.")
    set_password(user, new_password, at)


def end_sessions(user: User) -> None:
    """Logging out ends the session on the server too: a copied cookie no longer works
    (the account's other sessions end with it, which suits shared desk computers)."""
    user.session_token = _new_session_token()
    db.session.commit()


def load_user(session_id: str) -> User | None:
    """The account of a session id "<id>:<session token>", if still valid."""
    user_id, _, token = (session_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    if not secrets.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user

"""The resident screen's data: desk sessions, pairing codes, screens, the desk's current
screen, and what a screen shows for it.

Everything lives in the database, so that any worker of any process answers a screen the
same way (gunicorn's sync workers share no memory). Time is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from proxiservices.domain import screen as rules
from proxiservices.domain.screen import ScreenState
from proxiservices.extensions import db
from proxiservices.models import Need, ScreenDesk, ScreenPairing, Theme, User
from proxiservices.services import tree
from proxiservices.services.communes import get_commune
from proxiservices.services.needs import get_need
from proxiservices.services.orientation import OrientationError, orient

WINDOW = "fenetre"
TABLET = "tablette"
# Rows of days gone are deleted when a desk starts its screen: they never mattered after.
KEEP_DAYS = 2


@dataclass(frozen=True)
class Followed:
    """What a screen needs to answer a poll: its desk's id, version and current screen."""

    desk_id: int
    version: int
    state: str


def get_desk(desk_id: int, user: User, at: datetime) -> ScreenDesk | None:
    """The desk session if it is the user's, still of today and not ended."""
    desk = db.session.get(ScreenDesk, desk_id)
    if desk is None or desk.user_id != user.id or desk.ended_at is not None:
        return None
    return desk if desk.expires_at > at else None


def start_desk(user: User, at: datetime) -> ScreenDesk:
    """A new desk session, showing the welcome screen until the desk moves."""
    _forget_old(at)
    desk = ScreenDesk(
        user_id=user.id,
        state=ScreenState().encode(),
        version=1,
        updated_at=at,
        expires_at=rules.end_of_day(at),
    )
    db.session.add(desk)
    db.session.flush()
    return desk


def _forget_old(at: datetime) -> None:
    old = select(ScreenDesk.id).where(ScreenDesk.expires_at < at - timedelta(days=KEEP_DAYS))
    db.session.execute(delete(ScreenPairing).where(ScreenPairing.desk_id.in_(old)))
    db.session.execute(
        delete(ScreenDesk).where(ScreenDesk.expires_at < at - timedelta(days=KEEP_DAYS))
    )


def issue_code(desk: ScreenDesk, at: datetime, secret: str, minutes: int) -> str:
    """A new pairing code for the desk (the previous one stops working); returns it in
    clear, the database keeps its hash."""
    code = rules.new_code()
    desk.code_hash = rules.keyed_hash(code, secret)
    desk.code_expires_at = at + timedelta(minutes=minutes)
    db.session.commit()
    return code


def _pair(desk_id: int, kind: str, at: datetime, secret: str) -> str:
    token = rules.new_token()
    db.session.add(
        ScreenPairing(
            desk_id=desk_id,
            token_hash=rules.keyed_hash(token, secret),
            kind=kind,
            created_at=at,
            expires_at=rules.end_of_day(at),
        )
    )
    return token


def pair_window(desk: ScreenDesk, at: datetime, secret: str) -> str:
    """A second window of the desk's own browser: paired at once, no code to type."""
    token = _pair(desk.id, WINDOW, at, secret)
    db.session.commit()
    return token


def pair_with_code(typed: str | None, at: datetime, secret: str) -> str | None:
    """The screen token for a valid code, which is used up; None for a wrong, expired or
    used code (one answer for all three: guessing learns nothing), and nothing written."""
    code = rules.normalise_code(typed)
    if code is None:
        return None
    desk = db.session.scalars(
        select(ScreenDesk).where(
            ScreenDesk.code_hash == rules.keyed_hash(code, secret),
            ScreenDesk.code_expires_at > at,
            ScreenDesk.ended_at.is_(None),
            ScreenDesk.expires_at > at,
        )
    ).one_or_none()
    if desk is None:
        db.session.rollback()
        return None
    # Single use, even when two tablets send it at once: only one UPDATE finds the code.
    taken = db.session.execute(
        update(ScreenDesk)
        .where(ScreenDesk.id == desk.id, ScreenDesk.code_hash == desk.code_hash)
        .values(code_hash=None, code_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        db.session.rollback()
        return None
    token = _pair(desk.id, TABLET, at, secret)
    db.session.commit()
    return token


def end_desk(desk: ScreenDesk, at: datetime) -> int:
    """The desk stops showing: its screens are revoked and its code forgotten."""
    revoked = db.session.execute(
        update(ScreenPairing)
        .where(ScreenPairing.desk_id == desk.id, ScreenPairing.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    desk.ended_at = at
    desk.code_hash = None
    desk.code_expires_at = None
    db.session.commit()
    return revoked


def count_screens(desk: ScreenDesk, at: datetime) -> int:
    return db.session.scalar(
        select(func.count(ScreenPairing.id)).where(
            ScreenPairing.desk_id == desk.id,
            ScreenPairing.revoked_at.is_(None),
            ScreenPairing.expires_at > at,
        )
    )


def code_is_waiting(desk: ScreenDesk, at: datetime) -> bool:
    return desk.code_hash is not None and (desk.code_expires_at or at) > at


def follow(desk_id: int, state: ScreenState, at: datetime) -> bool:
    """Record the desk's current screen: one UPDATE, which changes nothing (and keeps the
    version, hence the screens' ETag) when the desk shows the same thing again."""
    encoded = state.encode()
    changed = db.session.execute(
        update(ScreenDesk)
        .where(
            ScreenDesk.id == desk_id,
            ScreenDesk.state != encoded,
            ScreenDesk.ended_at.is_(None),
        )
        .values(state=encoded, version=ScreenDesk.version + 1, updated_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return changed == 1


def followed_by(token: str | None, at: datetime, secret: str) -> Followed | None:
    """The desk a screen token follows, in one query; None when unknown, revoked, ended or
    of another day."""
    if not token or len(token) > 100:
        return None
    row = db.session.execute(
        select(ScreenDesk.id, ScreenDesk.version, ScreenDesk.state)
        .join(ScreenPairing, ScreenPairing.desk_id == ScreenDesk.id)
        .where(
            ScreenPairing.token_hash == rules.keyed_hash(token, secret),
            ScreenPairing.revoked_at.is_(None),
            ScreenPairing.expires_at > at,
            ScreenDesk.ended_at.is_(None),
        )
    ).one_or_none()
    return Followed(*row) if row else None


# --- what a screen shows ----------------------------------------------------------------------


@dataclass
class ScreenView:
    """Everything a screen template reads: plain words, public places, nothing personal."""

    kind: str
    heading: str
    sentences: tuple[str, ...] = ()
    commune: str | None = None
    title: str | None = None  # the theme, the question or the need
    choices: list[str] = field(default_factory=list)  # themes, answers, needs found
    place: dict[str, Any] | None = None
    # Where to go when it is not the office of the resident's commune (no place then).
    elsewhere: tuple[str, ...] = ()
    opening: list[str] = field(default_factory=list)
    week: list[tuple[str, str]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    online: str | None = None  # the address of the online procedure, shown, not linked
    step: rules.NextStep | None = None


def build_view(state: ScreenState, at: datetime) -> ScreenView:
    """The screen for a desk state; a need or question removed since is the welcome."""
    commune = get_commune(state.commune) if state.commune else None
    commune_name = commune.name if commune else None
    kind = state.kind
    view = ScreenView(
        kind=kind,
        heading=rules.HEADINGS[kind],
        sentences=rules.INTRODUCTIONS[kind],
        commune=commune_name,
    )
    if kind == rules.THEMES:
        view.choices = [t.title for t in db.session.scalars(select(Theme).order_by(Theme.position))]
    elif kind == rules.QUESTION and state.question:
        question = tree.get_question(state.question)
        if question is None:
            return _welcome(commune_name)
        view.heading = question.theme.title
        view.title = question.text
        view.choices = [a.label for a in question.answers]
    elif kind == rules.SEARCH:
        found = {
            n.slug: n.title
            for n in db.session.scalars(select(Need).where(Need.slug.in_(state.needs)))
        }
        view.choices = [found[slug] for slug in state.needs if slug in found]
        if not view.choices:
            view.sentences = ("L'agent cherche votre démarche.",)
    elif kind == rules.COMMUNE and state.need:
        need = get_need(state.need)
        if need is not None:
            view.title = need.title
    elif kind == rules.RESULT:
        return _result(state, commune_name, at) or _welcome(commune_name)
    return view


def _welcome(commune_name: str | None) -> ScreenView:
    return ScreenView(
        kind=rules.HOME,
        heading=rules.HEADINGS[rules.HOME],
        sentences=rules.INTRODUCTIONS[rules.HOME],
        commune=commune_name,
    )


def _result(state: ScreenState, commune_name: str | None, at: datetime) -> ScreenView | None:
    if not state.need or not state.commune:
        return None
    try:
        answer = orient(state.need, state.commune, at, max_sites=1, max_help_desks=1)
    except OrientationError:
        return None
    need = answer.need
    view = ScreenView(
        kind=rules.RESULT,
        heading=rules.HEADINGS[rules.RESULT],
        title=need.title,
        commune=commune_name,
        documents=list(need.documents or []),
        online=need.online_url,
    )
    place_name = None
    view.elsewhere = rules.elsewhere(need.place)
    if answer.sites and not answer.body_kind.online_only and not view.elsewhere:
        first = answer.sites[0]
        site = first.site
        place_name = site.name
        view.place = {
            "name": site.name,
            "body": site.body.name if site.body.name != site.name else None,
            "address": ", ".join(
                part
                for part in (site.address, f"{site.postcode or ''} {site.commune.name}".strip())
                if part
            ),
            "phone": site.phone or site.body.phone,
        }
        status = first.status
        view.opening = rules.opening_sentences(
            known=status.known and status.valid,
            open_now=status.open_now,
            closes_at=status.closes_at,
            next_opening=status.next_opening,
            closed_for=status.closed_for is not None,
            at=at,
        )
        view.week = [(day.label, day.text) for day in first.week or []]
    help_place = answer.help_desks[0].site.name if answer.help_desks else None
    view.step = rules.next_step(
        place_name=place_name,
        online_only=answer.body_kind.online_only,
        online_url=bool(need.online_url),
        has_documents=bool(need.documents),
        request_possible=need.request_possible,
        help_place=help_place,
        place=need.place,
    )
    return view

"""Sample POSTs of the resident screen for tests/web/test_csrf.py: a desk asks for a pairing
code, opens a second window, ends its screens; a tablet types a code.

Each function takes test_csrf's `kit` and `accepted` and returns the keywords of its `Post`.
The desk samples use a client of their own (a fresh login of the kit's desk account), so
that the shared desk client never becomes a paired desk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import ScreenDesk, ScreenPairing, User
from proxiservices.services import screen as service
from tests.plugins.accounts import csrf_token, login
from tests.web.samples import read

DESK_PAGE = "/ecran-usager"


def _desk_client(kit):
    client = kit.app.test_client()
    assert login(client, kit.users["desk"].email).status_code == 302
    return client, csrf_token(client, DESK_PAGE)


def _count(kit, model) -> int:
    return read(kit.app, lambda: db.session.scalar(select(func.count(model.id))))


def _live_desks(kit) -> int:
    return read(
        kit.app,
        lambda: db.session.scalar(
            select(func.count(ScreenDesk.id)).where(ScreenDesk.ended_at.is_(None))
        ),
    )


def new_code(kit, accepted: bool) -> dict:
    client, token = _desk_client(kit)
    before = _count(kit, ScreenDesk)
    return {
        "client": client,
        "token": token,
        "url": f"{DESK_PAGE}/code",
        "data": {},
        "accepted": 303,
        "refused_check": lambda: _count(kit, ScreenDesk) == before,
        "accepted_check": lambda: _count(kit, ScreenDesk) == before + 1,
    }


def open_window(kit, accepted: bool) -> dict:
    client, token = _desk_client(kit)
    before = _count(kit, ScreenPairing)
    return {
        "client": client,
        "token": token,
        "url": f"{DESK_PAGE}/fenetre",
        "data": {},
        "accepted": 303,
        "refused_check": lambda: _count(kit, ScreenPairing) == before,
        "accepted_check": lambda: _count(kit, ScreenPairing) == before + 1,
    }


def end(kit, accepted: bool) -> dict:
    client, token = _desk_client(kit)
    # A screen of this client's own, to be ended.
    assert client.post(f"{DESK_PAGE}/fenetre", data={"csrf_token": token}).status_code == 303
    before = _live_desks(kit)
    return {
        "client": client,
        "token": token,
        "url": f"{DESK_PAGE}/terminer",
        "data": {},
        "accepted": 303,
        "refused_check": lambda: _live_desks(kit) == before,
        "accepted_check": lambda: _live_desks(kit) == before - 1,
    }


def _code(kit) -> str:
    """A fresh code of a desk session of its own, made through the service."""

    def make() -> str:
        user = db.session.get(User, kit.users["desk"].id)
        at = datetime.now(PARIS)
        desk = service.start_desk(user, at)
        return service.issue_code(desk, at, kit.app.config["SECRET_KEY"], minutes=10)

    return read(kit.app, make)


def pair(kit, accepted: bool) -> dict:
    client = kit.app.test_client()
    token = csrf_token(client, "/ecran")
    before = _count(kit, ScreenPairing)
    return {
        "client": client,
        "token": token,
        "url": "/ecran",
        "data": {"code": _code(kit)},
        "accepted": 303,
        "refused_check": lambda: _count(kit, ScreenPairing) == before,
        "accepted_check": lambda: _count(kit, ScreenPairing) == before + 1,
    }


SAMPLES = {
    "screen.new_code": new_code,
    "screen.open_window": open_window,
    "screen.end": end,
    "screen.pair": pair,
}

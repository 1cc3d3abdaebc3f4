"""The resident screen ("écran usager") as desks and tablets use it: pairing by code or by a
second window, following the desk with ETag / 304, nothing personal on it, another desk's
screen untouched, the end of the pairing, and the code form's refusals."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from proxiservices.domain import screen as rules
from proxiservices.domain.hours import PARIS
from proxiservices.domain.residents import format_phone
from proxiservices.extensions import db
from proxiservices.models import ScreenDesk, User
from proxiservices.services import screen as service
from tests.conftest import make_app
from tests.plugins.accounts import csrf_in, csrf_token, logged_in, logout, make_user
from tests.web.html import text_of

HTMX = {"HX-Request": "true"}
RESULT = "/orientation?need=aide-logement&commune=88078"
CODE = re.compile(r'class="screen-code">([A-Z0-9 ]+)<')
RESIDENT = SimpleNamespace(
    name="Gaspard Écranvide",
    phone="0677889900",
    email="gaspard.ecranvide@example.net",
    message="Mon dossier de la CAF est bloqué depuis mars.",
)


@pytest.fixture(scope="module")
def app(seeded_app):
    """The shared seeded app: the screen writes only its own tables (and accounts)."""
    return seeded_app


@pytest.fixture(scope="module")
def desks(app):
    """Two desks of different town halls (accounts made once: scrypt is slow on purpose)."""
    return {
        "bruyeres": make_user(app, "receptionist", commune_insee="88078"),
        "epinal": make_user(app, "receptionist", commune_insee="88160"),
        # The request form needs a partner body taking requests: the CAF, with an agent.
        "caf": make_user(app, "partner", body_slug="caf-vosges"),
    }


def desk_client(app, user):
    return logged_in(app, user.email)


def post(client, url: str, data: dict | None = None, token_page: str = "/ecran-usager"):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, token_page)})


def show_code(desk) -> str:
    assert post(desk, "/ecran-usager/code").status_code == 303
    page = desk.get("/ecran-usager").get_data(as_text=True)
    match = CODE.search(page)
    assert match, text_of(page)[:500]
    return match.group(1)


def pair_tablet(app, code: str):
    """A new browser (no login) that types the code; returns it and the answer."""
    tablet = app.test_client()
    form = tablet.get("/ecran")
    assert form.status_code == 200
    response = tablet.post(
        "/ecran", data={"code": code, "csrf_token": csrf_in(form.get_data(as_text=True))}
    )
    return tablet, response


def poll(screen, etag: str | None = None):
    headers = dict(HTMX)
    if etag:
        headers["If-None-Match"] = f'"{etag}"'
    return screen.get("/ecran/etat", headers=headers)


def etag_of(response) -> str:
    value, _weak = response.get_etag()
    assert value
    return value


def screen_text(screen) -> str:
    response = poll(screen)
    assert response.status_code == 200
    return text_of(response.get_data(as_text=True))


# --- pairing -------------------------------------------------------------------------------------


def test_a_tablet_pairs_with_the_code_and_follows_the_desk(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    code = show_code(desk)
    assert re.fullmatch(r"[A-Z0-9]{3} [A-Z0-9]{3}", code)
    # Typed as a person would: lower case, with the space.
    tablet, paired = pair_tablet(app, code.lower())
    assert paired.status_code == 303
    assert paired.headers["Location"].endswith("/ecran")
    cookie = paired.headers["Set-Cookie"]
    assert "ecran=" in cookie and "HttpOnly" in cookie and "Path=/ecran" in cookie
    assert "SameSite=Strict" in cookie and "Expires=" in cookie

    welcome = tablet.get("/ecran")
    assert welcome.status_code == 200
    assert "Bienvenue" in text_of(welcome.get_data(as_text=True))
    assert 'hx-trigger="every 2s"' in welcome.get_data(as_text=True)

    first = poll(tablet)
    assert first.status_code == 200
    tag = etag_of(first)
    unchanged = poll(tablet, tag)
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""
    assert etag_of(unchanged) == tag

    assert desk.get(RESULT).status_code == 200
    moved = poll(tablet, tag)
    assert moved.status_code == 200
    assert etag_of(moved) != tag
    text = text_of(moved.get_data(as_text=True))
    assert "Aide au logement" in text or "logement" in text.lower()
    for block in ("Où aller", "Quand", "À apporter", "Et ensuite"):
        assert block in text
    # The fragment carries its own ETag for the next poll.
    assert f'"If-None-Match": "\\"{etag_of(moved)}\\""' in moved.get_data(as_text=True)
    assert poll(tablet, etag_of(moved)).status_code == 304

    # The same step shown again changes nothing: still 304.
    assert desk.get(RESULT, headers={**HTMX, "HX-Target": "main"}).status_code == 200
    assert poll(tablet, etag_of(moved)).status_code == 304

    assert desk.get("/themes/papiers-citoyennete?commune=88078").status_code == 200
    question = poll(tablet, etag_of(moved))
    assert question.status_code == 200
    assert "Une question" in text_of(question.get_data(as_text=True)) or "Papiers" in text_of(
        question.get_data(as_text=True)
    )


def test_the_desk_page_shows_the_code_and_the_screens(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    page = desk.get("/ecran-usager")
    assert page.status_code == 200
    assert "Obtenir un code" in text_of(page.get_data(as_text=True))
    assert 'target="_blank"' in page.get_data(as_text=True)
    code = show_code(desk)
    shown = text_of(desk.get("/ecran-usager").get_data(as_text=True))
    assert code in shown and "10 minutes" in shown
    assert "0 écran relié" in shown
    _tablet, paired = pair_tablet(app, code)
    assert paired.status_code == 303
    shown = text_of(desk.get("/ecran-usager").get_data(as_text=True))
    assert "1 écran relié" in shown
    assert code not in shown, "a used code is not shown any more"


def test_a_second_window_of_the_desk_pairs_without_a_code(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    opened = post(desk, "/ecran-usager/fenetre")
    assert opened.status_code == 303
    assert opened.headers["Location"].endswith("/ecran")
    screen = desk.get("/ecran")
    assert screen.status_code == 200
    assert 'hx-get="/ecran/etat"' in screen.get_data(as_text=True)
    assert desk.get("/questions/identite?commune=88078").status_code == 200
    text = screen_text(desk)
    assert "L'agent vous pose une question." in text
    assert "Commune : Bruyères" in text


@pytest.mark.parametrize(
    "typed",
    ["", "ABCDEF", "K7M4P", "000000", "<script>", "x" * 500],
)
def test_a_wrong_code_is_refused_in_french(app, typed):
    tablet, refused = pair_tablet(app, typed)
    assert refused.status_code == 422
    text = text_of(refused.get_data(as_text=True))
    assert "Ce code ne marche pas" in text and "10 minutes" in text
    assert "Set-Cookie" not in refused.headers or "ecran=" not in refused.headers["Set-Cookie"]
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert tablet.get("/ecran/etat", headers=HTMX).status_code == 403


def test_a_code_works_once(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    code = show_code(desk)
    assert pair_tablet(app, code)[1].status_code == 303
    _other, again = pair_tablet(app, code)
    assert again.status_code == 422
    assert "déjà utilisé" in text_of(again.get_data(as_text=True))


def test_a_new_code_replaces_the_previous_one(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    first = show_code(desk)
    second = show_code(desk)
    if first != second:
        assert pair_tablet(app, first)[1].status_code == 422
    assert pair_tablet(app, second)[1].status_code == 303


def test_an_expired_code_is_refused(app, desks):
    with app.app_context():
        user = db.session.get(User, desks["epinal"].id)
        long_ago = datetime.now(PARIS) - timedelta(minutes=11)
        desk = service.start_desk(user, long_ago)
        code = service.issue_code(desk, long_ago, app.config["SECRET_KEY"], minutes=10)
        db.session.remove()
    _tablet, refused = pair_tablet(app, code)
    assert refused.status_code == 422
    assert "trop ancien" in text_of(refused.get_data(as_text=True))


def test_a_pairing_does_not_outlive_the_day(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    tablet, _ = pair_tablet(app, show_code(desk))
    token = tablet.get_cookie("ecran", path="/ecran").value
    secret = app.config["SECRET_KEY"]
    with app.app_context():
        at = datetime.now(PARIS)
        assert service.followed_by(token, at, secret) is not None
        assert service.followed_by(token, rules.end_of_day(at), secret) is None
        assert service.followed_by(token + "x", at, secret) is None
        db.session.remove()


# --- what the screen shows -----------------------------------------------------------------------


def test_nothing_personal_reaches_the_screen(app, desks):
    """The desk types the resident's name in the search and in a request form (sent back
    with an error, so nothing is kept): the screen shows needs and places only. The desk's
    pages of a sent request are checked in test_access_matrix.py, which has one."""
    desk = desk_client(app, desks["bruyeres"])
    tablet, _ = pair_tablet(app, show_code(desk))
    traces = [
        RESIDENT.name,
        "Écranvide",
        "Ecranvide",
        RESIDENT.phone,
        format_phone(RESIDENT.phone),
        RESIDENT.email,
        RESIDENT.message,
    ]
    assert desk.get(RESULT).status_code == 200
    new_request = "/demandes/nouvelle?need=aide-logement&commune=88078"
    typed = {
        "resident_name": RESIDENT.name,
        "phone": RESIDENT.phone,
        "email": RESIDENT.email,
        "message": RESIDENT.message,
        "channel": "phone",
    }  # no consent: the form comes back with the details in it
    refused = post(desk, new_request, typed, token_page=new_request)
    assert refused.status_code == 422
    assert RESIDENT.name in refused.get_data(as_text=True)
    searched = desk.get("/recherche?q=Gaspard+Ecranvide+carte+identite&commune=88078")
    assert searched.status_code == 200
    for shown in (poll(tablet), tablet.get("/ecran")):
        html = shown.get_data(as_text=True)
        for trace in traces:
            assert trace.lower() not in html.lower(), f"{trace!r} on the screen"
    # The search is on the screen by the needs it found, not by the words typed.
    found = screen_text(tablet)
    assert "Les démarches possibles" in found and "identité" in found.lower()
    with app.app_context():
        stored = db.session.scalars(select(ScreenDesk.state)).all()
        db.session.remove()
    assert not any("ecranvide" in state.lower() or "gaspard" in state.lower() for state in stored)


def test_another_desk_never_shows_this_desk(app, desks):
    bruyeres = desk_client(app, desks["bruyeres"])
    epinal = desk_client(app, desks["epinal"])
    tablet_b, _ = pair_tablet(app, show_code(bruyeres))
    tablet_e, _ = pair_tablet(app, show_code(epinal))
    assert epinal.get("/themes?commune=88160").status_code == 200
    before = poll(tablet_e)
    tag = etag_of(before)
    assert bruyeres.get(RESULT).status_code == 200
    assert bruyeres.get("/questions/identite?commune=88078").status_code == 200
    assert poll(tablet_e, tag).status_code == 304
    epinal_text = screen_text(tablet_e)
    assert "Épinal" in epinal_text and "Bruyères" not in epinal_text
    assert "Bruyères" in screen_text(tablet_b)


def test_pages_of_an_unpaired_desk_write_nothing(app, desks):
    desk = desk_client(app, desks["epinal"])
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    desk.get(RESULT)
    event.listen(engine, "before_cursor_execute", record)
    try:
        for page in (RESULT, "/themes?commune=88078", "/recherche?q=apl&commune=88078", "/"):
            assert desk.get(page).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert not [s for s in statements if "screen_desk" in s]


def test_unknown_steps_show_the_welcome(app, desks):
    with app.app_context():
        at = datetime.now(PARIS)
        for state in (
            rules.state("result", need="besoin-disparu", commune="88078"),
            rules.state("question", question="question-disparue"),
            rules.state("result", need="aide-logement"),
        ):
            assert service.build_view(state, at).kind == rules.HOME
        db.session.remove()


# --- the end -------------------------------------------------------------------------------------


def test_the_desk_ends_the_pairing(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    tablet, _ = pair_tablet(app, show_code(desk))
    assert post(desk, "/ecran-usager/fenetre").status_code == 303
    assert poll(tablet).status_code == 200
    ended = post(desk, "/ecran-usager/terminer")
    assert ended.status_code == 303
    assert "arrêté" in text_of(desk.get("/ecran-usager").get_data(as_text=True))
    for screen in (tablet, desk):
        gone = poll(screen)
        assert gone.status_code == 403
        assert gone.headers["HX-Redirect"] == "/ecran"
        assert "plus relié" in text_of(gone.get_data(as_text=True))
        assert "Tapez le code" in text_of(screen.get("/ecran").get_data(as_text=True))
    # Ended: the desk's pages no longer write for it.
    with app.app_context():
        version = db.session.scalars(
            select(ScreenDesk.version).order_by(ScreenDesk.id.desc())
        ).first()
        db.session.remove()
    desk.get("/themes?commune=88078")
    with app.app_context():
        assert (
            db.session.scalars(select(ScreenDesk.version).order_by(ScreenDesk.id.desc())).first()
            == version
        )
        db.session.remove()


def test_the_poll_without_htmx_goes_to_the_screen(app):
    response = app.test_client().get("/ecran/etat")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/ecran")


@pytest.mark.parametrize("role", ["partner", "elected"])
def test_only_desks_and_administrators_pair_a_screen(app, role):
    client = logged_in(app, make_user(app, role).email)
    page = client.get("/ecran-usager")
    assert page.status_code == 403
    assert "réservé aux agents d'accueil" in text_of(page.get_data(as_text=True))
    assert "Écran usager" not in text_of(client.get("/").get_data(as_text=True))


def test_the_nav_links_the_desk_page(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    assert 'href="/ecran-usager"' in desk.get("/").get_data(as_text=True)


def test_code_guessing_is_rate_limited(app):
    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_SCREEN_CODE="3 per minute",
    )
    try:
        tablet = limited.test_client()
        environ = {"REMOTE_ADDR": "127.9.8.7"}
        token = csrf_token(tablet, "/ecran", environ_base=environ)
        answers = [
            tablet.post(
                "/ecran", data={"code": "AAAAAA", "csrf_token": token}, environ_base=environ
            )
            for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [422, 422, 422, 429]
        assert "Trop de tentatives" in text_of(answers[-1].get_data(as_text=True))
        assert int(answers[-1].headers["Retry-After"]) <= 61
        # Another address is not held back; showing the form is never counted.
        other = {"REMOTE_ADDR": "127.9.8.8"}
        assert tablet.get("/ecran", environ_base=environ).status_code == 200
        assert (
            tablet.post(
                "/ecran", data={"code": "AAAAAA", "csrf_token": token}, environ_base=other
            ).status_code
            == 422
        )
    finally:
        with limited.app_context():
            db.engine.dispose()


def test_logging_out_ends_the_screens(app, desks):
    desk = desk_client(app, desks["bruyeres"])
    tablet, _ = pair_tablet(app, show_code(desk))
    assert poll(tablet).status_code == 200
    assert logout(desk).status_code == 302
    assert poll(tablet).status_code == 403
    assert "Tapez le code" in text_of(tablet.get("/ecran").get_data(as_text=True))

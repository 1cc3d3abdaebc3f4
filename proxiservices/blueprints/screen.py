"""The resident screen: the desk pairs a tablet or a second window, which then follows the
orientation the desk shows, in large print and plain words, without anything personal.

Desk side (/ecran-usager, receptionists and administrators): a short code for a tablet, a
second window paired at once, the end of the pairing. Screen side (/ecran, no login): the
code form, then the screen, polled every 2 s and answered 304 while nothing changed.
Following is `follow_desk()`, called by the orientation and search views: nothing happens
unless this browser session paired a screen today (read from the session, no query).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, user_logged_out
from sqlalchemy.exc import SQLAlchemyError

from proxiservices.blueprints.common import form_error, now, render_page
from proxiservices.domain import screen as rules
from proxiservices.extensions import db, htmx
from proxiservices.services import screen as service

bp = Blueprint("screen", __name__)

COOKIE = "ecran"
COOKIE_PATH = "/ecran"
DESK_KEY = "ecran"  # [desk id, "YYYY-MM-DD"]: this session shows its orientation
CODE_KEY = "ecran_code"  # [code, ISO expiry]: shown again on the desk page while valid
WRONG_CODE = (
    "Ce code ne marche pas. Il est peut-être mal recopié, déjà utilisé ou trop ancien "
    "(il ne dure que {minutes} minutes). Demandez un nouveau code à l'agent."
)
ENDED = "Cet écran n'est plus relié à un poste d'accueil. Demandez un code à l'agent."


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _today(at: datetime) -> str:
    return at.astimezone(rules.PARIS).date().isoformat()


def desk_only(view: Callable) -> Callable:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.role not in rules.SCREEN_ROLES:
            abort(403, "L'écran usager est réservé aux agents d'accueil.")
        return view(*args, **kwargs)

    return wrapped


def _paired_desk_id(at: datetime) -> int | None:
    """The desk session this browser session shows, from the session alone."""
    mark = session.get(DESK_KEY)
    if not mark:
        return None
    if not (isinstance(mark, list) and len(mark) == 2 and isinstance(mark[0], int)):
        session.pop(DESK_KEY, None)
        return None
    if mark[1] != _today(at):
        session.pop(DESK_KEY, None)
        session.pop(CODE_KEY, None)
        return None
    return mark[0]


def follow_desk(kind: str, **ids: object) -> None:
    """Called by the desk pages that show an orientation step: once the page is served
    (200), its screens show the same step. One UPDATE, only for a paired session."""
    at = now()
    desk_id = _paired_desk_id(at)
    if desk_id is None or request.method != "GET":
        return
    followed = rules.state(kind, **ids)

    @after_this_request
    def record(response: Response) -> Response:
        if response.status_code == 200:
            try:
                service.follow(desk_id, followed, at)
            except SQLAlchemyError:
                db.session.rollback()
                current_app.logger.warning("Écran usager : état du poste non enregistré.")
        return response


@user_logged_out.connect
def end_with_the_login(sender, user, **extra) -> None:
    """Logging out ends the desk's screens too: they go back to the code form rather than
    keep the last step of an agent who has left."""
    at = now()
    desk_id = _paired_desk_id(at)
    if desk_id is None or user is None:
        return
    try:
        desk = service.get_desk(desk_id, user, at)
        if desk is not None:
            service.end_desk(desk, at)
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("Écran usager : écrans non arrêtés à la déconnexion.")


def _current_desk(at: datetime):
    desk_id = _paired_desk_id(at)
    if desk_id is None:
        return None
    desk = service.get_desk(desk_id, current_user, at)
    if desk is None:
        session.pop(DESK_KEY, None)
        session.pop(CODE_KEY, None)
    return desk


def _current_or_new_desk(at: datetime):
    desk = _current_desk(at)
    if desk is None:
        desk = service.start_desk(current_user, at)
        session[DESK_KEY] = [desk.id, _today(at)]
    return desk


def _waiting_code(desk, at: datetime) -> str | None:
    kept = session.get(CODE_KEY)
    if desk is None or not (isinstance(kept, list) and len(kept) == 2):
        return None
    if not service.code_is_waiting(desk, at):
        return None
    if desk.code_hash != rules.keyed_hash(str(kept[0]), _secret()):
        return None
    return rules.show_code(str(kept[0]))


def _with_screen_cookie(response: Response, token: str, at: datetime) -> Response:
    response.set_cookie(
        COOKIE,
        token,
        expires=rules.end_of_day(at),
        path=COOKIE_PATH,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )
    return response


# --- the desk ---------------------------------------------------------------------------------


@bp.get("/ecran-usager")
@desk_only
def desk():
    at = now()
    current = _current_desk(at)
    minutes = int(current_app.config["SCREEN_CODE_MINUTES"])
    return render_page(
        "screen/desk.html",
        "screen/_desk.html",
        title="Écran usager",
        paired=current is not None,
        code=_waiting_code(current, at),
        minutes=minutes,
        screens=service.count_screens(current, at) if current else 0,
    )


@bp.post("/ecran-usager/code")
@desk_only
def new_code():
    at = now()
    current = _current_or_new_desk(at)
    minutes = int(current_app.config["SCREEN_CODE_MINUTES"])
    code = service.issue_code(current, at, _secret(), minutes)
    session[CODE_KEY] = [code, current.code_expires_at.isoformat()]
    return redirect(url_for("screen.desk"), 303)


@bp.post("/ecran-usager/fenetre")
@desk_only
def open_window():
    at = now()
    current = _current_or_new_desk(at)
    token = service.pair_window(current, at, _secret())
    return _with_screen_cookie(redirect(url_for("screen.screen"), 303), token, at)


@bp.post("/ecran-usager/terminer")
@desk_only
def end():
    at = now()
    current = _current_desk(at)
    if current is not None:
        service.end_desk(current, at)
    session.pop(DESK_KEY, None)
    session.pop(CODE_KEY, None)
    flash("L'écran usager est arrêté : les écrans reliés affichent de nouveau le code.", "success")
    return redirect(url_for("screen.desk"), 303)


# --- the screen -------------------------------------------------------------------------------


def _pair_form(error: str | None = None, typed: str = ""):
    return render_template(
        "screen/pair.html",
        title="Écran usager",
        error=error,
        typed=typed,
        code_length=rules.CODE_LENGTH,
    )


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-cache, private"
    return response


@bp.get("/ecran")
def screen():
    at = now()
    followed = service.followed_by(request.cookies.get(COOKIE), at, _secret())
    if followed is None:
        return _no_store(make_response(_pair_form()))
    tag = rules.etag(followed.desk_id, followed.version, at)
    view = service.build_view(rules.decode(followed.state), at)
    page = render_template("screen/page.html", title="Écran usager", view=view, etag=tag)
    return _no_store(make_response(page))


@bp.post("/ecran")
def pair():
    at = now()
    typed = request.form.get("code", "")[:40]
    token = service.pair_with_code(typed, at, _secret())
    if token is None:
        minutes = int(current_app.config["SCREEN_CODE_MINUTES"])
        return form_error(_pair_form(WRONG_CODE.format(minutes=minutes), typed))
    return _with_screen_cookie(redirect(url_for("screen.screen"), 303), token, at)


@bp.get("/ecran/etat")
def state():
    """The poll: 304 while the desk has not moved, the new screen when it has; a screen
    no longer paired is sent back to the code form."""
    if not htmx:
        return redirect(url_for("screen.screen"))
    at = now()
    followed = service.followed_by(request.cookies.get(COOKIE), at, _secret())
    if followed is None:
        ended = render_template("screen/_ended.html", message=ENDED)
        return ended, 403, {"HX-Redirect": url_for("screen.screen")}
    tag = rules.etag(followed.desk_id, followed.version, at)
    if request.if_none_match.contains(tag):
        unchanged = Response(status=304)
        unchanged.set_etag(tag)
        return _no_store(unchanged)
    view = service.build_view(rules.decode(followed.state), at)
    response = make_response(render_template("screen/_screen.html", view=view, etag=tag))
    response.set_etag(tag)
    return _no_store(response)

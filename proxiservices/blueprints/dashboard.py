"""The elected members' dashboard, its CSV exports and share links; and the visit events
that feed it (a result shown, the receptionist's one-click outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import now, render_page
from proxiservices.domain import lifecycle, roles
from proxiservices.domain import statistics as st
from proxiservices.extensions import db, htmx
from proxiservices.models.activity import API, DESK, PUBLIC, SEARCH, TREE
from proxiservices.services import activity
from proxiservices.services import dashboard as service
from proxiservices.services.orientation import OrientationAnswer

bp = Blueprint("dashboard", __name__)

SAME_VISIT_MINUTES = 30  # a reload, the back button or a history restore is the same visit


# --- visits --------------------------------------------------------------------------------


@dataclass
class VisitView:
    id: int
    outcome: str | None
    back: str
    outcomes: dict[str, str] = field(default_factory=lambda: dict(activity.OUTCOMES))


def record_result_view(answer: OrientationAnswer) -> VisitView | None:
    """Count an orientation result shown, once per browser, need and commune in 30 minutes.
    A logged-in receptionist's view is a desk visit (returned, for its outcome buttons);
    an anonymous one is a public view; other staff browsing is not counted."""
    if current_user.is_authenticated:
        if current_user.role != roles.RECEPTIONIST or current_user.site_id is None:
            return None
        channel = DESK
    else:
        channel = PUBLIC
    at = now()
    key = f"{answer.need.slug}|{answer.commune.insee}|{channel}"
    remembered = session.get("visit")
    if isinstance(remembered, list) and len(remembered) == 3 and remembered[0] == key:
        try:
            seen = datetime.fromisoformat(remembered[2])
        except (TypeError, ValueError):
            seen = None
        if seen and at - seen < timedelta(minutes=SAME_VISIT_MINUTES):
            return _visit_view(remembered[1], channel)
    found_via = SEARCH if request.args.get("via") == "recherche" else TREE
    buffer = activity.visits_buffer(current_app) if channel == PUBLIC else None
    if buffer is not None:
        _keep_once_sent(buffer, answer, channel, at, found_via)
        session["visit"] = [key, None, at.isoformat()]
        return None
    event = activity.record_visit(
        answer.need,
        answer.commune.insee,
        channel,
        at,
        desk_site_id=current_user.site_id if channel == DESK else None,
        found_via=found_via,
        commit=False,
        commune=answer.commune,
    )
    after_this_request(_commit)
    session["visit"] = [key, event.id, at.isoformat()]
    return VisitView(event.id, None, request.full_path) if channel == DESK else None


def _commit(response: Response) -> Response:
    """The visit row, once the page is rendered (a failed page keeps no visit)."""
    if response.status_code < 400:
        db.session.commit()
    return response


def _keep_once_sent(buffer, answer: OrientationAnswer, channel: str, at, found_via: str) -> None:
    """An anonymous visit, to the process's buffer once the answer is ready (a failed page
    counts no visit); written with the others within seconds."""

    def keep(response: Response) -> Response:
        if response.status_code < 400:
            activity.keep_visit(buffer, answer.need, answer.commune, channel, at, found_via)
        return response

    after_this_request(keep)


def _visit_view(event_id, channel: str) -> VisitView | None:
    if channel != DESK or not isinstance(event_id, int):
        return None
    event = activity.get_desk_visit(current_user, event_id)
    return VisitView(event.id, event.outcome, request.full_path) if event else None


def record_api_view(answer: OrientationAnswer) -> None:
    """Count an orientation answered through the JSON API (every call: no session there)."""
    buffer = activity.visits_buffer(current_app)
    if buffer is not None:
        _keep_once_sent(buffer, answer, API, now(), TREE)
        return
    activity.record_visit(
        answer.need, answer.commune.insee, API, now(), commit=False, commune=answer.commune
    )
    after_this_request(_commit)


def _local_path(value: str | None) -> str:
    value = (value or "").strip()
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return url_for("orientation.home")


@bp.post("/visites/<int:event_id>/issue")
@permission_required(roles.SEND_REQUESTS)
def visit_outcome(event_id: int):
    back = _local_path(request.form.get("retour"))
    try:
        event = activity.set_outcome(current_user, event_id, request.form.get("outcome", ""))
    except LookupError:
        abort(404, "Visite introuvable.")
    except activity.ActivityError as error:
        abort(400, str(error))
    if htmx:
        return render_template(
            "orientation/_visit_outcome.html",
            visit=VisitView(event.id, event.outcome, back),
            saved=True,
        )
    flash(f"Issue de la visite enregistrée : {activity.OUTCOMES[event.outcome]}.", "success")
    return redirect(back, code=303)


# --- the dashboard -------------------------------------------------------------------------


def _scope() -> service.Scope:
    asked = request.args.get("territoire", "").strip()
    try:
        if current_user.role == roles.ADMIN:
            return service.resolve_scope(asked)
        own = (current_user.territory_code or "").strip()
        if not own:
            abort(403, "Votre compte n'est rattaché à aucun territoire.")
        if asked and asked != own:
            abort(403, "Vous ne pouvez consulter que les chiffres de votre territoire.")
        return service.resolve_scope(own)
    except service.DashboardError as error:
        abort(400 if current_user.role == roles.ADMIN else 403, str(error))


def _period(args) -> st.Period:
    try:
        return st.parse_period(args.get("periode"), args.get("du"), args.get("au"), now().date())
    except st.PeriodError as error:
        abort(400, str(error))


def _reminder_days() -> tuple[int, ...]:
    return lifecycle.parse_reminder_days(current_app.config["REQUEST_REMINDER_DAYS"])


def _query_args(scope: service.Scope, period: st.Period) -> dict[str, str]:
    """The address of these figures: period, and the territory an administrator chose."""
    args = {"periode": period.kind}
    if period.kind == st.CUSTOM:
        args.update(du=period.start.isoformat(), au=period.end.isoformat())
    if current_user.role == roles.ADMIN and scope.code:
        args["territoire"] = scope.code
    return args


@bp.get("/tableau-de-bord")
@permission_required(roles.STATISTICS)
def index():
    scope, period = _scope(), _period(request.args)
    board = service.build_dashboard(scope, period, now(), _reminder_days())
    shares = service.list_shares(current_user)
    return render_page(
        "dashboard/index.html",
        "dashboard/_dashboard.html",
        title=f"Tableau de bord – {scope.label}",
        board=board,
        args=_query_args(scope, period),
        period_labels=st.PERIOD_LABELS,
        territories=service.list_territories() if current_user.role == roles.ADMIN else [],
        shares=shares,
        share_territories=service.territory_labels({s.territory_code for s in shares}),
        share_days=service.SHARE_DAYS,
        at=now(),
        shared=False,
    )


@bp.get("/tableau-de-bord/export/<key>.csv")
@permission_required(roles.STATISTICS)
def export(key: str):
    scope, period = _scope(), _period(request.args)
    board = service.build_dashboard(
        scope, period, now(), _reminder_days(), all_needs=key == "besoins"
    )
    if key not in board.tables:
        abort(404, f"Tableau inconnu : « {key[:30]} ».")
    return Response(
        service.table_csv(board.tables[key]),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{service.csv_filename(board, key)}"'
        },
    )


@bp.post("/tableau-de-bord/partages")
@permission_required(roles.STATISTICS)
def create_share():
    scope, period = _scope(), _period(request.form)
    days = request.form.get("jours", "").strip()
    if days not in {str(d) for d in service.SHARE_DAYS}:
        abort(400, "Choisissez la durée de validité du lien : 7, 30 ou 90 jours.")
    _share, token = service.create_share(current_user, scope, period, int(days), now())
    link = url_for("dashboard.shared", token=token, _external=True)
    flash(
        f"Lien de partage créé, valable {days} jours. Copiez-le maintenant, il ne sera plus "
        f"affiché : {link}",
        "success",
    )
    return redirect(url_for("dashboard.index", **_query_args(scope, period)), code=303)


@bp.post("/tableau-de-bord/partages/<int:share_id>/revoquer")
@permission_required(roles.STATISTICS)
def revoke_share(share_id: int):
    try:
        service.revoke_share(current_user, share_id, now())
    except LookupError:
        abort(404, "Lien de partage introuvable.")
    flash("Lien de partage révoqué : il ne s'ouvre plus.", "success")
    return redirect(url_for("dashboard.index"), code=303)


@bp.get("/partage/<token>")
def shared(token: str):
    """The read-only figures of a share link, for anyone who has the link."""
    headers = {
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    try:
        share = service.get_share(token, now())
    except service.ShareGone as error:
        return _share_error(str(error), 410, headers)
    except LookupError:
        return _share_error(
            "Ce lien de partage n'existe pas. Vérifiez l'adresse ou demandez un nouveau lien.",
            404,
            headers,
        )
    try:
        scope = service.resolve_scope(share.territory_code)
    except service.DashboardError:
        return _share_error("Le territoire de ce lien n'existe plus.", 410, headers)
    board = service.build_dashboard(scope, service.share_period(share), now(), _reminder_days())
    html = render_template(
        "dashboard/shared.html",
        title=f"Tableau de bord – {scope.label}",
        board=board,
        share=share,
        shared=True,
    )
    return html, 200, headers


def _share_error(message: str, status: int, headers: dict[str, str]):
    html = render_template("dashboard/share_gone.html", title="Lien de partage", message=message)
    return html, status, headers

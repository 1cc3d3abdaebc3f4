"""Local information: alerts per commune, ateliers, and their Atom and iCalendar feeds."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import form_error, now, render_page
from proxiservices.domain import roles
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.forms.local_info import AlertForm, AtelierForm, DeleteForm
from proxiservices.models import BodyKind
from proxiservices.models.upkeep import ALERT_SEVERITIES
from proxiservices.services import alerts as alert_service
from proxiservices.services import ateliers as atelier_service
from proxiservices.services import audit, directory, feeds
from proxiservices.services.communes import get_commune

bp = Blueprint("local_info", __name__)


@bp.app_template_filter("paris")
def paris_time(value: datetime | None) -> datetime | None:
    """Alert and atelier dates are naive Paris wall-clock times: say so before formatting
    (the date filters read a naive datetime as UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=PARIS)


ATOM_TYPE = "application/atom+xml; charset=utf-8"
CALENDAR_TYPE = "text/calendar; charset=utf-8"


def grouped(groups) -> list[SelectChoice]:
    """(group label, [(value, label)]) as the options of a select with optgroups."""
    return [
        SelectChoice(str(value), label, optgroup=group)
        for group, options in groups
        for value, label in options
    ]


# --- local alerts ---------------------------------------------------------------------


def _alert_areas() -> list[tuple[str, list[tuple[str, str]]]]:
    """Areas the current user may choose: all for an administrator, else its commune."""
    allowed = alert_service.allowed_areas(current_user)
    if allowed is None:
        return alert_service.list_areas()
    if not allowed:
        abort(
            403,
            "Votre compte n'est rattaché à aucun lieu d'accueil : il ne peut pas publier d'alerte.",
        )
    names = alert_service.area_names(allowed)
    return [("Commune de votre accueil", [(code, names[code]) for code in sorted(allowed)])]


def _alert_form(obj=None) -> AlertForm:
    groups = _alert_areas()
    kinds = list(db.session.scalars(select(BodyKind).order_by(BodyKind.position)))
    form = AlertForm(
        obj=obj,
        areas={code for _, options in groups for code, _ in options},
        kinds={k.code for k in kinds},
    )
    form.area_code.choices = grouped(groups)
    form.body_kind_code.choices = [
        SelectChoice("", "Toutes les démarches"),
        *(SelectChoice(k.code, k.label) for k in kinds),
    ]
    if obj is None and request.method == "GET":
        form.area_code.data = groups[0][1][0][0] if len(groups) == 1 else ""
    return form


def _forbid_other_area(form: AlertForm) -> None:
    """A known area that is not the desk's: refused (403), not a typing mistake (422)."""
    code = (form.area_code.data or "").strip()
    allowed = alert_service.allowed_areas(current_user)
    if allowed is not None and code and code not in allowed and alert_service.is_known_area(code):
        abort(403, "Un agent d'accueil ne publie des alertes que pour la commune de son accueil.")


def _alert_input(form: AlertForm) -> alert_service.AlertInput:
    return alert_service.AlertInput(
        area_code=form.area_code.data,
        category=form.category.data,
        severity=form.severity.data,
        title=" ".join(form.title.data.split()),
        message=(form.message.data or "").strip(),
        body_kind_code=form.body_kind_code.data or None,
        starts_at=form.starts_at.data,
        ends_at=form.ends_at.data,
    )


def _managed_alert(alert_id: int):
    try:
        alert = alert_service.get_alert_for(current_user, alert_id)
    except alert_service.AlertScopeError as error:
        abort(403, str(error))
    if alert is None:
        abort(404, "Alerte introuvable.")
    return alert


@bp.get("/gestion/alertes")
@permission_required(roles.PUBLISH_ALERTS)
def alerts():
    _alert_areas()  # a desk without a site has nothing to manage
    return render_page(
        "local_info/alerts.html",
        "local_info/_alerts.html",
        title="Alertes locales",
        managed=alert_service.list_managed(current_user, now()),
        delete_form=DeleteForm(),
    )


def _render_alert_form(form: AlertForm, alert=None):
    return render_page(
        "local_info/alert_form.html",
        "local_info/_alert_form.html",
        title=f"Alerte : {alert.title}" if alert else "Nouvelle alerte locale",
        form=form,
        alert=alert,
        history=audit.history("alert", alert.id) if alert else [],
        delete_form=DeleteForm(),
        severities=ALERT_SEVERITIES,
    )


@bp.route("/gestion/alertes/nouvelle", methods=["GET", "POST"])
@permission_required(roles.PUBLISH_ALERTS)
def new_alert():
    form = _alert_form()
    if request.method == "POST":
        _forbid_other_area(form)
        if form.validate():
            try:
                alert = alert_service.create_alert(current_user, _alert_input(form), now())
            except alert_service.AlertScopeError as error:
                db.session.rollback()
                abort(403, str(error))
            flash(f"Alerte « {alert.title} » publiée.", "success")
            return redirect(url_for("local_info.alerts"), code=303)
        return form_error(_render_alert_form(form))
    return _render_alert_form(form)


@bp.route("/gestion/alertes/<int:alert_id>", methods=["GET", "POST"])
@permission_required(roles.PUBLISH_ALERTS)
def edit_alert(alert_id: int):
    alert = _managed_alert(alert_id)
    form = _alert_form(obj=alert)
    if request.method == "POST":
        _forbid_other_area(form)
        if form.validate():
            try:
                alert_service.update_alert(current_user, alert, _alert_input(form), now())
            except alert_service.AlertScopeError as error:
                db.session.rollback()
                abort(403, str(error))
            flash(f"Alerte « {alert.title} » enregistrée.", "success")
            return redirect(url_for("local_info.alerts"), code=303)
        return form_error(_render_alert_form(form, alert))
    return _render_alert_form(form, alert)


@bp.post("/gestion/alertes/<int:alert_id>/supprimer")
@permission_required(roles.PUBLISH_ALERTS)
def delete_alert(alert_id: int):
    alert = _managed_alert(alert_id)
    if not DeleteForm().validate():
        abort(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    title = alert.title
    alert_service.delete_alert(current_user, alert, now())
    flash(f"Alerte « {title} » supprimée.", "success")
    return redirect(url_for("local_info.alerts"), code=303)


@bp.get("/communes/<insee>/alertes.atom")
def commune_alerts_feed(insee: str):
    commune = get_commune(insee)
    if commune is None:
        abort(404, f"Commune inconnue : « {insee[:20]} ».")
    links = feeds.FeedLinks(
        host=request.host.split(":")[0],
        self_url=url_for("local_info.commune_alerts_feed", insee=commune.insee, _external=True),
        page_url=url_for("orientation.home", commune=commune.insee, _external=True),
    )
    return Response(feeds.alerts_atom(commune, now(), links), content_type=ATOM_TYPE)


# --- ateliers -------------------------------------------------------------------------


def _atelier_form(obj=None) -> AtelierForm:
    groups = atelier_service.list_site_choices(current_user)
    admin = atelier_service.is_admin(current_user)
    organisers = atelier_service.list_organiser_choices() if admin else []
    form = AtelierForm(
        obj=obj,
        sites={site_id for _, options in groups for site_id, _ in options},
        bodies={body_id for body_id, _ in organisers} if admin else None,
    )
    form.site_id.choices = grouped(groups)
    form.body_id.choices = [
        SelectChoice("", "L'organisme du lieu"),
        *(SelectChoice(str(body_id), name) for body_id, name in organisers),
    ]
    if obj is not None and request.method == "GET":
        form.site_id.data = str(obj.site_id)
        form.body_id.data = str(obj.body_id) if obj.body_id else ""
        form.places.data = str(obj.places) if obj.places else ""
    return form


def _atelier_input(form: AtelierForm) -> atelier_service.AtelierInput:
    """Read after validation. The organiser is an administrator's choice only: a partner
    always publishes as its own body, whatever a crafted `body_id` says."""
    organiser = form.body_id.data if atelier_service.is_admin(current_user) else None
    return atelier_service.AtelierInput(
        site_id=int(form.site_id.data),
        body_id=int(organiser) if organiser else None,
        title=" ".join(form.title.data.split()),
        theme=" ".join(form.theme.data.split()),
        description=(form.description.data or "").strip(),
        starts_at=form.starts_at.data,
        ends_at=form.ends_at.data,
        places=form.places_value,
        signup=(form.signup.data or "").strip(),
        signup_url=(form.signup_url.data or "").strip() or None,
    )


def _managed_atelier(atelier_id: int):
    try:
        atelier = atelier_service.get_atelier_for(current_user, atelier_id)
    except atelier_service.AtelierScopeError as error:
        abort(403, str(error))
    if atelier is None:
        abort(404, "Atelier introuvable.")
    return atelier


@bp.get("/gestion/ateliers")
@permission_required(roles.EDIT_DIRECTORY)
def ateliers():
    return render_page(
        "local_info/ateliers.html",
        "local_info/_ateliers.html",
        title="Ateliers",
        managed=atelier_service.list_managed(current_user, now()),
        delete_form=DeleteForm(),
    )


def _render_atelier_form(form: AtelierForm, atelier=None):
    return render_page(
        "local_info/atelier_form.html",
        "local_info/_atelier_form.html",
        title=f"Atelier : {atelier.title}" if atelier else "Nouvel atelier",
        form=form,
        atelier=atelier,
        admin=atelier_service.is_admin(current_user),
        history=audit.history("atelier", atelier.id) if atelier else [],
        delete_form=DeleteForm(),
    )


def _save_atelier(form: AtelierForm, atelier=None):
    try:
        if atelier is None:
            atelier = atelier_service.create_atelier(current_user, _atelier_input(form), now())
        else:
            atelier_service.update_atelier(current_user, atelier, _atelier_input(form), now())
    except atelier_service.AtelierScopeError as error:
        db.session.rollback()
        abort(403, str(error))
    flash(f"Atelier « {atelier.title} » enregistré.", "success")
    return redirect(url_for("local_info.ateliers"), code=303)


@bp.route("/gestion/ateliers/nouveau", methods=["GET", "POST"])
@permission_required(roles.EDIT_DIRECTORY)
def new_atelier():
    form = _atelier_form()
    if request.method == "POST":
        if form.validate():
            return _save_atelier(form)
        return form_error(_render_atelier_form(form))
    return _render_atelier_form(form)


@bp.route("/gestion/ateliers/<int:atelier_id>", methods=["GET", "POST"])
@permission_required(roles.EDIT_DIRECTORY)
def edit_atelier(atelier_id: int):
    atelier = _managed_atelier(atelier_id)
    form = _atelier_form(obj=atelier)
    if request.method == "POST":
        if form.validate():
            return _save_atelier(form, atelier)
        return form_error(_render_atelier_form(form, atelier))
    return _render_atelier_form(form, atelier)


@bp.post("/gestion/ateliers/<int:atelier_id>/supprimer")
@permission_required(roles.EDIT_DIRECTORY)
def delete_atelier(atelier_id: int):
    atelier = _managed_atelier(atelier_id)
    if not DeleteForm().validate():
        abort(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    title = atelier.title
    atelier_service.delete_atelier(current_user, atelier, now())
    flash(f"Atelier « {title} » supprimé.", "success")
    return redirect(url_for("local_info.ateliers"), code=303)


# --- iCalendar feeds ------------------------------------------------------------------


def _calendar_links(page_url: str, self_url: str) -> feeds.FeedLinks:
    return feeds.FeedLinks(
        host=request.host.split(":")[0],
        self_url=self_url,
        page_url=page_url,
        site_url=lambda site: url_for("directory.site", slug=site.slug, _external=True),
    )


def _calendar_response(text: str, slug: str) -> Response:
    response = Response(text.encode("utf-8"), content_type=CALENDAR_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{slug}.ics"'
    return response


@bp.get("/lieux/<slug>.ics")
def site_calendar(slug: str):
    site = directory.get_site(slug)
    if site is None:
        abort(404, f"Lieu d'accueil inconnu : « {slug[:60]} ».")
    links = _calendar_links(
        url_for("directory.site", slug=slug, _external=True),
        url_for("local_info.site_calendar", slug=slug, _external=True),
    )
    return _calendar_response(feeds.site_calendar(site, now(), links), slug)


@bp.get("/organismes/<slug>.ics")
def body_calendar(slug: str):
    body = directory.get_body(slug)
    if body is None:
        abort(404, f"Organisme inconnu : « {slug[:60]} ».")
    links = _calendar_links(
        url_for("directory.body", slug=slug, _external=True),
        url_for("local_info.body_calendar", slug=slug, _external=True),
    )
    return _calendar_response(feeds.body_calendar(body, now(), links), slug)

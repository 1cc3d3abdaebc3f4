"""Local information: alerts per commune, ateliers, and their Atom and iCalendar feeds."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import form_error, now, render_page
from proxiservices.domain import roles
from proxiservices.extensions import db
from proxiservices.forms.local_info import AlertForm, AtelierForm, DeleteForm
from proxiservices.models import BodyKind
from proxiservices.services import alerts as alert_service
from proxiservices.services import ateliers as atelier_service
from proxiservices.services import audit, directory, feeds
from proxiservices.services.communes import get_commune

bp = Blueprint("local_info", __name__)


ATOM_TYPE = "application/atom+xml; charset=utf-8"
CALENDAR_TYPE = "text/calendar; charset=utf-8"


def grouped(groups) -> list[SelectChoice]:
    """(group label, [(value, label)]) as the options of a select with optgroups."""
    return [
        SelectChoice(str(value), label, optgroup=group)
        for group, options in groups
        for value, label in options
    ]


# --- shared by the alert and atelier pages: the same pages with other fields -----------


def _list_page(kind: str, title: str, managed) -> str:
    """/gestion/alertes, /gestion/ateliers: coming, current and past ones, each with its
    "Modifier" and "Supprimer"."""
    return render_page(
        f"local_info/{kind}s.html",
        f"local_info/_{kind}s.html",
        title=title,
        managed=managed,
        delete_form=DeleteForm(),
    )


def _form_page(kind: str, title: str, form, record=None, **context) -> str:
    """The form of a new or an existing alert or atelier; an existing one shows its history
    and its delete button."""
    return render_page(
        f"local_info/{kind}_form.html",
        f"local_info/_{kind}_form.html",
        title=title,
        form=form,
        history=audit.history(kind, record.id) if record else [],
        delete_form=DeleteForm(),
        **{kind: record},
        **context,
    )


def _form_response(kind: str, title: str, form, record, save, **context):
    """GET shows the form; a valid POST saves (`save` redirects); an invalid one, 422."""
    if request.method == "POST":
        if form.validate():
            return save(form, record)
        return form_error(_form_page(kind, title, form, record, **context))
    return _form_page(kind, title, form, record, **context)


def _managed(find, record_id: int, missing: str):
    """The actor's own alert or atelier: another's is a 403, an unknown id a 404."""
    try:
        record = find(current_user, record_id)
    except PermissionError as error:  # AlertScopeError, AtelierScopeError
        abort(403, str(error))
    if record is None:
        abort(404, missing)
    return record


def _delete(delete, record, done: str, back: str):
    if not DeleteForm().validate():
        abort(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    delete(current_user, record, now())
    flash(done, "success")
    return redirect(url_for(back), code=303)


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


def _save_alert(form: AlertForm, alert=None):
    try:
        if alert is None:
            alert = alert_service.create_alert(current_user, _alert_input(form), now())
            done = f"Alerte « {alert.title} » publiée."
        else:
            alert_service.update_alert(current_user, alert, _alert_input(form), now())
            done = f"Alerte « {alert.title} » enregistrée."
    except alert_service.AlertScopeError as error:
        db.session.rollback()
        abort(403, str(error))
    flash(done, "success")
    return redirect(url_for("local_info.alerts"), code=303)


@bp.get("/gestion/alertes")
@permission_required(roles.PUBLISH_ALERTS)
def alerts():
    _alert_areas()  # a desk without a site has nothing to manage
    return _list_page("alert", "Alertes locales", alert_service.list_managed(current_user, now()))


@bp.route("/gestion/alertes/nouvelle", methods=["GET", "POST"])
@permission_required(roles.PUBLISH_ALERTS)
def new_alert():
    form = _alert_form()
    if request.method == "POST":
        _forbid_other_area(form)
    return _form_response("alert", "Nouvelle alerte locale", form, None, _save_alert)


@bp.route("/gestion/alertes/<int:alert_id>", methods=["GET", "POST"])
@permission_required(roles.PUBLISH_ALERTS)
def edit_alert(alert_id: int):
    alert = _managed(alert_service.get_alert_for, alert_id, "Alerte introuvable.")
    form = _alert_form(obj=alert)
    if request.method == "POST":
        _forbid_other_area(form)
    return _form_response("alert", f"Alerte : {alert.title}", form, alert, _save_alert)


@bp.post("/gestion/alertes/<int:alert_id>/supprimer")
@permission_required(roles.PUBLISH_ALERTS)
def delete_alert(alert_id: int):
    alert = _managed(alert_service.get_alert_for, alert_id, "Alerte introuvable.")
    done = f"Alerte « {alert.title} » supprimée."
    return _delete(alert_service.delete_alert, alert, done, "local_info.alerts")


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


def _atelier_page(title: str, form: AtelierForm, atelier=None):
    admin = atelier_service.is_admin(current_user)
    return _form_response("atelier", title, form, atelier, _save_atelier, admin=admin)


@bp.get("/gestion/ateliers")
@permission_required(roles.EDIT_DIRECTORY)
def ateliers():
    return _list_page("atelier", "Ateliers", atelier_service.list_managed(current_user, now()))


@bp.route("/gestion/ateliers/nouveau", methods=["GET", "POST"])
@permission_required(roles.EDIT_DIRECTORY)
def new_atelier():
    return _atelier_page("Nouvel atelier", _atelier_form())


@bp.route("/gestion/ateliers/<int:atelier_id>", methods=["GET", "POST"])
@permission_required(roles.EDIT_DIRECTORY)
def edit_atelier(atelier_id: int):
    atelier = _managed(atelier_service.get_atelier_for, atelier_id, "Atelier introuvable.")
    return _atelier_page(f"Atelier : {atelier.title}", _atelier_form(obj=atelier), atelier)


@bp.post("/gestion/ateliers/<int:atelier_id>/supprimer")
@permission_required(roles.EDIT_DIRECTORY)
def delete_atelier(atelier_id: int):
    atelier = _managed(atelier_service.get_atelier_for, atelier_id, "Atelier introuvable.")
    done = f"Atelier « {atelier.title} » supprimé."
    return _delete(atelier_service.delete_atelier, atelier, done, "local_info.ateliers")


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

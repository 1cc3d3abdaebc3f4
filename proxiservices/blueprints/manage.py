"""Directory administration: bodies, sites, coverage, hours, closures, permanences, audit.

Administrators edit everything; a partner edits its own body's sites, hours, closures,
permanences and contact fields. Another body's object: 403 with a French message; an
unknown id or slug: 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import form_error, now, render_page
from proxiservices.domain import changes, roles
from proxiservices.extensions import db
from proxiservices.forms.directory import (
    BodyContactForm,
    BodyForm,
    ClosureForm,
    ConfirmForm,
    PermanenceForm,
    SiteForm,
)
from proxiservices.forms.requests import choices
from proxiservices.models import Body, Site
from proxiservices.services import audit, directory
from proxiservices.services import manage as service
from proxiservices.services import manage_edits as edits

bp = Blueprint("manage", __name__, url_prefix="/gestion")


def may_edit_body(body_id: int | None) -> bool:
    """For templates, the public pages too: show "Modifier" only to those who may."""
    return body_id is not None and service.may_edit(current_user, body_id)


@bp.record_once
def register_template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        may_edit_body=may_edit_body,
        audit_actions=audit.ACTION_LABELS,
        audit_objects=changes.OBJECT_LABELS,
        audit_field=changes.field_label,
        audit_value=changes.describe_value,
        closure_kinds=changes.CLOSURE_KINDS,
        closure_period=changes.closure_period,
    )


def _allowed(body: Body) -> None:
    try:
        service.check_may_edit(current_user, body)
    except service.NotYours as refusal:
        abort(403, str(refusal))


def _body(slug: str) -> Body:
    body = directory.get_body(slug)
    if body is None:
        abort(404, f"Organisme inconnu : « {slug[:60]} ».")
    _allowed(body)
    return body


def _site(slug: str) -> Site:
    site = directory.get_site(slug)
    if site is None:
        abort(404, f"Lieu d'accueil inconnu : « {slug[:60]} ».")
    _allowed(site.body)
    return site


def _page_number() -> int:
    value = request.args.get("page", "1").strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 10_000:
        abort(400, "Paramètre « page » invalide : un numéro de page est attendu.")
    return int(value)


@bp.get("")
@permission_required(roles.EDIT_DIRECTORY)
def index():
    if service.is_admin(current_user):
        query = request.args.get("q", "").strip()[:100]
        kind = request.args.get("type", "").strip()
        kinds = service.list_kinds()
        if kind and kind not in {k.code for k in kinds}:
            abort(400, f"Type d'organisme inconnu : « {kind[:40]} ».")
        return render_page(
            "manage/index.html",
            "manage/_index.html",
            title="Gestion de l'annuaire",
            listing=service.list_bodies(query, kind, _page_number()),
            kinds=kinds,
            query=query,
            kind=kind,
        )
    body = service.get_body_by_id(current_user.body_id)
    if body is None:
        abort(403, "Votre compte n'est rattaché à aucun organisme : il ne peut rien modifier.")
    return _render_body(body)


def _render_body(body: Body) -> str:
    return render_page(
        "manage/body.html",
        "manage/_body.html",
        title=f"Gestion – {body.name}",
        body=body,
        permanences=service.list_body_permanences(body),
        history=service.body_history(body),
        delete_form=ConfirmForm(),
    )


@bp.get("/historique")
@permission_required(roles.ADMINISTER)
def history():
    return render_page(
        "manage/history.html",
        "manage/_history.html",
        title="Dernières modifications de l'annuaire",
        entries=service.recent_changes(),
    )


@bp.get("/horaires/apercu")
@permission_required(roles.EDIT_DIRECTORY)
def hours_preview():
    """Validation as one types: the French error or the preview, as a fragment for htmx and
    as a small page of its own otherwise."""
    occurrences = "schedule" in request.args
    expr = request.args.get("schedule" if occurrences else "opening_hours", "")[:500]
    site = None
    if slug := request.args.get("lieu", "").strip():
        site = directory.get_site(slug)
        if site is None:
            abort(404, f"Lieu d'accueil inconnu : « {slug[:60]} ».")
    return render_page(
        "manage/hours_preview.html",
        "manage/_hours_preview.html",
        title="Vérifier des horaires",
        preview=service.hours_preview(expr, site, now(), occurrences),
        preview_id="hours-preview",
    )


@bp.get("/organismes/<slug>")
@permission_required(roles.EDIT_DIRECTORY)
def body(slug: str):
    return _render_body(_body(slug))


def _kind_choices(form: BodyForm) -> None:
    form.kind_code.choices = choices((k.code, k.label) for k in service.list_kinds())


@bp.route("/organismes/nouveau", methods=["GET", "POST"], defaults={"slug": None})
@bp.route("/organismes/<slug>/modifier", methods=["GET", "POST"])
@permission_required(roles.EDIT_DIRECTORY)
def body_form(slug: str | None):
    """Create a body (administrators) or edit one; a partner gets the contact fields only."""
    found = _body(slug) if slug else None
    if found is None and not service.is_admin(current_user):
        abort(403, "Seul un administrateur peut créer un organisme.")
    admin = service.is_admin(current_user)
    form_class = BodyForm if admin else BodyContactForm
    form = form_class(obj=found if request.method == "GET" else None)
    if admin:
        _kind_choices(form)
    if request.method == "POST" and form.validate():
        try:
            if found is None:
                found = edits.create_body(current_user, form.values(), now())
                flash(f"Organisme « {found.name} » créé.", "success")
            elif edits.update_body(current_user, found, form.values(), now()):
                flash("Modifications enregistrées.", "success")
            else:
                flash("Aucune modification à enregistrer.", "success")
        except service.NotYours as refusal:
            db.session.rollback()
            abort(403, str(refusal))
        return redirect(url_for("manage.body", slug=found.slug), code=303)
    page = render_page(
        "manage/body_form.html",
        "manage/_body_form.html",
        title=f"Modifier {found.name}" if found else "Nouvel organisme",
        body=found,
        form=form,
        full=admin,
    )
    return form_error(page) if request.method == "POST" else page


@bp.get("/lieux/<slug>")
@permission_required(roles.EDIT_DIRECTORY)
def site(slug: str):
    found = _site(slug)
    at = now()
    coming, past = service.split_closures(found, at)
    return render_page(
        "manage/site.html",
        "manage/_site.html",
        title=f"Gestion – {found.name}",
        site=found,
        coming=coming,
        past=past,
        preview=service.hours_preview(found.opening_hours, found, now()),
        coverage=service.coverage_names(c.area_code for c in found.coverage),
        permanences=service.list_hosted_permanences(found),
        history=service.site_history(found),
        delete_form=ConfirmForm(),
    )


@bp.route("/organismes/<body_slug>/lieux/nouveau", methods=["GET", "POST"])
@bp.route("/lieux/<slug>/modifier", methods=["GET", "POST"])
@permission_required(roles.EDIT_DIRECTORY)
def site_form(slug: str | None = None, body_slug: str | None = None):
    """Create a site of a body, or edit one: hours checked as typed, coverage by codes."""
    found = _site(slug) if slug else None
    owner = found.body if found else _body(body_slug)
    form = SiteForm(obj=found if request.method == "GET" else None)
    if request.method == "GET" and found:
        form.coverage.data = " ".join(c.area_code for c in found.coverage)
        if service.at_commune_centre(found):
            form.latitude.data = form.longitude.data = None
    previewing = request.form.get("action") == "preview"
    if request.method == "POST" and form.validate() and not previewing:
        values, codes = form.values(), form.area_codes()
        if not service.commune_exists(values["commune_insee"]):
            form.commune_insee.errors.append(
                f"Commune inconnue : « {values['commune_insee']} ». "
                "Indiquez le code INSEE, par exemple 88135 pour Docelles."
            )
        if unknown := service.unknown_area_codes(codes):
            form.coverage.errors.append(
                f"Zone inconnue : {', '.join(unknown)}. Indiquez des codes INSEE de commune "
                "(88135), des numéros SIREN d'intercommunalité (200042000) ou le "
                "département (88)."
            )
        if not form.commune_insee.errors and not form.coverage.errors:
            try:
                if found is None:
                    found = edits.create_site(current_user, owner, values, codes, now())
                    flash(f"Lieu « {found.name} » créé.", "success")
                elif edits.update_site(current_user, found, values, codes, now()):
                    flash("Modifications enregistrées.", "success")
                else:
                    flash("Aucune modification à enregistrer.", "success")
            except service.ManageError as problem:
                db.session.rollback()
                form.opening_hours.errors.append(str(problem))
            else:
                return redirect(url_for("manage.site", slug=found.slug), code=303)
    page = render_page(
        "manage/site_form.html",
        "manage/_site_form.html",
        title=f"Modifier {found.name}" if found else f"Nouveau lieu – {owner.name}",
        site=found,
        owner=owner,
        form=form,
        preview=service.hours_preview(form.opening_hours.data, found, now()),
    )
    if request.method == "POST" and not (previewing and not form.errors):
        return form_error(page)
    return page


@bp.post("/lieux/<slug>/supprimer")
@permission_required(roles.EDIT_DIRECTORY)
def delete_site(slug: str):
    found = _site(slug)
    owner = found.body.slug
    if not ConfirmForm().validate():
        abort(400)
    try:
        edits.delete_site(current_user, found, now())
    except service.ManageError as problem:
        db.session.rollback()
        abort(409, str(problem))
    flash(f"Lieu « {found.name} » supprimé.", "success")
    return redirect(url_for("manage.body", slug=owner), code=303)


@bp.route(
    "/lieux/<slug>/fermetures/nouvelle", methods=["GET", "POST"], defaults={"closure_id": None}
)
@bp.route("/lieux/<slug>/fermetures/<int:closure_id>", methods=["GET", "POST"])
@permission_required(roles.EDIT_DIRECTORY)
def closure_form(slug: str, closure_id: int | None):
    found = _site(slug)
    closure = None
    if closure_id is not None:
        closure = edits.get_closure(found, closure_id)
        if closure is None:
            abort(404, "Fermeture introuvable.")
    form = ClosureForm(obj=closure if request.method == "GET" else None)
    if request.method == "POST" and form.validate():
        try:
            edits.save_closure(current_user, found, closure, form.values(), now())
        except service.ManageError as problem:
            db.session.rollback()
            form.ends_at.errors.append(str(problem))
        else:
            flash("Fermeture enregistrée." if closure else "Fermeture ajoutée.", "success")
            return redirect(url_for("manage.site", slug=found.slug), code=303)
    page = render_page(
        "manage/closure_form.html",
        "manage/_closure_form.html",
        title=f"{'Modifier' if closure else 'Nouvelle'} fermeture – {found.name}",
        site=found,
        closure=closure,
        form=form,
        delete_form=ConfirmForm(),
        preview=service.hours_preview(form.opening_hours.data, None, now()),
    )
    return form_error(page) if request.method == "POST" else page


@bp.post("/lieux/<slug>/fermetures/<int:closure_id>/supprimer")
@permission_required(roles.EDIT_DIRECTORY)
def delete_closure(slug: str, closure_id: int):
    found = _site(slug)
    closure = edits.get_closure(found, closure_id)
    if closure is None:
        abort(404, "Fermeture introuvable.")
    if not ConfirmForm().validate():
        abort(400)
    edits.delete_closure(current_user, found, closure, now())
    flash("Fermeture supprimée.", "success")
    return redirect(url_for("manage.site", slug=found.slug), code=303)


def _permanence(permanence_id: int):
    permanence = service.get_permanence(permanence_id)
    if permanence is None:
        abort(404, "Permanence introuvable.")
    _allowed(permanence.body)
    return permanence


@bp.route("/organismes/<body_slug>/permanences/nouvelle", methods=["GET", "POST"])
@bp.route("/permanences/<int:permanence_id>", methods=["GET", "POST"])
@permission_required(roles.EDIT_DIRECTORY)
def permanence_form(body_slug: str | None = None, permanence_id: int | None = None):
    """A permanence the body holds at a host site (for a partner: its own sites or the usual
    hosts, see `HOST_KINDS`); schedule checked as typed."""
    permanence = _permanence(permanence_id) if permanence_id is not None else None
    owner = permanence.body if permanence else _body(body_slug)
    form = PermanenceForm(obj=permanence if request.method == "GET" else None)
    current_host = permanence.host_site_id if permanence else None
    form.offer_hosts(service.host_site_choices(current_user, owner, current_host))
    if request.method == "POST" and form.validate():
        try:
            edits.save_permanence(
                current_user, owner, permanence, form.values(), form.host_site_id.data, now()
            )
        except service.HostRefused as problem:
            db.session.rollback()
            form.host_site_id.errors.append(str(problem))
        except service.ManageError as problem:
            db.session.rollback()
            form.schedule.errors.append(str(problem))
        else:
            flash("Permanence enregistrée." if permanence else "Permanence ajoutée.", "success")
            return redirect(url_for("manage.body", slug=owner.slug), code=303)
    host = permanence.host_site if permanence else None
    page = render_page(
        "manage/permanence_form.html",
        "manage/_permanence_form.html",
        title=f"{'Modifier la' if permanence else 'Nouvelle'} permanence – {owner.name}",
        body=owner,
        permanence=permanence,
        form=form,
        delete_form=ConfirmForm(),
        preview=service.hours_preview(form.schedule.data, host, now(), occurrences=True),
    )
    return form_error(page) if request.method == "POST" else page


@bp.post("/permanences/<int:permanence_id>/supprimer")
@permission_required(roles.EDIT_DIRECTORY)
def delete_permanence(permanence_id: int):
    permanence = _permanence(permanence_id)
    owner = permanence.body.slug
    if not ConfirmForm().validate():
        abort(400)
    edits.delete_permanence(current_user, permanence, now())
    flash("Permanence supprimée.", "success")
    return redirect(url_for("manage.body", slug=owner), code=303)

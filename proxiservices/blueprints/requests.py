"""The desk's side of requests to partners: send one, follow them, cancel, print."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import (
    commune_from_request,
    form_error,
    now,
    orientation_limits,
    render_page,
)
from proxiservices.domain import lifecycle, roles
from proxiservices.domain.residents import normalise_email, normalise_phone
from proxiservices.extensions import db
from proxiservices.forms.requests import ReasonForm, RequestForm, choices
from proxiservices.services import requests as service
from proxiservices.services.orientation import OrientationError, orient

bp = Blueprint("requests", __name__)

FILTER_LABELS = {
    "toutes": "Toutes",
    "ouvertes": "En cours",
    "nouvelles": "Sans réponse",
    "scheduled": "Rendez-vous fixé",
    "closed": "Traitées",
    "refused": "Refusées",
    "redirected": "Réorientées",
    "cancelled": "Annulées",
    "expired": "Expirées",
}


def _age_filter() -> int | None:
    value = request.args.get("age", "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 365:
        abort(400, "Paramètre « age » invalide : un nombre de jours entre 1 et 365 est attendu.")
    return int(value)


def list_args(default: str) -> tuple[str, int | None]:
    status_filter = request.args.get("statut", default).strip() or default
    if status_filter not in service.INBOX_FILTERS:
        abort(400, f"Filtre de statut inconnu : « {status_filter[:30]} ».")
    return status_filter, _age_filter()


@bp.get("/demandes")
@permission_required(roles.SEND_REQUESTS)
def desk():
    at = now()
    status_filter, min_age = list_args("toutes")
    requests_ = service.list_desk_requests(current_user, at, status_filter, min_age)
    return render_page(
        "requests/desk.html",
        "requests/_desk.html",
        title="Demandes envoyées",
        requests=requests_,
        at=at,
        status_filter=status_filter,
        min_age=min_age,
        filters=FILTER_LABELS,
    )


def _answer_for_form():
    need_slug = request.args.get("need", "").strip()
    commune = commune_from_request(required=True)
    try:
        answer = orient(need_slug, commune.insee, now(), **orientation_limits())
    except OrientationError as error:
        abort(404, str(error))
    if not answer.need.request_possible:
        abort(404, "Cette démarche ne prévoit pas de demande de mise en relation.")
    return answer


def _contact(form: RequestForm) -> service.ResidentContact:
    return service.ResidentContact(
        name=" ".join(form.resident_name.data.split()),
        phone=normalise_phone(form.phone.data or ""),
        email=normalise_email(form.email.data or ""),
        channel=form.channel.data,
        time_slots=form.time_slots.data or [],
        availability=(form.availability.data or "").strip() or None,
        message=(form.message.data or "").strip() or None,
    )


@bp.route("/demandes/nouvelle", methods=["GET", "POST"])
@permission_required(roles.SEND_REQUESTS)
def new():
    answer = _answer_for_form()
    if current_user.site_id is None:
        abort(
            403,
            "Votre compte n'est rattaché à aucun lieu d'accueil : "
            "il ne peut pas envoyer de demande.",
        )
    targets = service.request_targets(answer)
    form = RequestForm()
    form.body.choices = choices((b.id, b.name) for b in targets)
    if request.method == "GET" and targets:
        form.body.data = targets[0].id
    duplicates = []
    if request.method == "POST":
        if not targets:
            abort(
                409, "Aucun organisme partenaire ne reçoit encore de demandes pour cette démarche."
            )
        if form.validate():
            at = now()
            contact = _contact(form)
            duplicates = service.find_duplicates(answer.need, contact, at)
            if not duplicates or form.confirm_duplicate.data:
                body = next(b for b in targets if b.id == form.body.data)
                try:
                    sent = service.submit_request(
                        actor=current_user,
                        need=answer.need,
                        commune=answer.commune,
                        body=body,
                        contact=contact,
                        at=at,
                    )
                except service.RequestError as error:
                    db.session.rollback()
                    form.body.errors = [*form.body.errors, str(error)]
                else:
                    flash(f"Demande {sent.reference} envoyée à {body.name}.", "success")
                    return redirect(url_for("requests.detail", request_id=sent.id), code=303)
    page = render_page(
        "requests/new.html",
        "requests/_new.html",
        title=f"Demande de mise en relation – {answer.need.title}",
        answer=answer,
        need=answer.need,
        commune=answer.commune,
        targets=targets,
        form=form,
        duplicates=duplicates,
    )
    return form_error(page) if request.method == "POST" else page


def _desk_request(request_id: int):
    try:
        return service.get_request_for_desk(current_user, request_id)
    except service.NotAllowed:
        abort(404, "Demande introuvable.")


@bp.get("/demandes/<int:request_id>")
@permission_required(roles.SEND_REQUESTS)
def detail(request_id: int):
    item = _desk_request(request_id)
    return _render_detail(item, ReasonForm())


def _render_detail(item, cancel_form: ReasonForm) -> str:
    return render_page(
        "requests/detail.html",
        "requests/_detail.html",
        title=f"Demande {item.reference}",
        item=item,
        at=now(),
        cancel_form=cancel_form,
        can_cancel=lifecycle.is_open(item.status),
    )


@bp.post("/demandes/<int:request_id>/annuler")
@permission_required(roles.SEND_REQUESTS)
def cancel(request_id: int):
    item = _desk_request(request_id)
    if not lifecycle.is_open(item.status):  # the page had no form to show the error in
        abort(409, f"La demande {item.reference} est déjà close : elle ne peut plus être annulée.")
    form = ReasonForm()
    if form.validate():
        try:
            service.apply_action(
                item,
                lifecycle.CANCEL,
                actor=current_user,
                at=now(),
                details=service.ActionInput(comment=form.comment.data),
            )
        except (service.RequestError, lifecycle.TransitionError) as error:
            db.session.rollback()
            form.comment.errors = [*form.comment.errors, str(error)]
        else:
            flash(f"Demande {item.reference} annulée.", "success")
            return redirect(url_for("requests.detail", request_id=item.id), code=303)
    return form_error(_render_detail(item, form))


@bp.get("/demandes/<int:request_id>/confirmation")
@permission_required(roles.SEND_REQUESTS)
def confirmation(request_id: int):
    item = _desk_request(request_id)
    return render_template(
        "requests/confirmation.html", title=f"Confirmation {item.reference}", item=item, at=now()
    )

"""The partner's inbox: its own body's requests, and the answers it gives."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import form_error, now, render_page
from proxiservices.blueprints.requests import FILTER_LABELS, list_args
from proxiservices.domain import lifecycle, roles
from proxiservices.extensions import db
from proxiservices.forms.requests import (
    CommentForm,
    ReasonForm,
    RedirectForm,
    ScheduleForm,
    choices,
)
from proxiservices.services import requests as service

bp = Blueprint("inbox", __name__, url_prefix="/partenaire")

FORMS = {
    lifecycle.TAKE: CommentForm,
    lifecycle.SCHEDULE: ScheduleForm,
    lifecycle.CLOSE: CommentForm,
    lifecycle.REFUSE: ReasonForm,
    lifecycle.REDIRECT: RedirectForm,
}
DONE = {
    lifecycle.TAKE: "Demande {ref} prise en charge.",
    lifecycle.SCHEDULE: "Rendez-vous enregistré pour la demande {ref}.",
    lifecycle.CLOSE: "Demande {ref} close.",
    lifecycle.REFUSE: "Demande {ref} refusée ; l'accueil est prévenu.",
    lifecycle.REDIRECT: "Demande {ref} réorientée ; le nouvel organisme est prévenu.",
}


@bp.get("/demandes")
@permission_required(roles.ANSWER_REQUESTS)
def inbox():
    at = now()
    status_filter, min_age = list_args("ouvertes")
    return render_page(
        "inbox/inbox.html",
        "inbox/_inbox.html",
        title="Demandes reçues",
        requests=service.list_inbox(current_user, at, status_filter, min_age),
        at=at,
        status_filter=status_filter,
        min_age=min_age,
        filters=FILTER_LABELS,
    )


def _partner_request(request_id: int):
    try:
        return service.get_request_for_partner(current_user, request_id)
    except service.NotAllowed:
        abort(404, "Demande introuvable.")


def _target_choices(targets) -> list:
    return choices((b.id, b.name) for b in targets)


def _forms(item, failed: str | None = None, failed_form=None) -> dict:
    """One form per action the status allows; the one that failed keeps what was typed."""
    forms = {}
    for action in lifecycle.available_actions(item.status, lifecycle.PARTNER):
        if action == failed:
            forms[action] = failed_form
            continue
        form = FORMS[action](formdata=None, prefix=action)
        if action == lifecycle.REDIRECT:
            form.target.choices = _target_choices(service.list_redirect_targets(item.body))
        if action == lifecycle.SCHEDULE:
            site = item.body.sites[0] if item.body.sites else None
            form.place.data = f"{site.name}, {site.address or ''}".strip(", ") if site else ""
        forms[action] = form
    return forms


def _render_detail(item, forms: dict, failure: str | None = None) -> str:
    return render_page(
        "inbox/detail.html",
        "inbox/_detail.html",
        title=f"Demande {item.reference}",
        item=item,
        at=now(),
        forms=forms,
        action_labels=lifecycle.ACTION_LABELS,
        failure=failure,
    )


@bp.get("/demandes/<int:request_id>")
@permission_required(roles.ANSWER_REQUESTS)
def detail(request_id: int):
    item = _partner_request(request_id)
    service.mark_viewed(item, current_user, now())
    return _render_detail(item, _forms(item))


@bp.post("/demandes/<int:request_id>/<action>")
@permission_required(roles.ANSWER_REQUESTS)
def act(request_id: int, action: str):
    if action not in FORMS:
        abort(404, "Action inconnue.")
    item = _partner_request(request_id)
    form = FORMS[action](prefix=action)
    targets = service.list_redirect_targets(item.body) if action == lifecycle.REDIRECT else []
    if action == lifecycle.REDIRECT:
        form.target.choices = _target_choices(targets)
    failure = "Le formulaire contient des erreurs : corrigez les champs signalés."
    if form.validate():
        details = service.ActionInput(comment=form.comment.data)
        if action == lifecycle.SCHEDULE:
            details.scheduled_at = form.starts_at()
            details.mode = form.mode.data
            details.place = form.place.data
        if action == lifecycle.REDIRECT:
            details.target_body = next(b for b in targets if b.id == form.target.data)
        try:
            service.apply_action(item, action, actor=current_user, at=now(), details=details)
        except lifecycle.TransitionError as error:
            db.session.rollback()
            return _render_detail(item, _forms(item), failure=str(error)), 409
        except service.RequestError as error:
            db.session.rollback()
            failure = str(error)
        else:
            flash(DONE[action].format(ref=item.reference), "success")
            return redirect(url_for("inbox.detail", request_id=item.id), code=303)
    return form_error(_render_detail(item, _forms(item, action, form), failure=failure))

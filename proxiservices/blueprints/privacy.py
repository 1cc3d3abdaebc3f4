"""Personal data: the public notice (what is kept, why, how long, the residents' rights),
and the administrators' page that answers a resident's right of access and erasure.

The resident's e-mail and phone travel in POST bodies only, never in a URL: addresses end
up in server logs and browser histories."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, flash, redirect, request, url_for
from flask_login import current_user

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import commune_from_request, form_error, now, render_page
from proxiservices.domain import lifecycle, retention
from proxiservices.domain.residents import format_phone
from proxiservices.domain.roles import ADMINISTER
from proxiservices.forms.privacy import ErasureForm, ResidentForm
from proxiservices.services import privacy
from proxiservices.services.search import UNANSWERED_DAYS
from proxiservices.services.upkeep import REPORT_RETENTION_DAYS

bp = Blueprint("privacy", __name__)


@bp.get("/donnees-personnelles")
def notice():
    config = current_app.config
    return render_page(
        "privacy/notice.html",
        "privacy/_notice.html",
        retention=retention.months_label(privacy.retention_months()),
        expiry_days=int(config["REQUEST_EXPIRY_DAYS"]),
        controller=str(config.get("DATA_CONTROLLER") or "").strip(),
        dpo_contact=str(config.get("DPO_CONTACT") or "").strip(),
        report_days=REPORT_RETENTION_DAYS,
        unanswered_days=UNANSWERED_DAYS,
        tile_host=urlsplit(str(config["TILE_URL"])).hostname or "serveur de tuiles",
        commune=commune_from_request(),
        title="Données personnelles",
    )


# --- the administrators' page ---------------------------------------------------------------


def _render_lookup(
    form: ResidentForm,
    resident: privacy.Resident | None = None,
    found: list | None = None,
    erasure: ErasureForm | None = None,
    changed: str | None = None,
) -> str:
    months = privacy.retention_months()
    rows = [(r, privacy.planned_anonymisation(r, months)) for r in found or []]
    if resident is not None and erasure is None:
        erasure = ErasureForm(formdata=None)
    return render_page(
        "privacy/lookup.html",
        "privacy/_lookup.html",
        form=form,
        resident=resident,
        resident_phone=format_phone(resident.phone) if resident else "",
        rows=rows,
        erasure=erasure,
        expected=",".join(str(r.id) for r in found or []),
        changed=changed,
        open_count=sum(1 for r in found or [] if lifecycle.is_open(r.status)),
        status_labels=lifecycle.STATUS_LABELS,
        open_statuses=lifecycle.OPEN,
        retention=retention.months_label(months),
        title="Données personnelles d'un usager",
    )


def _resident(form: ResidentForm) -> privacy.Resident | None:
    """The validated lookup keys, or None with the reason added to the form's errors."""
    if not form.validate():
        return None
    try:
        return privacy.parse_resident(form.email.data, form.phone.data)
    except privacy.PrivacyError as error:
        form.email.errors = [*form.email.errors, str(error)]
        return None


@bp.route("/admin/donnees-personnelles", methods=["GET", "POST"])
@permission_required(ADMINISTER)
def lookup():
    if request.method == "GET":
        return _render_lookup(ResidentForm(formdata=None))
    form = ResidentForm()
    resident = _resident(form)
    if resident is None:
        return form_error(_render_lookup(form))
    return _render_lookup(form, resident, privacy.find_requests(resident))


@bp.post("/admin/donnees-personnelles/export")
@permission_required(ADMINISTER)
def export():
    form = ResidentForm()
    resident = _resident(form)
    if resident is None:
        return form_error(_render_lookup(form))
    at = now()
    data = privacy.export_resident(current_user, resident, at)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    # No name nor address in the file name: downloads folders are shared and synced.
    filename = f"donnees-usager-{at:%Y%m%d-%H%M}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _expected_ids(text: str | None) -> set[int] | None:
    """The ids listed on the page the administrator confirmed; None if unreadable."""
    ids = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or len(part) > 10:
            return None
        ids.add(int(part))
    return ids


def _refused_erasure(form: ErasureForm) -> str:
    """The erasure form sent back: bad lookup keys show the search form with its error;
    a missing confirmation keeps the list on screen with the error next to the checkbox."""
    lookup_form = ResidentForm(
        formdata=None, data={"email": form.email.data, "phone": form.phone.data}
    )
    lookup_form.email.errors = list(form.email.errors)
    lookup_form.phone.errors = list(form.phone.errors)
    if lookup_form.email.errors or lookup_form.phone.errors:
        return _render_lookup(lookup_form)
    try:
        resident = privacy.parse_resident(form.email.data, form.phone.data)
    except privacy.PrivacyError as error:
        lookup_form.email.errors.append(str(error))
        return _render_lookup(lookup_form)
    return _render_lookup(lookup_form, resident, privacy.find_requests(resident), erasure=form)


@bp.post("/admin/donnees-personnelles/effacer")
@permission_required(ADMINISTER)
def erase():
    form = ErasureForm()
    resident = _resident(form)
    if resident is None:
        return form_error(_refused_erasure(form))
    expected = _expected_ids(form.expected.data)
    try:
        if expected is None:
            raise privacy.ListChanged("Liste des demandes illisible : recherchez à nouveau.")
        report = privacy.erase_resident(current_user, resident, now(), expected)
    except privacy.ListChanged as error:
        page = _render_lookup(
            ResidentForm(formdata=None, data={"email": resident.email, "phone": resident.phone}),
            resident,
            privacy.find_requests(resident),
            changed=str(error),
        )
        return page, 409, {"HX-Push-Url": "false"}
    if report.reports_cleared:
        flash(
            f"Adresse de réponse effacée de {report.reports_cleared} signalement(s) d'erreur.",
            "success",
        )
    if not report.references:
        if not report.reports_cleared:
            flash("Aucune demande ne contient ces coordonnées : rien à effacer.", "warning")
    else:
        cancelled = (
            f" Demandes en cours annulées (l'accueil est prévenu) : {', '.join(report.cancelled)}."
            if report.cancelled
            else ""
        )
        flash(
            f"Données personnelles effacées de {len(report.references)} demande(s) : "
            f"{', '.join(report.references)}.{cancelled} L'effacement est inscrit à "
            "l'historique, sans les coordonnées de l'usager.",
            "success",
        )
    return redirect(url_for("privacy.lookup"), code=303)

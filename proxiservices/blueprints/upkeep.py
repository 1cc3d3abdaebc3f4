"""Freshness loop: error reports from the field, stale sites and dead links."""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import commune_from_request, form_error, now, render_page
from proxiservices.domain.roles import ADMINISTER
from proxiservices.extensions import db
from proxiservices.forms.upkeep import DECISIONS, MESSAGE_MAX, ErrorReportForm, ResolutionForm
from proxiservices.models import BodyKind
from proxiservices.models.upkeep import REPORT_OPEN
from proxiservices.services import directory, upkeep
from proxiservices.services.upkeep import REPORT_STATUS_LABELS, REPORT_TOPICS

bp = Blueprint("upkeep", __name__)

OPEN_REPORTS_ON_DASHBOARD = 10


def _site_or_404(slug: str):
    site = directory.get_site(slug)
    if site is None:
        abort(404, f"Lieu d'accueil inconnu : « {slug[:60]} ».")
    return site


# --- "signaler une erreur": public ------------------------------------------------------


@bp.route("/lieux/<slug>/signaler", methods=["GET", "POST"])
def report_error(slug: str):
    site = _site_or_404(slug)
    form = ErrorReportForm()
    refusal = None
    if request.method == "POST" and form.validate():
        try:
            upkeep.submit_report(
                site,
                topic=form.topic.data,
                message=form.message.data,
                contact=form.contact.data,
                reporter=current_user if current_user.is_authenticated else None,
                at=now(),
            )
        except upkeep.TooManyReports as error:
            db.session.rollback()
            refusal = str(error)
        else:
            return redirect(url_for("upkeep.report_thanks", slug=site.slug), code=303)
    page = render_page(
        "upkeep/report.html",
        "upkeep/_report.html",
        site=site,
        form=form,
        refusal=refusal,
        message_max=MESSAGE_MAX,
        commune=commune_from_request(),
        title=f"Signaler une erreur – {site.name}",
    )
    if refusal:
        return page, 429, {"HX-Push-Url": "false"}
    return form_error(page) if request.method == "POST" else page


@bp.get("/lieux/<slug>/signaler/merci")
def report_thanks(slug: str):
    site = _site_or_404(slug)
    return render_page(
        "upkeep/thanks.html",
        "upkeep/_thanks.html",
        site=site,
        commune=commune_from_request(),
        title="Merci pour votre signalement",
    )


# --- the administrators' dashboard --------------------------------------------------------


def _kind_filter() -> BodyKind | None:
    code = request.args.get("type", "").strip()
    if not code:
        return None
    kind = db.session.get(BodyKind, code[:40])
    if kind is None:
        abort(400, f"Type d'organisme inconnu : « {code[:40]} ».")
    return kind


def _page_number() -> int:
    value = request.args.get("page", "1").strip() or "1"
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 10_000:
        abort(400, "Paramètre « page » invalide : un numéro de page est attendu.")
    return int(value)


@bp.get("/admin/fraicheur")
@permission_required(ADMINISTER)
def freshness():
    at = now()
    cutoff = upkeep.stale_cutoff(at.date())
    kind, page = _kind_filter(), _page_number()
    kind_code = kind.code if kind else None
    by_kind = upkeep.count_stale_by_kind(cutoff)
    total = sum(count for _, count in by_kind)
    shown_total = next((c for k, c in by_kind if k.code == kind_code), 0) if kind_code else total
    pages = max(1, math.ceil(shown_total / upkeep.STALE_PAGE_SIZE))
    # Past the end (the last site of the last page was just marked verified): the last page.
    page = min(page, pages)
    return render_page(
        "upkeep/freshness.html",
        "upkeep/_freshness.html",
        cutoff=cutoff,
        months=upkeep.STALE_MONTHS,
        by_kind=by_kind,
        total=total,
        kind_code=kind_code,
        kind_label=kind.label if kind else None,
        sites=upkeep.list_stale_sites(cutoff, kind_code, page),
        shown_total=shown_total,
        page_number=page,
        pages=pages,
        open_reports=upkeep.list_open_reports(OPEN_REPORTS_ON_DASHBOARD),
        open_count=upkeep.count_open_reports(),
        link_summary=upkeep.link_summary(),
        topics=REPORT_TOPICS,
        title="Fraîcheur de l'annuaire",
    )


@bp.post("/admin/fraicheur/lieux/<int:site_id>/verifie")
@permission_required(ADMINISTER)
def mark_verified(site_id: int):
    site = upkeep.get_site_by_id(site_id)
    if site is None:
        abort(404, "Lieu d'accueil introuvable.")
    upkeep.mark_site_verified(site, current_user, now())
    flash(f"« {site.name} » est marqué comme vérifié aujourd'hui.", "success")
    back = {"type": request.form.get("type") or None, "page": request.form.get("page") or None}
    if back["type"] and db.session.get(BodyKind, back["type"][:40]) is None:
        back["type"] = None
    if back["page"] and not (back["page"].isascii() and back["page"].isdigit()):
        back["page"] = None
    return redirect(url_for("upkeep.freshness", **back), code=303)


# --- the administrators' queue of error reports -------------------------------------------


def _render_queue(forms: dict[int, ResolutionForm] | None = None) -> str:
    queue = upkeep.report_queue()
    forms = forms or {}
    for report in queue.open:
        forms.setdefault(report.id, ResolutionForm(prefix=f"r{report.id}", formdata=None))
    return render_page(
        "upkeep/reports.html",
        "upkeep/_reports.html",
        queue=queue,
        forms=forms,
        decisions=DECISIONS,
        topics=REPORT_TOPICS,
        status_labels=REPORT_STATUS_LABELS,
        title="Signalements d'erreurs",
    )


@bp.get("/admin/signalements")
@permission_required(ADMINISTER)
def reports():
    return _render_queue()


@bp.post("/admin/signalements/<int:report_id>")
@permission_required(ADMINISTER)
def resolve_report(report_id: int):
    report = upkeep.get_report(report_id)
    if report is None:
        abort(404, "Signalement introuvable.")
    if report.status != REPORT_OPEN:
        # Two administrators on the same report: the second one is told, nothing changes.
        flash(
            f"Le signalement n° {report.id} était déjà traité "
            f"({REPORT_STATUS_LABELS[report.status]}) : rien n'a été modifié.",
            "warning",
        )
        return redirect(url_for("upkeep.reports"), code=303)
    form = ResolutionForm(prefix=f"r{report.id}")
    if form.validate():
        upkeep.resolve_report(report, form.decision.data, form.note.data, current_user, now())
        flash(
            f"Signalement n° {report.id} ({report.site.name}) : "
            f"{REPORT_STATUS_LABELS[report.status]}.",
            "success",
        )
        return redirect(url_for("upkeep.reports"), code=303)
    return form_error(_render_queue({report.id: form}))

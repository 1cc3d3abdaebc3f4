"""Open formats: lieux de médiation numérique CSV import and export, seed export."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import form_error, now, render_page
from proxiservices.domain.mediation import MAX_BYTES, SCHEMA_LABEL, FileError
from proxiservices.domain.roles import ADMINISTER
from proxiservices.forms.open_data import MediationImportForm
from proxiservices.services.open_data import (
    DEFAULT_KIND,
    export_sites_csv,
    import_sites,
    list_kinds,
)
from proxiservices.services.seed_export import seeds_zip

bp = Blueprint("open_data", __name__, url_prefix="/admin")
TOO_LARGE = (
    f"Le fichier dépasse {MAX_BYTES // (1024 * 1024)} Mo : découpez-le en plusieurs fichiers."
)


def _form() -> tuple[MediationImportForm, list]:
    kinds = list_kinds()
    form = MediationImportForm([(k.code, k.label) for k in kinds])
    if not form.is_submitted():
        form.kind.data = DEFAULT_KIND
    return form, kinds


def _render(form, kinds, report=None):
    return render_page(
        "open_data/index.html",
        "open_data/_index.html",
        form=form,
        kinds=kinds,
        report=report,
        schema=SCHEMA_LABEL,
        title="Lieux de médiation numérique : import et export",
    )


@bp.get("/lieux-mediation")
@permission_required(ADMINISTER)
def index():
    form, kinds = _form()
    return _render(form, kinds)


@bp.post("/lieux-mediation")
@permission_required(ADMINISTER)
def upload():
    if (request.content_length or 0) > MAX_BYTES + 64 * 1024:
        abort(413, TOO_LARGE)
    form, kinds = _form()
    if not form.validate_on_submit():
        return form_error(_render(form, kinds))
    upload = form.csv_file.data
    data = upload.stream.read(MAX_BYTES + 1)
    try:
        report = import_sites(
            data,
            filename=(upload.filename or "fichier.csv")[:200],
            actor=current_user,
            at=now(),
            default_kind=form.kind.data,
            dry_run=form.dry_run.data,
        )
    except FileError as error:
        form.csv_file.errors = [error.message]
        return form_error(_render(form, kinds))
    html = _render(form, kinds, report)
    return form_error(html) if not report.ok else html


def _download(body: str | bytes, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/lieux-mediation/export.csv")
@permission_required(ADMINISTER)
def export_csv():
    kind = request.args.get("kind", "").strip() or None
    try:
        text = export_sites_csv(kind)
    except ValueError as error:
        abort(400, str(error))
    stamp = now().strftime("%Y%m%d")
    suffix = f"_{kind.lower()}" if kind else ""
    return _download(
        text, f"{stamp}_lieux-de-mediation-numerique_vosges{suffix}.csv", "text/csv; charset=utf-8"
    )


@bp.get("/seeds.zip")
@permission_required(ADMINISTER)
def seeds_archive():
    data = seeds_zip(Path(current_app.config["SEED_DIR"]))
    stamp = now().strftime("%Y%m%d")
    return _download(data, f"{stamp}_proxiservices_seeds.zip", "application/zip")

"""`flask directory ...`: the directory in open formats (mediation CSV, seed files)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import current_app

from proxiservices.domain.hours import PARIS
from proxiservices.domain.mediation import FileError
from proxiservices.services.open_data import DEFAULT_KIND, export_sites_csv, import_sites
from proxiservices.services.seed_export import export_seeds

group = click.Group("directory", help="Annuaire : import et export en formats ouverts.")


@group.command("import-mednum")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    default=DEFAULT_KIND,
    show_default=True,
    help="Type d'organisme des lieux sans structure parente connue.",
)
@click.option("--dry-run", is_flag=True, help="Vérifie et simule sans rien enregistrer.")
def import_mednum(csv_file: Path, kind: str, dry_run: bool) -> None:
    """Importe un CSV « lieux de médiation numérique » (tout ou rien)."""
    try:
        report = import_sites(
            csv_file.read_bytes(),
            filename=csv_file.name,
            actor=None,
            at=datetime.now(PARIS),
            default_kind=kind,
            dry_run=dry_run,
        )
    except (FileError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    for e in report.errors:
        click.echo(f"ligne {e.line}, {e.field} : {e.message}", err=True)
    if not report.ok:
        raise click.ClickException(report.summary())
    click.echo(report.summary())


@group.command("export-mednum")
@click.option("--kind", default=None, help="Seulement les lieux de ce type d'organisme.")
def export_mednum(kind: str | None) -> None:
    """Écrit les lieux au format « lieux de médiation numérique » sur la sortie standard."""
    try:
        click.echo(export_sites_csv(kind), nl=False)
    except ValueError as error:
        raise click.ClickException(str(error)) from error


@group.command("export-seeds")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Dossier où écrire les fichiers (créé au besoin).",
)
def export_seeds_command(target: Path) -> None:
    """Écrit l'annuaire et l'arbre au format de seeds/ (relisible par `flask seed --dir`)."""
    written = export_seeds(target, Path(current_app.config["SEED_DIR"]))
    click.echo(f"{len(written)} fichiers écrits dans {target} : {', '.join(written)}")

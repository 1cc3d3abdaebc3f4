"""`flask reports purge`: the error reports' retention (a daily cron job)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from proxiservices.services.upkeep import REPORT_RETENTION_DAYS, purge_reports

group = AppGroup("reports", help="Signalements d'erreur envoyés depuis les fiches des lieux.")


@group.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=REPORT_RETENTION_DAYS,
    show_default=True,
    help="Durée de conservation d'un signalement traité, en jours.",
)
def purge_command(days: int) -> None:
    """Supprime les signalements traités depuis plus d'un an et efface les adresses de
    contact restées sur des signalements traités."""
    report = purge_reports(datetime.now(UTC), days)
    click.echo(
        f"{report.deleted} signalement(s) supprimé(s), "
        f"{report.contacts_erased} adresse(s) de contact effacée(s)."
    )

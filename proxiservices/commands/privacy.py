"""`flask purge`: anonymise the requests whose retention period has passed, after their end or,
for a request left open, after its last activity (a daily cron job)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from proxiservices.domain.hours import PARIS
from proxiservices.domain.retention import months_label
from proxiservices.services.privacy import BATCH_SIZE, purge


@click.command("purge")
@with_appcontext
@click.option(
    "--dry-run",
    is_flag=True,
    help="Compte les demandes à anonymiser sans rien modifier.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=10_000),
    default=BATCH_SIZE,
    show_default=True,
    help="Demandes anonymisées par transaction.",
)
def purge_command(dry_run: bool, batch_size: int) -> None:
    """Anonymise les demandes terminées depuis plus longtemps que la durée de conservation
    (PROXISERVICES_RETENTION_MONTHS, 12 mois par défaut), et celles restées en cours sans
    activité depuis aussi longtemps (elles sont alors closes : expirées) ; les statistiques
    sont conservées."""
    try:
        report = purge(datetime.now(UTC), dry_run=dry_run, batch_size=batch_size)
    except ValueError as error:  # a retention setting that is not a number of months
        raise click.UsageError(f"PROXISERVICES_RETENTION_MONTHS invalide : {error}") from None
    cutoff = report.cutoff.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    click.echo(
        f"Conservation : {months_label(report.months)} après la fin de la demande, ou après "
        "la dernière activité d'une demande restée en cours "
        f"(fin ou dernière activité au plus tard le {cutoff})."
    )
    if dry_run:
        click.echo(
            f"Simulation : {report.due} demande(s) à anonymiser, dont {report.due_open} "
            "restée(s) en cours sans activité. Rien n'a été modifié."
        )
        return
    if not report.anonymised:
        click.echo("Aucune demande à anonymiser.")
        return
    click.echo(
        f"{report.anonymised} demande(s) anonymisée(s), dont {report.anonymised_open} "
        f"restée(s) en cours sans activité et désormais expirée(s), en {report.batches} lot(s) ; "
        f"{report.mails_scrubbed} courriel(s) effacé(s), "
        f"{report.mails_deleted} courriel(s) non envoyé(s) supprimé(s). "
        + (
            f"Les statistiques sont inchangées, à ces {report.anonymised_open} expiration(s) près."
            if report.anonymised_open
            else "Les statistiques sont inchangées."
        )
    )

"""`flask activity`: upkeep of the anonymous activity figures."""

from __future__ import annotations

import click

from proxiservices.extensions import db
from proxiservices.services import activity

group = click.Group("activity", help="Figures anonymes du tableau de bord des élus.")


@group.command("rebuild-counts")
def rebuild_counts_command() -> None:
    """Recalcule les comptes par jour et par mois à partir des événements.

    Utile après un chargement en masse d'événements (ils ne passent pas par l'application)
    ou pour vérifier les comptes tenus à chaque visite."""
    rows = activity.rebuild_counts()
    db.session.commit()
    click.echo(f"Comptes recalculés : {rows} lignes.")

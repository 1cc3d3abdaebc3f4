"""`flask requests remind`: the daily cron job of requests to partners."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from proxiservices.services.requests import send_reminders

group = AppGroup("requests", help="Demandes de mise en relation.")


@group.command("remind")
def remind_command() -> None:
    """Relance les partenaires (jours 3 et 10) et fait expirer les demandes sans réponse."""
    report = send_reminders(datetime.now(UTC))
    click.echo(
        f"{len(report.reminded)} rappel(s) mis en file d'envoi, "
        f"{len(report.expired)} demande(s) expirée(s)."
    )

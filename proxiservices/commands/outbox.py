"""`flask outbox ...`: send, watch and retry the queued e-mails."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup

from proxiservices.services.outbox import (
    deliver_due,
    get_last_failure,
    get_oldest_pending_at,
    outbox_counts,
    retry_failed,
)

group = AppGroup("outbox", help="File d'attente des e-mails : envoi, état, relance.")

STATUS_LABELS = {
    "pending": "En attente",
    "sending": "En cours d'envoi",
    "sent": "Envoyés",
    "failed": "En échec définitif",
}


@group.command("send")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Nombre maximal de messages."
)
@click.option("--quiet", "-q", is_flag=True, help="N'affiche rien si tout est parti (pour cron).")
def send_command(limit: int | None, quiet: bool) -> None:
    """Envoie les e-mails dont l'heure est venue (à lancer chaque minute par cron)."""
    report = deliver_due(limit=limit)
    if not quiet or report.failed:
        click.echo(f"{report.sent} envoyé(s), {report.failed} en échec")


@group.command("status")
def status_command() -> None:
    """Affiche le nombre de messages par état, l'attente la plus longue et la dernière erreur."""
    now = datetime.now(UTC)
    for status, count in outbox_counts().items():
        click.echo(f"{STATUS_LABELS[status]} : {count}")
    oldest = get_oldest_pending_at()
    if oldest is not None:
        click.echo(f"Plus ancien message en attente : depuis {_age(now - oldest)}")
    failure = get_last_failure()
    if failure is not None:
        click.echo(
            f"Dernière erreur ({_local(failure.at)}, message n° {failure.message_id}) : "
            f"{failure.error}"
        )


@group.command("retry")
@click.option(
    "--id", "message_ids", type=int, multiple=True, help="Seulement ce message (répétable)."
)
def retry_command(message_ids: tuple[int, ...]) -> None:
    """Remet en file les messages en échec définitif, à envoyer dès maintenant."""
    count = retry_failed(at=datetime.now(UTC), message_ids=message_ids or None)
    click.echo(f"{count} message(s) remis en file d'attente")


def _age(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d}"
    return f"{hours // 24} jours"


def _local(moment: datetime) -> str:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")

"""`flask links check`: try every web address the directory and the tree show."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from proxiservices.services.upkeep import run_link_check

group = AppGroup("links", help="Liens : vérifier les adresses web de l'annuaire et des démarches.")

USAGES_SHOWN = 5


def user_agent() -> str:
    """Named, with the address of the application, so that a webmaster knows who asks."""
    return f"Mozilla/5.0 (compatible; Proxiservices-liens/1.0; +{current_app.config['PUBLIC_URL']})"


@group.command("check")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=120),
    default=10.0,
    show_default=True,
    help="Délai d'attente d'une réponse, en secondes.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    default=8,
    show_default=True,
    help="Nombre d'adresses essayées en même temps (2 au plus par serveur).",
)
@click.option(
    "--only-dead",
    is_flag=True,
    help="Ne revérifie que les liens trouvés morts la dernière fois.",
)
def check_command(timeout: float, concurrency: int, only_dead: bool) -> None:
    """Essaie chaque adresse web (démarches en ligne, sites des organismes et des lieux) et
    liste les liens morts avec les fiches qui les utilisent."""
    report = run_link_check(
        timeout=timeout,
        concurrency=concurrency,
        only_dead=only_dead,
        agent=user_agent(),
        at=datetime.now(UTC),
    )
    checked, dead = len(report.results), report.dead
    scope = "liens morts revérifiés" if only_dead else "adresses vérifiées"
    click.echo(f"{checked} {scope} : {checked - len(dead)} fonctionnent, {len(dead)} mortes.")
    if report.not_stored:
        click.echo(
            f"{report.not_stored} adresse(s) de plus de 500 caractères vérifiée(s) "
            "mais non enregistrée(s)."
        )
    if dead:
        click.echo("\nLiens morts :")
    for result in dead:
        click.echo(f"\n{result.url}\n  {result.reason}")
        usages = report.usages.get(result.url, [])
        for usage in usages[:USAGES_SHOWN]:
            click.echo(f"  utilisé par : {usage.describe()}")
        if len(usages) > USAGES_SHOWN:
            click.echo(f"  … et {len(usages) - USAGES_SHOWN} autre(s)")

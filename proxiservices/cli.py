"""Command-line commands registered on the app (`flask --app proxiservices ...`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app

from proxiservices.domain.hours import PARIS
from proxiservices.services.seeding import seed_all


@click.command("seed")
@click.option("--dir", "seed_dir", default=None, help="Dossier des données (par défaut seeds/).")
@click.option(
    "--demo",
    is_flag=True,
    help="Ajoute les comptes et contacts fictifs de démonstration (seeds/demo/).",
)
def seed_command(seed_dir: str | None, demo: bool) -> None:
    """Charge les données de référence (idempotent)."""
    seed_dir = seed_dir or current_app.config["SEED_DIR"]
    report = seed_all(seed_dir)
    click.echo(f"Données chargées. {report or 'Aucun changement.'}")
    if demo:
        from proxiservices.services.demo import DEMO_WARNING, seed_demo

        demo_report = seed_demo(Path(seed_dir) / "demo", datetime.now(PARIS))
        click.echo(f"Démonstration chargée. {demo_report or 'Aucun changement.'}")
        click.echo(DEMO_WARNING)


def register_cli(app: Flask) -> None:
    from proxiservices.commands import (
        activity,
        directory,
        links,
        outbox,
        privacy,
        reports,
        requests,
        search,
        users,
    )

    app.cli.add_command(seed_command)
    app.cli.add_command(users.group)
    app.cli.add_command(outbox.group)
    app.cli.add_command(requests.group)
    app.cli.add_command(search.search_eval_command)
    app.cli.add_command(activity.group)
    app.cli.add_command(links.group)
    app.cli.add_command(directory.group)
    app.cli.add_command(reports.group)
    app.cli.add_command(privacy.purge_command)

"""Command-line commands registered on the app (`flask --app proxiservices ...`)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from proxiservices.services.seeding import seed_all


@click.command("seed")
@click.option("--dir", "seed_dir", default=None, help="Dossier des données (par défaut seeds/).")
def seed_command(seed_dir: str | None) -> None:
    """Charge les données de référence (idempotent)."""
    report = seed_all(seed_dir or current_app.config["SEED_DIR"])
    click.echo(f"Données chargées. {report or 'Aucun changement.'}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(seed_command)

"""`flask users create|list|disable`: staff accounts from the command line (DESIGN.md)."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

import click

from proxiservices.domain.hours import PARIS
from proxiservices.domain.roles import ROLE_LABELS, ROLES
from proxiservices.services.accounts import (
    AccountError,
    attachment_labels,
    create_user,
    disable_user,
    list_users,
)

group = click.Group("users", help="Comptes des agents, partenaires, élus et administrateurs.")


def _fail(message: str) -> NoReturn:
    click.echo(f"Erreur : {message}", err=True)
    raise click.exceptions.Exit(1)


def _ask_password() -> str:
    password = click.prompt("Mot de passe", hide_input=True, default="", show_default=False)
    again = click.prompt(
        "Confirmez le mot de passe", hide_input=True, default="", show_default=False
    )
    if password != again:
        _fail("les deux mots de passe saisis ne sont pas identiques.")
    return password


@group.command("create")
@click.option("--email", help="Adresse e-mail (identifiant de connexion).")
@click.option("--role", help=f"Rôle : {', '.join(ROLES)}.")
@click.option("--body", "body_slug", help="Organisme d'un agent partenaire (slug).")
@click.option("--site", "site_ref", help="Lieu d'accueil d'un agent d'accueil (id ou slug).")
@click.option(
    "--commune",
    "commune_insee",
    help="Code Insee : la mairie d'un agent d'accueil, ou la commune d'un élu.",
)
@click.option(
    "--territory",
    "territory_code",
    help="Territoire d'un élu : code Insee, SIREN d'EPCI ou 88.",
)
@click.option("--name", help="Nom affiché.")
@click.option("--password", help="Mot de passe (demandé s'il n'est pas donné).")
def create_command(
    email: str | None,
    role: str | None,
    body_slug: str | None,
    site_ref: str | None,
    commune_insee: str | None,
    territory_code: str | None,
    name: str | None,
    password: str | None,
) -> None:
    """Crée un compte."""
    if not email:
        _fail("l'option --email est obligatoire.")
    if not role:
        _fail(f"l'option --role est obligatoire ({', '.join(ROLES)}).")
    if password is None:
        password = _ask_password()
    try:
        user = create_user(
            email=email,
            role=role,
            password=password,
            at=datetime.now(PARIS),
            name=name,
            body_slug=body_slug,
            site_ref=site_ref,
            commune_insee=commune_insee,
            territory_code=territory_code,
        )
    except AccountError as error:
        _fail(str(error))
    attachment = attachment_labels([user])[user.id]
    click.echo(
        f"Compte créé : {user.email} ({ROLE_LABELS[user.role]}"
        + (f", {attachment}" if attachment else "")
        + ")."
    )


@group.command("list")
def list_command() -> None:
    """Liste les comptes."""
    users = list_users()
    if not users:
        click.echo("Aucun compte.")
        return
    labels = attachment_labels(users)
    rows = [("Courriel", "Rôle", "Rattachement", "Actif")] + [
        (u.email, ROLE_LABELS.get(u.role, u.role), labels[u.id], "oui" if u.active else "non")
        for u in users
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@group.command("disable")
@click.option("--email", help="Adresse e-mail du compte.")
def disable_command(email: str | None) -> None:
    """Désactive un compte et ferme ses sessions."""
    if not email:
        _fail("l'option --email est obligatoire.")
    try:
        user = disable_user(email, datetime.now(PARIS))
    except AccountError as error:
        _fail(str(error))
    click.echo(f"Compte désactivé : {user.email}. Ses sessions ouvertes sont fermées.")

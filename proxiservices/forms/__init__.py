"""Flask-WTF forms, with French messages; validators shared by the forms live here."""

from __future__ import annotations

from flask import current_app
from wtforms import Field, Form
from wtforms.validators import ValidationError

from proxiservices.domain.residents import normalise_email

INVALID_EMAIL = "Indiquez une adresse e-mail valide, par exemple nom@mairie.fr."


class EmailAddress:
    """An e-mail address as the rest of the application accepts it (no DNS check)."""

    def __init__(
        self, message: str = "Indiquez une adresse e-mail valide, par exemple nom@mairie.fr."
    ):
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and normalise_email(field.data) is None:
            raise ValidationError(self.message)


class PasswordLength:
    """At least PASSWORD_MIN_LENGTH characters (read when the form is checked)."""

    def __call__(self, form: Form, field: Field) -> None:
        minimum = int(current_app.config["PASSWORD_MIN_LENGTH"])
        if len(field.data or "") < minimum:
            raise ValidationError(f"Le mot de passe doit comporter au moins {minimum} caractères.")
        if len(field.data) > 256:
            raise ValidationError("Le mot de passe doit comporter au plus 256 caractères.")

"""Forms of the freshness loop: a visitor's error report, an administrator's resolution."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from proxiservices.domain.residents import normalise_email
from proxiservices.forms.requests import choices
from proxiservices.models.upkeep import REPORT_FIXED, REPORT_REJECTED
from proxiservices.services.upkeep import REPORT_TOPICS

MESSAGE_MIN = 10
MESSAGE_MAX = 2000
NOTE_MAX = 1000


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ErrorReportForm(FlaskForm):
    topic = RadioField(
        "Qu'est-ce qui est faux ?",
        choices=choices(REPORT_TOPICS.items()),
        validate_choice=False,
        validators=[InputRequired("Choisissez ce qui est faux.")],
    )
    message = TextAreaField(
        "Ce que vous avez constaté",
        filters=[strip],
        validators=[
            DataRequired("Décrivez ce qui est faux."),
            Length(
                min=MESSAGE_MIN,
                max=MESSAGE_MAX,
                message=f"Entre {MESSAGE_MIN} et {MESSAGE_MAX} caractères.",
            ),
        ],
    )
    contact = StringField(
        "Votre adresse e-mail (facultatif)",
        filters=[strip],
        validators=[Optional(), Length(max=200, message="200 caractères au plus.")],
    )

    def validate_topic(self, field: RadioField) -> None:
        # WTForms' own message for an unknown choice is English.
        if field.data not in REPORT_TOPICS:
            raise ValidationError("Choisissez ce qui est faux.")

    def validate_contact(self, field: StringField) -> None:
        if field.data and not normalise_email(field.data):
            raise ValidationError("Adresse e-mail non reconnue, par exemple prenom.nom@exemple.fr.")


DECISIONS = {REPORT_FIXED: "Marquer comme corrigé", REPORT_REJECTED: "Rejeter"}


class ResolutionForm(FlaskForm):
    note = TextAreaField(
        "Ce qui a été fait",
        filters=[strip],
        validators=[
            DataRequired("Indiquez ce qui a été fait (ou pourquoi le signalement est rejeté)."),
            Length(max=NOTE_MAX, message=f"{NOTE_MAX} caractères au plus."),
        ],
    )
    decision = RadioField(
        "Décision",
        choices=choices(DECISIONS.items()),
        validate_choice=False,
        validators=[InputRequired("Choisissez : corrigé ou rejeté.")],
    )

    def validate_decision(self, field: RadioField) -> None:
        if field.data not in DECISIONS:
            raise ValidationError("Choisissez : corrigé ou rejeté.")

"""Forms of the administrators' personal data page: find a resident, then erase."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from proxiservices.domain.residents import normalise_email, normalise_phone


def at_most(length: int) -> Length:
    return Length(max=length, message=f"{length} caractères au plus.")


class ResidentForm(FlaskForm):
    """The resident is found by the e-mail or the phone number given in a request."""

    email = StringField("Adresse e-mail de l'usager", validators=[Optional(), at_most(254)])
    phone = StringField("Numéro de téléphone de l'usager", validators=[Optional(), at_most(40)])

    def validate_email(self, field: StringField) -> None:
        if not normalise_email(field.data):
            raise ValidationError("Adresse e-mail non reconnue, par exemple prenom.nom@exemple.fr.")

    def validate_phone(self, field: StringField) -> None:
        if not normalise_phone(field.data):
            raise ValidationError(
                "Numéro de téléphone non reconnu : 10 chiffres attendus, "
                "par exemple 06 12 34 56 78."
            )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not (self.email.data or "").strip() and not (self.phone.data or "").strip():
            self.email.errors = [
                *self.email.errors,
                "Indiquez l'adresse e-mail ou le numéro de téléphone de l'usager.",
            ]
            return False
        return valid


class ErasureForm(ResidentForm):
    # The requests the administrator saw listed: erasing others would be a surprise.
    expected = HiddenField(validators=[Optional(), at_most(5000)])
    confirm = BooleanField(
        "J'ai vérifié l'identité de la personne qui demande l'effacement, et je confirme : "
        "ses données seront effacées définitivement",
        validators=[DataRequired("Cochez la case pour confirmer l'effacement.")],
    )

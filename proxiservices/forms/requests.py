"""Forms of the request pages: the desk's request, the partner's answers, the desk's cancel."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from proxiservices.domain.hours import PARIS
from proxiservices.domain.lifecycle import SCHEDULE_MODES
from proxiservices.domain.residents import (
    CHANNELS,
    TIME_SLOTS,
    normalise_email,
    normalise_phone,
)

MESSAGE_MAX = 1000
REASON_MAX = 1000


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


def at_most(length: int) -> Length:
    return Length(max=length, message=f"{length} caractères au plus.")


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RequestForm(FlaskForm):
    body = RadioField(
        "Organisme destinataire",
        coerce=int,
        validators=[InputRequired("Choisissez l'organisme destinataire.")],
    )
    resident_name = StringField(
        "Nom et prénom de l'usager",
        validators=[
            DataRequired("Indiquez le nom de l'usager."),
            at_most(120),
        ],
    )
    phone = StringField("Téléphone", validators=[Optional()])
    email = StringField("Adresse e-mail", validators=[Optional()])
    channel = RadioField(
        "Comment l'usager préfère-t-il être recontacté ?",
        choices=choices(CHANNELS.items()),
        validators=[InputRequired("Choisissez comment l'usager préfère être recontacté.")],
    )
    time_slots = CheckboxesField(
        "Moments où il est joignable (facultatif)", choices=choices(TIME_SLOTS.items())
    )
    availability = StringField(
        "Précisions sur ses disponibilités (facultatif)",
        validators=[Optional(), at_most(200)],
    )
    message = TextAreaField(
        "Message court pour le partenaire (facultatif)",
        validators=[
            Optional(),
            at_most(MESSAGE_MAX),
        ],
    )
    consent = BooleanField(
        "L'usager a donné son accord",
        validators=[
            DataRequired(
                "Sans l'accord de l'usager, la demande ne peut pas être envoyée : "
                "donnez-lui plutôt les coordonnées de l'organisme."
            )
        ],
    )
    confirm_duplicate = BooleanField("Envoyer quand même cette nouvelle demande")

    def validate_phone(self, field: StringField) -> None:
        if field.data and not normalise_phone(field.data):
            raise ValidationError(
                "Numéro de téléphone non reconnu : 10 chiffres attendus, "
                "par exemple 06 12 34 56 78."
            )

    def validate_email(self, field: StringField) -> None:
        if field.data and not normalise_email(field.data):
            raise ValidationError("Adresse e-mail non reconnue, par exemple prenom.nom@exemple.fr.")

    def validate_channel(self, field: RadioField) -> None:
        phone, email = (self.phone.data or "").strip(), (self.email.data or "").strip()
        if not phone and not email:
            raise ValidationError(
                "Indiquez au moins un moyen de joindre l'usager : téléphone ou e-mail."
            )
        if field.data == "phone" and not phone:
            raise ValidationError("Recontact par téléphone : indiquez le numéro.")
        if field.data == "email" and not email:
            raise ValidationError("Recontact par e-mail : indiquez l'adresse.")


class CommentForm(FlaskForm):
    """Take in charge or close: a comment is welcome, not required."""

    comment = TextAreaField(
        "Commentaire (facultatif, visible par l'accueil)",
        validators=[
            Optional(),
            at_most(REASON_MAX),
        ],
    )


class ReasonForm(FlaskForm):
    """Refuse or cancel: the reason is required and shown to the other side."""

    comment = TextAreaField(
        "Motif (obligatoire)",
        validators=[
            DataRequired("Indiquez le motif."),
            at_most(REASON_MAX),
        ],
    )


class RedirectForm(ReasonForm):
    target = SelectField(
        "Organisme vers lequel réorienter",
        coerce=int,
        validators=[InputRequired("Choisissez l'organisme.")],
    )


class ScheduleForm(FlaskForm):
    day = DateField(
        "Date du rendez-vous", validators=[InputRequired("Indiquez la date (jj/mm/aaaa).")]
    )
    time = TimeField("Heure", validators=[InputRequired("Indiquez l'heure (hh:mm).")])
    mode = RadioField(
        "Modalité",
        choices=choices(SCHEDULE_MODES.items()),
        default="site",
        validators=[InputRequired("Choisissez la modalité du rendez-vous.")],
    )
    place = StringField(
        "Lieu (adresse, pour un rendez-vous sur place)",
        validators=[Optional(), at_most(300)],
    )
    comment = TextAreaField(
        "Précision pour l'usager et l'accueil (facultatif)",
        validators=[
            Optional(),
            at_most(REASON_MAX),
        ],
    )

    def validate_day(self, field: DateField) -> None:
        today = datetime.now(PARIS).date()
        if field.data and not today <= field.data <= today + timedelta(days=366):
            raise ValidationError("La date doit être comprise entre aujourd'hui et dans un an.")

    def validate_place(self, field: StringField) -> None:
        if self.mode.data == "site" and not (field.data or "").strip():
            raise ValidationError("Indiquez le lieu du rendez-vous sur place.")

    def starts_at(self) -> datetime:
        """The appointment as an aware Paris time."""
        return datetime.combine(self.day.data, self.time.data).replace(tzinfo=PARIS)

"""Forms of the local information pages: a local alert, an atelier, a deletion.

Choices are checked by our own validators (validate_choice=False) so that every message
a person may read is in French.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import DateTimeLocalInput

from proxiservices.models.upkeep import ALERT_CATEGORIES, ALERT_SEVERITIES

FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M", "%d/%m/%Y")
PLACES_MAX = 500


# C0 controls other than tab, line feed and carriage return, and DEL: invisible, never meant
# (a pasted Word line break is \x0b), and forbidden in XML, hence in the Atom feed.
STRAY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Any whitespace or control character: a web address has none (and a line break in one
# would end an iCalendar property).
URL_BREAKERS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def at_most(length: int) -> Length:
    return Length(max=length, message=f"{length} caractères au plus.")


def without_controls(value: str | None) -> str | None:
    """Filter of the free-text fields: stray control characters removed."""
    return STRAY_CONTROLS.sub("", value) if isinstance(value, str) else value


class WallClockField(Field):
    """A Paris wall-clock date and time (naive), typed in a datetime-local input; typed
    text that cannot be read comes back as it was, with a French message."""

    widget = DateTimeLocalInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.raw = ""

    def _value(self) -> str:
        if isinstance(self.data, datetime):
            return self.data.strftime("%Y-%m-%dT%H:%M")
        return self.raw

    def process_formdata(self, valuelist: list[str]) -> None:
        self.raw = (valuelist[0] if valuelist else "").strip()[:40]
        self.data = None
        if not self.raw:
            return
        for fmt in FORMATS:
            try:
                parsed = datetime.strptime(self.raw, fmt)
            except ValueError:
                continue
            if not 2000 <= parsed.year <= 2100:
                raise ValueError("L'année doit être comprise entre 2000 et 2100.")
            self.data = parsed
            return
        raise ValueError("Date et heure non reconnues : par exemple 24/12/2026 14:00.")


def is_number(value: object) -> bool:
    """Digits 0-9 only: "²" or "٣" pass str.isdigit() but int() refuses or misreads them."""
    text = str(value or "")
    return text.isascii() and text.isdigit()


def _required_when(field: WallClockField, message: str) -> None:
    if field.data is None and not field.errors and not field.process_errors:
        raise ValidationError(message)


def _check_period(form: FlaskForm) -> None:
    start, end = form.starts_at.data, form.ends_at.data
    if start is not None and end is not None and end <= start:
        raise ValidationError("La fin doit être après le début.")


class AlertForm(FlaskForm):
    area_code = SelectField("Zone concernée", validate_choice=False)
    category = RadioField(
        "Type d'alerte",
        choices=[SelectChoice(v, label) for v, label in ALERT_CATEGORIES.items()],
        validate_choice=False,
    )
    severity = RadioField(
        "Gravité",
        choices=[SelectChoice(v, label) for v, label in ALERT_SEVERITIES.items()],
        default="info",
        validate_choice=False,
    )
    title = StringField(
        "Titre",
        validators=[DataRequired("Indiquez un titre court."), at_most(200)],
        filters=[without_controls],
    )
    message = TextAreaField(
        "Message (facultatif)",
        validators=[Optional(), at_most(2000)],
        filters=[without_controls],
    )
    body_kind_code = SelectField(
        "Ne concerne que les démarches de ce type d'organisme (facultatif)",
        validate_choice=False,
    )
    starts_at = WallClockField("Début")
    ends_at = WallClockField("Fin")

    def __init__(self, *args, areas: set[str], kinds: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self._areas, self._kinds = areas, kinds

    def validate_area_code(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Choisissez la zone concernée.")
        if field.data not in self._areas:
            raise ValidationError("Zone inconnue : choisissez-la dans la liste.")

    def validate_category(self, field: RadioField) -> None:
        if field.data not in ALERT_CATEGORIES:
            raise ValidationError("Choisissez le type d'alerte.")

    def validate_severity(self, field: RadioField) -> None:
        if field.data not in ALERT_SEVERITIES:
            raise ValidationError("Choisissez la gravité.")

    def validate_body_kind_code(self, field: SelectField) -> None:
        if field.data and field.data not in self._kinds:
            raise ValidationError("Type d'organisme inconnu : choisissez-le dans la liste.")

    def validate_starts_at(self, field: WallClockField) -> None:
        _required_when(field, "Indiquez la date et l'heure de début.")

    def validate_ends_at(self, field: WallClockField) -> None:
        _required_when(field, "Indiquez la date et l'heure de fin.")
        _check_period(self)


class AtelierForm(FlaskForm):
    site_id = SelectField("Lieu de l'atelier", validate_choice=False)
    body_id = SelectField(
        "Organisme qui anime l'atelier (si ce n'est pas celui du lieu)", validate_choice=False
    )
    title = StringField(
        "Titre de l'atelier",
        validators=[DataRequired("Indiquez le titre."), at_most(200)],
        filters=[without_controls],
    )
    theme = StringField(
        "Thème",
        validators=[DataRequired("Indiquez le thème de l'atelier."), at_most(120)],
        filters=[without_controls],
    )
    description = TextAreaField(
        "Description (facultatif)",
        validators=[Optional(), at_most(3000)],
        filters=[without_controls],
    )
    starts_at = WallClockField("Début")
    ends_at = WallClockField("Fin")
    places = StringField("Nombre de places (facultatif)", validators=[Optional()])
    # No Optional(): it would stop the chain before validate_signup checks the pair.
    signup = TextAreaField(
        "Comment s'inscrire", validators=[at_most(1000)], filters=[without_controls]
    )
    signup_url = StringField(
        "Adresse d'inscription en ligne (facultatif)", validators=[Optional(), at_most(500)]
    )

    def __init__(self, *args, sites: set[int], bodies: set[int] | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._sites, self._bodies = sites, bodies

    def validate_site_id(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Choisissez le lieu de l'atelier.")
        if not is_number(field.data) or int(field.data) not in self._sites:
            raise ValidationError("Lieu inconnu : choisissez-le dans la liste.")

    def validate_body_id(self, field: SelectField) -> None:
        if not field.data or self._bodies is None:
            return
        if not is_number(field.data) or int(field.data) not in self._bodies:
            raise ValidationError("Organisme inconnu : choisissez-le dans la liste.")

    def validate_starts_at(self, field: WallClockField) -> None:
        _required_when(field, "Indiquez la date et l'heure de début.")

    def validate_ends_at(self, field: WallClockField) -> None:
        _required_when(field, "Indiquez la date et l'heure de fin.")
        _check_period(self)

    def validate_places(self, field: StringField) -> None:
        value = (field.data or "").strip()
        if value and (
            not value.isascii() or not value.isdigit() or not 1 <= int(value) <= PLACES_MAX
        ):
            raise ValidationError(f"Nombre de places : un nombre entier de 1 à {PLACES_MAX}.")

    def validate_signup(self, field: TextAreaField) -> None:
        if not (field.data or "").strip() and not (self.signup_url.data or "").strip():
            raise ValidationError(
                "Indiquez comment s'inscrire (téléphone, sur place…) ou une adresse en ligne."
            )

    def validate_signup_url(self, field: StringField) -> None:
        value = (field.data or "").strip()
        if value:
            if URL_BREAKERS.search(value):
                raise ValidationError(
                    "Adresse web non reconnue : elle ne contient ni espace, "
                    "ni retour à la ligne, ni tabulation."
                )
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValidationError(
                    "Adresse web non reconnue : elle commence par https://, "
                    "par exemple https://www.exemple.fr/inscription."
                )

    @property
    def places_value(self) -> int | None:
        value = (self.places.data or "").strip()
        return int(value) if value else None


class DeleteForm(FlaskForm):
    """A deletion button: nothing but the CSRF token."""

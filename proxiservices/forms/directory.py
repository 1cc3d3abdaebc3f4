"""Forms of the directory administration: bodies, sites and their coverage, closures and
permanences. Every message is French; values come back trimmed, blanks as None."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    Form,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from proxiservices.domain import hours
from proxiservices.domain.changes import CLOSURE_KINDS
from proxiservices.domain.permanences import HOST_RULE
from proxiservices.forms import EmailAddress
from proxiservices.forms.requests import at_most, choices
from proxiservices.services.manage import (
    BODY_FIELDS,
    CLOSURE_FIELDS,
    CONTACT_FIELDS,
    PERMANENCE_FIELDS,
    SITE_FIELDS,
)

PHONE = re.compile(r"^[0-9 +.()\-]+$")
AREA_SEPARATORS = re.compile(r"[\s,;]+")


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class Phone:
    def __call__(self, form: Form, field: Field) -> None:
        value = (field.data or "").strip()
        if value and (not PHONE.match(value) or sum(c.isdigit() for c in value) < 4):
            raise ValidationError(
                "Numéro non reconnu : des chiffres, espaces et « + » seulement, "
                "par exemple 03 29 00 00 00 ou 32 30."
            )


class WebAddress:
    def __call__(self, form: Form, field: Field) -> None:
        value = (field.data or "").strip()
        if not value:
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in value:
            raise ValidationError(
                "Adresse web non reconnue : elle commence par https://, "
                "par exemple https://www.caf.fr."
            )


class OpeningHoursSyntax:
    """The OSM opening_hours expression, with the parser's error explained in French."""

    def __call__(self, form: Form, field: Field) -> None:
        problem = hours.validate(field.data)
        if problem:
            raise ValidationError(problem)


# Dates typed in the directory: wide enough for any real one, narrow enough that a typo
# (31/12/9999, 01/01/0001) never reaches the pages that compute with it.
FIRST_YEAR, LAST_YEAR = 2000, 2100
YEAR_RANGE = f"L'année doit être comprise entre {FIRST_YEAR} et {LAST_YEAR}."


class FrenchDateField(DateField):
    """A date (aaaa-mm-jj from the date picker, or jj/mm/aaaa typed by hand), 2000 to 2100."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        kwargs.setdefault("format", ["%Y-%m-%d", "%d/%m/%Y"])
        super().__init__(label, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            super().process_formdata([valuelist[0].strip()])
        except ValueError:
            raise ValueError(
                "Date non reconnue : indiquez-la au format jj/mm/aaaa, par exemple 24/12/2026."
            ) from None
        if not FIRST_YEAR <= self.data.year <= LAST_YEAR:
            self.data = None
            raise ValueError(YEAR_RANGE)


class LocalDateTimeField(StringField):
    """A Paris wall-clock date and time, 2000 to 2100. A date alone means the start of that
    day, or for an end (`end_of_day`) the end of it, so "24/12 → 26/12" closes three whole
    days."""

    FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M")
    DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")

    def __init__(self, label: str, end_of_day: bool = False, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.end_of_day = end_of_day

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%Y-%m-%dT%H:%M") if self.data else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        for fmt in self.FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
            except ValueError:
                continue
            self.data = self._in_range(moment)
            return
        for fmt in self.DATE_FORMATS:
            try:
                day = datetime.strptime(text, fmt)
            except ValueError:
                continue
            day = self._in_range(day)
            self.data = day + timedelta(days=1) if self.end_of_day else day
            return
        raise ValueError(
            "Date et heure non reconnues : indiquez par exemple 24/12/2026 12:00, "
            "ou une date seule pour la journée entière."
        )

    @staticmethod
    def _in_range(moment: datetime) -> datetime:
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise ValueError(YEAR_RANGE)
        return moment


class CoordinateField(StringField):
    """A decimal degree, with a comma or a dot."""

    def __init__(self, label: str, low: float, high: float, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.low, self.high = low, high

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip().replace(",", ".")
        self.raw_data = valuelist
        self.data = None
        if not text:
            return
        try:
            value = float(text)
        except ValueError:
            raise ValueError("Nombre non reconnu : par exemple 48,1725.") from None
        if not self.low <= value <= self.high:
            raise ValueError(f"La valeur doit être comprise entre {self.low:g} et {self.high:g}.")
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:g}"


def values_of(form: FlaskForm, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: blank_to_none(form[name].data) for name in names}


class BodyContactForm(FlaskForm):
    """What a partner may change on its own body: how residents reach it."""

    phone = StringField("Téléphone", validators=[Optional(), at_most(40), Phone()])
    website = StringField("Site web", validators=[Optional(), at_most(500), WebAddress()])
    email = StringField("Courriel", validators=[Optional(), at_most(200), EmailAddress()])

    FIELDS: tuple[str, ...] = CONTACT_FIELDS

    def values(self) -> dict[str, Any]:
        return values_of(self, self.FIELDS)


class BodyForm(BodyContactForm):
    name = StringField(
        "Nom de l'organisme",
        validators=[DataRequired("Indiquez le nom de l'organisme."), at_most(200)],
    )
    kind_code = SelectField(
        "Type d'organisme", validators=[InputRequired("Choisissez le type d'organisme.")]
    )
    description = TextAreaField("Description", validators=[Optional(), at_most(2000)])
    source = StringField(
        "Source de l'information", validators=[Optional(), at_most(500), WebAddress()]
    )
    verified_on = FrenchDateField("Vérifié le", validators=[Optional()])
    note = TextAreaField("Note (réserve sur les données)", validators=[Optional(), at_most(2000)])

    FIELDS = BODY_FIELDS


class SiteForm(FlaskForm):
    name = StringField(
        "Nom du lieu", validators=[DataRequired("Indiquez le nom du lieu."), at_most(200)]
    )
    address = StringField("Adresse (numéro et voie)", validators=[Optional(), at_most(300)])
    postcode = StringField("Code postal", validators=[Optional(), at_most(10)])
    commune_insee = StringField(
        "Commune (code INSEE)",
        validators=[DataRequired("Indiquez le code INSEE de la commune, par exemple 88135.")],
    )
    latitude = CoordinateField("Latitude", -90, 90, validators=[Optional()])
    longitude = CoordinateField("Longitude", -180, 180, validators=[Optional()])
    phone = StringField("Téléphone", validators=[Optional(), at_most(40), Phone()])
    email = StringField("Courriel", validators=[Optional(), at_most(200), EmailAddress()])
    url = StringField("Page web du lieu", validators=[Optional(), at_most(500), WebAddress()])
    opening_hours = StringField(
        "Horaires d'ouverture (syntaxe OpenStreetMap)",
        validators=[Optional(), at_most(500), OpeningHoursSyntax()],
    )
    hours_note = TextAreaField(
        "Précision sur les horaires (facultatif)", validators=[Optional(), at_most(1000)]
    )
    accessibility = TextAreaField("Accessibilité", validators=[Optional(), at_most(1000)])
    coverage = TextAreaField("Communes servies (codes)", validators=[Optional(), at_most(5000)])
    source = StringField(
        "Source de l'information", validators=[Optional(), at_most(500), WebAddress()]
    )
    verified_on = FrenchDateField("Vérifié le", validators=[Optional()])
    note = TextAreaField("Note (réserve sur les données)", validators=[Optional(), at_most(2000)])

    FIELDS = SITE_FIELDS

    def validate_postcode(self, field: StringField) -> None:
        if field.data and not re.fullmatch(r"\d{5}", field.data.strip()):
            raise ValidationError("Code postal non reconnu : cinq chiffres, par exemple 88600.")

    def validate_commune_insee(self, field: StringField) -> None:
        if field.data and not re.fullmatch(r"\d[\dAB]\d{3}", field.data.strip()):
            raise ValidationError("Code INSEE non reconnu : cinq caractères, par exemple 88135.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.latitude.errors or self.longitude.errors:
            return valid
        if (self.latitude.data is None) != (self.longitude.data is None):
            self.longitude.errors.append(
                "Indiquez la latitude et la longitude ensemble, ou aucune des deux "
                "(la position sera alors le centre de la commune)."
            )
            return False
        return valid

    def values(self) -> dict[str, Any]:
        return values_of(self, self.FIELDS)

    def area_codes(self) -> list[str]:
        return [c for c in AREA_SEPARATORS.split((self.coverage.data or "").strip()) if c]


class ClosureForm(FlaskForm):
    kind = RadioField(
        "Nature",
        choices=choices(CLOSURE_KINDS.items()),
        default="closed",
        validators=[InputRequired("Choisissez la nature de l'information.")],
    )
    starts_at = LocalDateTimeField(
        "Début", validators=[InputRequired("Indiquez la date et l'heure de début.")]
    )
    ends_at = LocalDateTimeField(
        "Fin", end_of_day=True, validators=[InputRequired("Indiquez la date et l'heure de fin.")]
    )
    # No Optional(): it would skip the checks that make these required for some kinds.
    message = TextAreaField("Message affiché (motif, consigne)", validators=[at_most(1000)])
    opening_hours = StringField(
        "Horaires pendant la période (syntaxe OpenStreetMap)",
        validators=[at_most(500), OpeningHoursSyntax()],
    )

    def validate_ends_at(self, field: LocalDateTimeField) -> None:
        start = self.starts_at.data
        if start and field.data and field.data <= start:
            raise ValidationError("La fin doit être après le début.")

    def validate_message(self, field: TextAreaField) -> None:
        if self.kind.data == "message" and not (field.data or "").strip():
            raise ValidationError("Indiquez le message à afficher.")

    def validate_opening_hours(self, field: StringField) -> None:
        if self.kind.data == "hours" and not (field.data or "").strip():
            raise ValidationError("Indiquez les horaires qui s'appliquent pendant la période.")

    def values(self) -> dict[str, Any]:
        values = values_of(self, CLOSURE_FIELDS)
        values["message"] = values["message"] or ""
        if values["kind"] != "hours":
            values["opening_hours"] = None
        return values


class HostSiteField(SelectField):
    """The host site of a permanence, among the sites offered (which the service decides);
    anything else is refused in French rather than with WTForms' English messages."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, coerce=int, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        if not text.isascii() or not text.isdigit():
            raise ValueError(HOST_NOT_OFFERED)
        self.data = int(text)

    def pre_validate(self, form: Form) -> None:
        offered = {self.coerce(c.value) for c in self.iter_choices()}
        if self.data is not None and self.data not in offered:
            raise ValidationError(HOST_NOT_OFFERED)


HOST_NOT_OFFERED = f"Lieu d'accueil non proposé : choisissez-le dans la liste. {HOST_RULE}"


class PermanenceForm(FlaskForm):
    host_site_id = HostSiteField(
        "Lieu d'accueil", validators=[InputRequired("Choisissez le lieu d'accueil.")]
    )
    schedule = StringField(
        "Horaires de la permanence (syntaxe OpenStreetMap)",
        validators=[
            DataRequired("Indiquez les horaires, par exemple Tu[1,3] 09:00-12:00."),
            at_most(500),
            OpeningHoursSyntax(),
        ],
    )
    by_appointment = BooleanField("Sur rendez-vous")
    note = TextAreaField(
        "Précision (comment prendre rendez-vous…)", validators=[Optional(), at_most(1000)]
    )
    starts_on = FrenchDateField("À partir du (facultatif)", validators=[Optional()])
    ends_on = FrenchDateField("Jusqu'au (facultatif)", validators=[Optional()])
    source = StringField(
        "Source de l'information", validators=[Optional(), at_most(500), WebAddress()]
    )
    verified_on = FrenchDateField("Vérifié le", validators=[Optional()])

    FIELDS = PERMANENCE_FIELDS

    def offer_hosts(self, hosts: Iterable[Any]) -> None:
        """The host sites to choose from (`HostChoice` rows), in their groups."""
        self.host_site_id.choices = [
            SelectChoice(h.site_id, h.label, optgroup=h.group) for h in hosts
        ]

    def validate_ends_on(self, field: FrenchDateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("La date de fin doit être après la date de début.")

    def values(self) -> dict[str, Any]:
        values = values_of(self, self.FIELDS)
        values["by_appointment"] = bool(self.by_appointment.data)
        return values


class ConfirmForm(FlaskForm):
    """A deletion: nothing to fill in, the CSRF token only."""

"""How the directory's audit trail reads in French: field names, values, closure periods.

Pure: the history tables of the administration pages render entries through these."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from proxiservices.domain import hours

CLOSURE_KINDS = {
    "closed": "Fermeture (journée entière ou partie de journée)",
    "hours": "Horaires modifiés sur la période",
    "message": "Information temporaire",
}
FIELD_LABELS = {
    "name": "nom",
    "kind_code": "type d'organisme",
    "phone": "téléphone",
    "website": "site web",
    "email": "courriel",
    "description": "description",
    "source": "source",
    "verified_on": "vérifié le",
    "note": "note",
    "address": "adresse",
    "postcode": "code postal",
    "commune_insee": "commune (code INSEE)",
    "latitude": "latitude",
    "longitude": "longitude",
    "url": "page web",
    "opening_hours": "horaires",
    "hours_note": "précision sur les horaires",
    "accessibility": "accessibilité",
    "coverage": "communes servies",
    "kind": "nature",
    "starts_at": "début",
    "ends_at": "fin",
    "message": "message",
    "schedule": "horaires de la permanence",
    "by_appointment": "sur rendez-vous",
    "starts_on": "à partir du",
    "ends_on": "jusqu'au",
    "host_site": "lieu d'accueil",
    "site": "lieu",
    "body": "organisme",
}
OBJECT_LABELS = {
    "body": "organisme",
    "site": "lieu",
    "closure": "fermeture",
    "permanence": "permanence",
    "resident": "d'un usager",
    "purge": "des demandes terminées",
}


_ISO_DATETIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)")
_ISO_DATE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)$")


def describe_value(field: str, value: Any) -> str:
    """An audited value as a person reads it in the history."""
    if value is None or value == "" or value == []:
        return "(vide)"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if field == "kind" and value in CLOSURE_KINDS:
        return CLOSURE_KINDS[value].lower()
    text = str(value)
    if found := _ISO_DATETIME.match(text):
        year, month, day, hour, minute = found.groups()
        return f"{day}/{month}/{year} {hour}h{minute}"
    if found := _ISO_DATE.match(text):
        year, month, day = found.groups()
        return f"{day}/{month}/{year}"
    return text


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def closure_period(start: datetime, end: datetime) -> str:
    """ "du jeudi 24 déc. au samedi 26 déc. 2026", or with the times for part of a day."""
    whole_days = start.time() == end.time() == datetime.min.time()
    if whole_days:
        last = end.date() - timedelta(days=1)
        if last == start.date():
            return f"le {hours.day_label(start.date())} {start.year}"
        return f"du {hours.day_label(start.date())} au {hours.day_label(last)} {last.year}"
    return (
        f"du {hours.day_label(start.date())} {start.year} à {hours.format_time(start.time())} "
        f"au {hours.day_label(end.date())} {end.year} à {hours.format_time(end.time())}"
    )

"""The audit trail as a person reads it: field names and values in French."""

from datetime import datetime

import pytest

from proxiservices.domain import changes


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("phone", None, "(vide)"),
        ("phone", "", "(vide)"),
        ("coverage", [], "(vide)"),
        ("coverage", ["88", "88135"], "88, 88135"),
        ("by_appointment", True, "oui"),
        ("by_appointment", False, "non"),
        ("verified_on", "2026-12-01", "01/12/2026"),
        ("starts_at", "2026-12-24T12:00:00", "24/12/2026 12h00"),
        ("kind", "closed", "fermeture (journée entière ou partie de journée)"),
        ("kind", "message", "information temporaire"),
        ("latitude", 48.17, "48.17"),
        ("phone", "03 29 00 32 30", "03 29 00 32 30"),
    ],
)
def test_describe_value(field, value, text):
    assert changes.describe_value(field, value) == text


def test_field_labels_are_french_and_unknown_fields_keep_their_name():
    assert changes.field_label("opening_hours") == "horaires"
    assert changes.field_label("phone") == "téléphone"
    assert changes.field_label("something_new") == "something_new"


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        ("2026-12-24 00:00", "2026-12-27 00:00", "du jeudi 24 déc. au samedi 26 déc. 2026"),
        ("2026-12-24 00:00", "2026-12-25 00:00", "le jeudi 24 déc. 2026"),
        (
            "2026-12-24 12:00",
            "2026-12-24 17:30",
            "du jeudi 24 déc. 2026 à 12h au jeudi 24 déc. 2026 à 17h30",
        ),
    ],
)
def test_closure_period(start, end, text):
    period = changes.closure_period(datetime.fromisoformat(start), datetime.fromisoformat(end))
    assert period == text


def test_domain_module_stays_pure():
    source = changes.__file__
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    assert "flask" not in text and "sqlalchemy" not in text

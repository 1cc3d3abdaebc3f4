"""Opening hours as a reception desk reads them: open now, until when, next opening, the week."""

import ast
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from opening_hours import OpeningHours, State

from proxiservices.domain import hours
from proxiservices.domain.hours import PARIS, ClosedPeriod

MAIRIE = "Mo-Fr 08:30-12:00,13:30-17:00; Sa 09:00-12:00; PH off"
PERMANENCE = "Tu[1,3] 09:00-12:00"
DIMANCHE = "Su 09:00-12:00"
SOIREES = "Fr-Sa 20:00-02:00"


def paris(text: str) -> datetime:
    """A naive timestamp as callers pass it: Paris wall-clock time."""
    return datetime.fromisoformat(text)


def show(moment: datetime | None) -> str | None:
    """Wall-clock time with its UTC offset, so a DST mistake cannot hide."""
    return moment.isoformat(" ", "minutes") if moment else None


@pytest.mark.parametrize(
    ("expr", "at", "open_now", "closes_at", "next_opening"),
    [
        # lunch break
        (MAIRIE, "2026-12-02 08:29", False, None, "2026-12-02 08:30+01:00"),
        (MAIRIE, "2026-12-02 08:30", True, "2026-12-02 12:00+01:00", None),
        (MAIRIE, "2026-12-02 10:00", True, "2026-12-02 12:00+01:00", None),
        (MAIRIE, "2026-12-02 12:00", False, None, "2026-12-02 13:30+01:00"),
        (MAIRIE, "2026-12-02 12:30", False, None, "2026-12-02 13:30+01:00"),
        (MAIRIE, "2026-12-02 16:59", True, "2026-12-02 17:00+01:00", None),
        # evenings and weekends
        (MAIRIE, "2026-12-02 17:30", False, None, "2026-12-03 08:30+01:00"),
        (MAIRIE, "2026-12-04 18:00", False, None, "2026-12-05 09:00+01:00"),
        (MAIRIE, "2026-12-05 11:00", True, "2026-12-05 12:00+01:00", None),
        (MAIRIE, "2026-12-05 12:00", False, None, "2026-12-07 08:30+01:00"),
        (MAIRIE, "2026-12-06 10:00", False, None, "2026-12-07 08:30+01:00"),
        (SOIREES, "2026-12-04 23:00", True, "2026-12-05 02:00+01:00", None),
        (SOIREES, "2026-12-05 01:00", True, "2026-12-05 02:00+01:00", None),
        # public holidays with `PH off`
        (MAIRIE, "2026-12-25 10:00", False, None, "2026-12-26 09:00+01:00"),
        (MAIRIE, "2026-12-24 17:30", False, None, "2026-12-26 09:00+01:00"),
        (MAIRIE, "2026-05-13 17:30", False, None, "2026-05-15 08:30+02:00"),
        (MAIRIE, "2026-05-23 12:00", False, None, "2026-05-26 08:30+02:00"),
        (MAIRIE, "2026-07-13 17:00", False, None, "2026-07-15 08:30+02:00"),
        (MAIRIE, "2026-11-10 17:00", False, None, "2026-11-12 08:30+01:00"),
        (MAIRIE, "2027-10-30 12:00", False, None, "2027-11-02 08:30+01:00"),
        (MAIRIE, "2026-04-04 12:00", False, None, "2026-04-07 08:30+02:00"),
        # DST: 09:00 stays 09:00 local on both sides of the change
        (DIMANCHE, "2026-03-28 13:00", False, None, "2026-03-29 09:00+02:00"),
        (DIMANCHE, "2026-03-29 10:00", True, "2026-03-29 12:00+02:00", None),
        (DIMANCHE, "2026-10-24 13:00", False, None, "2026-10-25 09:00+01:00"),
        (DIMANCHE, "2026-10-25 10:00", True, "2026-10-25 12:00+01:00", None),
        (MAIRIE, "2026-03-28 12:00", False, None, "2026-03-30 08:30+02:00"),
        (MAIRIE, "2026-10-24 12:00", False, None, "2026-10-26 08:30+01:00"),
        # n-th weekday of the month
        (PERMANENCE, "2026-12-02 10:00", False, None, "2026-12-15 09:00+01:00"),
        (PERMANENCE, "2026-12-15 10:00", True, "2026-12-15 12:00+01:00", None),
        (PERMANENCE, "2026-12-15 12:00", False, None, "2027-01-05 09:00+01:00"),
        # always open, never open, rules that have expired
        ("24/7", "2026-12-02 10:00", True, None, None),
        ("off", "2026-12-02 10:00", False, None, None),
        ("2020 Mo 09:00-10:00", "2026-12-02 10:00", False, None, None),
    ],
)
def test_status(expr, at, open_now, closes_at, next_opening):
    result = hours.status(expr, paris(at))
    assert (result.known, result.valid, result.closed_for) == (True, True, None)
    assert result.open_now is open_now
    assert show(result.closes_at) == closes_at
    assert show(result.next_opening) == next_opening


@pytest.mark.parametrize(
    ("at", "open_now", "closes_at"),
    [
        (datetime(2026, 12, 2, 7, 45, tzinfo=UTC), True, "2026-12-02 12:00+01:00"),
        (datetime(2026, 12, 2, 11, 15, tzinfo=UTC), False, None),
        (datetime(2026, 12, 2, 10, 0, tzinfo=PARIS), True, "2026-12-02 12:00+01:00"),
    ],
)
def test_status_accepts_aware_datetimes_in_any_zone(at, open_now, closes_at):
    result = hours.status(MAIRIE, at)
    assert result.open_now is open_now
    assert show(result.closes_at) == closes_at
    assert result.closes_at is None or result.closes_at.tzinfo is PARIS


INVENTAIRE = ClosedPeriod(paris("2026-12-03 00:00"), paris("2026-12-04 00:00"), "Inventaire")
CONSEIL = ClosedPeriod(paris("2026-12-02 14:00"), paris("2026-12-02 16:00"), "Conseil municipal")
MATIN = ClosedPeriod(paris("2026-12-02 11:00"), paris("2026-12-02 12:00"))
SEMAINE = ClosedPeriod(paris("2026-12-07 00:00"), paris("2026-12-12 00:00"), "Travaux")
UTC_CLOSURE = ClosedPeriod(
    datetime(2026, 12, 3, 7, 0, tzinfo=UTC), datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
)


@pytest.mark.parametrize(
    ("closures", "at", "open_now", "closes_at", "next_opening", "closed_for"),
    [
        ([INVENTAIRE], "2026-12-03 10:00", False, None, "2026-12-04 08:30+01:00", INVENTAIRE),
        ([INVENTAIRE], "2026-12-02 17:30", False, None, "2026-12-04 08:30+01:00", None),
        ([CONSEIL], "2026-12-02 15:00", False, None, "2026-12-02 16:00+01:00", CONSEIL),
        ([CONSEIL], "2026-12-02 12:30", False, None, "2026-12-02 13:30+01:00", None),
        ([CONSEIL], "2026-12-02 13:45", True, "2026-12-02 14:00+01:00", None, None),
        ([CONSEIL], "2026-12-02 16:00", True, "2026-12-02 17:00+01:00", None, None),
        ([MATIN], "2026-12-02 10:00", True, "2026-12-02 11:00+01:00", None, None),
        ([SEMAINE], "2026-12-05 12:00", False, None, "2026-12-12 09:00+01:00", None),
        (
            [SEMAINE, INVENTAIRE],
            "2026-12-03 10:00",
            False,
            None,
            "2026-12-04 08:30+01:00",
            INVENTAIRE,
        ),
        ([UTC_CLOSURE], "2026-12-03 09:00", False, None, "2026-12-03 13:30+01:00", UTC_CLOSURE),
    ],
)
def test_status_with_closures(closures, at, open_now, closes_at, next_opening, closed_for):
    result = hours.status(MAIRIE, paris(at), closures)
    assert result.open_now is open_now
    assert show(result.closes_at) == closes_at
    assert show(result.next_opening) == next_opening
    assert result.closed_for == closed_for


@pytest.mark.parametrize(
    ("expr", "known", "valid"),
    [
        (None, False, True),
        ("", False, True),
        ("   ", False, True),
        ("Mo-Fr 25:00-99", True, False),
        ("n'importe quoi", True, False),
        ("Lu-Ve 9h-12h", True, False),
    ],
)
def test_status_of_unknown_or_malformed_hours_never_raises(expr, known, valid):
    result = hours.status(expr, paris("2026-12-03 10:00"), [INVENTAIRE])
    assert (result.known, result.valid, result.open_now) == (known, valid, None)
    assert (result.closes_at, result.next_opening) == (None, None)
    assert result.closed_for == INVENTAIRE
    assert hours.open_intervals(expr, paris("2026-12-01 00:00"), paris("2026-12-08 00:00")) == []
    assert hours.days_ahead(expr, date(2026, 12, 1), 7) == []
    assert hours.weekly_table(expr, date(2026, 12, 1)) is None


def test_status_of_unknown_rule_is_not_a_yes_or_no():
    result = hours.status(
        'Mo-Fr 09:00-12:00; We unknown "voir la mairie"', paris("2026-12-02 10:00")
    )
    assert (result.known, result.valid, result.open_now) == (True, True, None)
    assert show(result.next_opening) == "2026-12-03 09:00+01:00"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (None, None),
        ("", None),
        (MAIRIE, None),
        (PERMANENCE, None),
        ("Mo-Fr 25:00-99", "Horaires non reconnus à partir de « 25:00-99 » (caractère 7)."),
        ("n'importe quoi", "Horaires non reconnus à partir de « n'importe quoi »"),
        ("Mo-Fr 08:00-12:00;", "Les horaires sont incomplets"),
        ("Lu-Ve 9h-12h", "Les jours s'écrivent en anglais : Mo Tu We Th Fr Sa Su."),
        ("Lu-Ve 9h-12h", "Les heures s'écrivent 08:30, pas 8h30."),
    ],
)
def test_validate(expr, expected):
    message = hours.validate(expr)
    if expected is None:
        assert message is None
    else:
        assert expected in message
        assert "Exemple : « Mo-Fr 08:30-12:00,13:30-17:00; Sa 09:00-12:00; PH off »" in message


@pytest.mark.parametrize(
    ("expr", "hint"),
    [
        ("lundi-vendredi 09:00-12:00", "Les jours s'écrivent en anglais : Mo Tu We Th Fr Sa Su."),
        ("Mo-Fr 09.00-12.00", "Les heures s'écrivent avec deux-points : 08:30, pas 08.30."),
        ("Mo-Fr 09:00–12:00", "mettez un tiret simple « - », pas un tiret long « – »."),
        ("Mo-Fr 25:00-26:00", "Une heure va de 00:00 à 24:00."),
        ("Mo-Fr 9-12", "Écrivez les minutes : 09:00-12:00, pas 9-12."),
        ("Mo-Fr 08:30-12:00 13:30-17:00", "Deux plages du même jour se séparent par une virgule"),
        ("Mo-Fr 08:30-12:00 et 13:30-17:00", "Deux plages du même jour se séparent"),
        ("Mo-Fr 09:00 à 12:00", "Une plage s'écrit avec un tiret : 09:00-12:00"),
        ("Mo-Fr 09:00-12:00; PH fermé", "Un jour fermé s'écrit « off » (Su off), les jours fériés"),
    ],
)
def test_validate_explains_french_habits(expr, hint):
    message = hours.validate(expr)
    assert message.startswith("Horaires non reconnus à partir de")
    assert hint in message


def test_validate_gives_no_hint_that_does_not_apply():
    message = hours.validate("n'importe quoi")
    assert message == (
        "Horaires non reconnus à partir de « n'importe quoi » (caractère 1). "
        "Exemple : « Mo-Fr 08:30-12:00,13:30-17:00; Sa 09:00-12:00; PH off »."
    )


def test_parse_error_keeps_the_parser_diagnostic():
    with pytest.raises(hours.HoursError) as caught:
        hours.parse("Mo-Fr 25:00-99")
    assert isinstance(caught.value, ValueError)
    assert caught.value.message.startswith("Horaires non reconnus")
    assert str(caught.value) == caught.value.message
    assert "^" in caught.value.detail


def test_parse_is_cached_and_knows_french_holidays():
    assert hours.parse(MAIRIE) is hours.parse(f"  {MAIRIE} ")
    assert hours.parse(MAIRIE).is_closed(datetime(2026, 12, 25, 10, 0, tzinfo=PARIS))


def test_open_intervals_cut_by_partial_closures():
    assert [
        (show(start), show(end))
        for start, end in hours.open_intervals(
            MAIRIE, paris("2026-12-02 10:00"), paris("2026-12-03 18:00"), [CONSEIL, MATIN]
        )
    ] == [
        ("2026-12-02 10:00+01:00", "2026-12-02 11:00+01:00"),
        ("2026-12-02 13:30+01:00", "2026-12-02 14:00+01:00"),
        ("2026-12-02 16:00+01:00", "2026-12-02 17:00+01:00"),
        ("2026-12-03 08:30+01:00", "2026-12-03 12:00+01:00"),
        ("2026-12-03 13:30+01:00", "2026-12-03 17:00+01:00"),
    ]


@pytest.mark.parametrize(
    ("day", "closures", "label", "text", "holiday"),
    [
        ("2026-12-07", [], "lundi 7 déc.", "8h30–12h, 13h30–17h", None),
        ("2026-12-01", [], "mardi 1er déc.", "8h30–12h, 13h30–17h", None),
        ("2026-12-05", [], "samedi 5 déc.", "9h–12h", None),
        ("2026-12-06", [], "dimanche 6 déc.", "fermé", None),
        ("2026-12-25", [], "vendredi 25 déc.", "fermé (jour férié)", "Noël"),
        ("2026-05-14", [], "jeudi 14 mai", "fermé (jour férié)", "Ascension"),
        ("2026-05-25", [], "lundi 25 mai", "fermé (jour férié)", "Lundi de Pentecôte"),
        ("2026-07-14", [], "mardi 14 juil.", "fermé (jour férié)", "Fête nationale"),
        ("2026-11-01", [], "dimanche 1er nov.", "fermé (jour férié)", "Toussaint"),
        ("2026-12-03", [INVENTAIRE], "jeudi 3 déc.", "fermé (Inventaire)", None),
        (
            "2026-12-02",
            [MATIN],
            "mercredi 2 déc.",
            "8h30–11h, 13h30–17h (fermeture exceptionnelle)",
            None,
        ),
        (
            "2026-12-02",
            [CONSEIL],
            "mercredi 2 déc.",
            "8h30–12h, 13h30–14h, 16h–17h (Conseil municipal)",
            None,
        ),
        ("2026-12-06", [SEMAINE], "dimanche 6 déc.", "fermé", None),
        ("2026-12-08", [SEMAINE], "mardi 8 déc.", "fermé (Travaux)", None),
        ("2026-12-12", [SEMAINE], "samedi 12 déc.", "9h–12h", None),
    ],
)
def test_days_ahead(day, closures, label, text, holiday):
    start = date.fromisoformat(day)
    (result,) = hours.days_ahead(MAIRIE, start, 1, closures)
    assert (result.day, result.label, result.text, result.holiday) == (start, label, text, holiday)
    assert result.weekday_label == label.split()[0]


def test_days_ahead_lists_consecutive_days_across_dst():
    result = hours.days_ahead(DIMANCHE, date(2026, 3, 28), 8)
    assert [day.day for day in result] == [date(2026, 3, 28 + n) for n in range(4)] + [
        date(2026, 4, n) for n in range(1, 5)
    ]
    assert [day.text for day in result][:2] == ["fermé", "9h–12h"]
    assert result[1].intervals == ((time(9), time(12)),)


LUNCH = "8h30–12h, 13h30–17h"


@pytest.mark.parametrize(
    ("expr", "reference", "texts"),
    [
        (MAIRIE, "2026-12-01", [LUNCH] * 5 + ["9h–12h", "fermé"]),
        (MAIRIE, "2026-12-21", [LUNCH] * 5 + ["9h–12h", "fermé"]),
        ("Mo-Fr 09:00-17:00", "2026-03-02", ["9h–17h"] * 5 + ["fermé", "fermé"]),
        (PERMANENCE, "2026-12-01", ["fermé", "9h–12h (1er et 3e du mois)"] + ["fermé"] * 5),
        (PERMANENCE, "2026-05-20", ["fermé", "9h–12h (1er et 3e du mois)"] + ["fermé"] * 5),
        (
            "We[2] 14:00-16:30",
            "2026-12-01",
            ["fermé"] * 2 + ["14h–16h30 (2e du mois)"] + ["fermé"] * 4,
        ),
        ("Mo[-1] 10:00-11:00", "2026-12-01", ["10h–11h (dernier du mois)"] + ["fermé"] * 6),
        (
            "week 1-53/2 Th 14:00-16:00",
            "2026-12-01",
            ["fermé"] * 3 + ["14h–16h (certaines semaines)"] + ["fermé"] * 3,
        ),
        (
            "Mo-Fr 09:00-12:00; We[2] 14:00-17:00",
            "2026-12-01",
            ["9h–12h"] * 2 + ["9h–12h (horaires variables)"] + ["9h–12h"] * 2 + ["fermé"] * 2,
        ),
    ],
)
def test_weekly_table(expr, reference, texts):
    table = hours.weekly_table(expr, date.fromisoformat(reference))
    assert [row.text for row in table] == texts
    assert [row.label for row in table] == list(hours.WEEKDAYS)
    assert [row.weekday for row in table] == list(range(7))


def test_weekly_table_keeps_intervals_for_templates():
    table = hours.weekly_table(MAIRIE, date(2026, 12, 1))
    assert table[0].intervals == ((time(8, 30), time(12)), (time(13, 30), time(17)))
    assert table[6].intervals == ()


@pytest.mark.parametrize(
    ("moment", "text"),
    [(time(8, 30), "8h30"), (time(12), "12h"), (time(9, 5), "9h05"), (time(0), "0h")],
)
def test_format_time(moment, text):
    assert hours.format_time(moment) == text


@pytest.mark.parametrize(
    ("intervals", "text"),
    [
        ([], "fermé"),
        ([(time(9), time(12))], "9h–12h"),
        ([(time(8, 30), time(12)), (time(13, 30), time(17))], "8h30–12h, 13h30–17h"),
        ([(time(20), time(0))], "20h–24h"),
    ],
)
def test_format_intervals(intervals, text):
    assert hours.format_intervals(intervals) == text


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2027, 1, 4), "lundi 4 janv."),
        (date(2027, 2, 1), "lundi 1er févr."),
        (date(2027, 3, 3), "mercredi 3 mars"),
        (date(2027, 4, 8), "jeudi 8 avr."),
        (date(2027, 5, 7), "vendredi 7 mai"),
        (date(2027, 6, 5), "samedi 5 juin"),
        (date(2027, 7, 4), "dimanche 4 juil."),
        (date(2027, 8, 16), "lundi 16 août"),
        (date(2027, 9, 21), "mardi 21 sept."),
        (date(2027, 10, 13), "mercredi 13 oct."),
        (date(2027, 11, 25), "jeudi 25 nov."),
        (date(2026, 12, 7), "lundi 7 déc."),
    ],
)
def test_day_label(day, label):
    assert hours.day_label(day) == label


@pytest.mark.parametrize(
    ("year", "sunday"),
    [
        (2000, "2000-04-23"),
        (2024, "2024-03-31"),
        (2025, "2025-04-20"),
        (2026, "2026-04-05"),
        (2027, "2027-03-28"),
        (2038, "2038-04-25"),
    ],
)
def test_easter(year, sunday):
    assert hours.easter(year) == date.fromisoformat(sunday)


def test_french_holidays_2026():
    assert hours.french_holidays(2026) == {
        date(2026, 1, 1): "Jour de l'an",
        date(2026, 4, 6): "Lundi de Pâques",
        date(2026, 5, 1): "Fête du Travail",
        date(2026, 5, 8): "Victoire 1945",
        date(2026, 5, 14): "Ascension",
        date(2026, 5, 25): "Lundi de Pentecôte",
        date(2026, 7, 14): "Fête nationale",
        date(2026, 8, 15): "Assomption",
        date(2026, 11, 1): "Toussaint",
        date(2026, 11, 11): "Armistice 1918",
        date(2026, 12, 25): "Noël",
    }


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2027-03-29", "Lundi de Pâques"),
        ("2027-05-06", "Ascension"),
        ("2027-05-17", "Lundi de Pentecôte"),
        ("2027-12-25", "Noël"),
    ],
)
def test_french_holidays_2027(day, name):
    found = hours.french_holidays(2027)
    assert len(found) == 11
    assert found[date.fromisoformat(day)] == name


@pytest.mark.parametrize("year", range(2025, 2031))
def test_french_holidays_match_the_library_ph(year):
    oh = OpeningHours("PH 00:00-24:00", timezone=PARIS, country="FR")
    start = datetime(year, 1, 1, tzinfo=PARIS)
    end = datetime(year + 1, 1, 1, tzinfo=PARIS)
    ph_days = {
        begin.date() for begin, _, state, _ in oh.intervals(start, end) if state == State.OPEN
    }
    assert ph_days == set(hours.french_holidays(year))


def test_domain_module_stays_pure():
    tree = ast.parse(Path(hours.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"flask", "sqlalchemy", "flask_sqlalchemy"}


# Closures and changed hours (issue 5): the period is literal wall-clock time in Paris.
ETE = hours.ChangedHours(
    paris("2026-07-13 00:00"), paris("2026-08-22 00:00"), "Mo-Fr 09:00-12:00; PH off", "Été"
)
NOEL = ClosedPeriod(paris("2026-12-24 12:00"), paris("2026-12-27 00:00"), "Fermeture de Noël")
SOIREE_ANNULEE = ClosedPeriod(paris("2026-12-04 22:00"), paris("2026-12-05 01:00"), "Gel")
NUIT_COURTE = hours.ChangedHours(
    paris("2026-12-04 00:00"), paris("2026-12-05 00:00"), "Fr 20:00-23:00", "Nuit courte"
)
NUIT_LONGUE = hours.ChangedHours(
    paris("2026-12-04 00:00"), paris("2026-12-05 06:00"), "Fr 20:00-04:00", "Nuit longue"
)
# Sundays of the DST changes: 2026-03-29 (02:00 → 03:00) and 2026-10-25 (03:00 → 02:00).
PRINTEMPS = hours.ChangedHours(
    paris("2026-03-28 00:00"), paris("2026-03-30 00:00"), "Su 01:00-05:00", "Nuit de l'heure d'été"
)
AUTOMNE = ClosedPeriod(paris("2026-10-25 01:00"), paris("2026-10-25 03:00"), "Relève")
SAMEDI_SOIR = "Sa 20:00-04:00"


@pytest.mark.parametrize(
    ("expr", "overrides", "at", "open_now", "closes_at", "next_opening"),
    [
        # summer hours replace the regular ones, on weekdays and Saturdays alike
        (MAIRIE, [ETE], "2026-07-15 10:00", True, "2026-07-15 12:00+02:00", None),
        (MAIRIE, [ETE], "2026-07-15 14:00", False, None, "2026-07-16 09:00+02:00"),
        (MAIRIE, [ETE], "2026-07-17 12:30", False, None, "2026-07-20 09:00+02:00"),
        (MAIRIE, [ETE], "2026-07-10 17:30", False, None, "2026-07-11 09:00+02:00"),
        # the replacement's own `PH off`: 14 July is a holiday
        (MAIRIE, [ETE], "2026-07-13 12:30", False, None, "2026-07-15 09:00+02:00"),
        # the last day of the period, then the regular hours again
        (MAIRIE, [ETE], "2026-08-21 11:00", True, "2026-08-21 12:00+02:00", None),
        (MAIRIE, [ETE], "2026-08-21 12:00", False, None, "2026-08-22 09:00+02:00"),
        # a closure inside changed hours still closes
        (
            MAIRIE,
            [ETE, ClosedPeriod(paris("2026-07-16 00:00"), paris("2026-07-17 00:00"))],
            "2026-07-15 14:00",
            False,
            None,
            "2026-07-17 09:00+02:00",
        ),
        # Christmas: closed from noon on the 24th, Saturday 26 included
        (MAIRIE, [NOEL], "2026-12-24 10:00", True, "2026-12-24 12:00+01:00", None),
        (MAIRIE, [NOEL], "2026-12-24 12:00", False, None, "2026-12-28 08:30+01:00"),
        # across midnight: a night opening shortened by a closure, by changed hours
        (SOIREES, [SOIREE_ANNULEE], "2026-12-04 21:00", True, "2026-12-04 22:00+01:00", None),
        (SOIREES, [SOIREE_ANNULEE], "2026-12-04 23:00", False, None, "2026-12-05 01:00+01:00"),
        (SOIREES, [SOIREE_ANNULEE], "2026-12-05 01:30", True, "2026-12-05 02:00+01:00", None),
        (SOIREES, [NUIT_COURTE], "2026-12-04 22:00", True, "2026-12-04 23:00+01:00", None),
        # literal period: at its end (midnight) the regular Friday night resumes until 02:00
        (SOIREES, [NUIT_COURTE], "2026-12-04 23:30", False, None, "2026-12-05 00:00+01:00"),
        # the period ends at 06:00 so the replacement's night runs to 04:00
        (SOIREES, [NUIT_LONGUE], "2026-12-05 03:00", True, "2026-12-05 04:00+01:00", None),
        # DST spring: the changed night opens at 01:00+01:00, closes at 05:00+02:00
        (DIMANCHE, [PRINTEMPS], "2026-03-28 13:00", False, None, "2026-03-29 01:00+01:00"),
        (DIMANCHE, [PRINTEMPS], "2026-03-29 03:30", True, "2026-03-29 05:00+02:00", None),
        (DIMANCHE, [PRINTEMPS], "2026-03-29 06:00", False, None, "2026-04-05 09:00+02:00"),
        # DST autumn: a closure from 01:00 (summer time) to 03:00 (winter time) is 3 hours
        (SAMEDI_SOIR, [AUTOMNE], "2026-10-25 00:30", True, "2026-10-25 01:00+02:00", None),
        (SAMEDI_SOIR, [AUTOMNE], "2026-10-25 02:30", False, None, "2026-10-25 03:00+01:00"),
        (SAMEDI_SOIR, [AUTOMNE], "2026-10-25 03:00", True, "2026-10-25 04:00+01:00", None),
    ],
)
def test_status_with_changed_hours_and_closures(
    expr, overrides, at, open_now, closes_at, next_opening
):
    result = hours.status(expr, paris(at), overrides)
    assert result.open_now is open_now
    assert show(result.closes_at) == closes_at
    assert show(result.next_opening) == next_opening


def test_status_names_the_changed_hours_in_force():
    during = hours.status(MAIRIE, paris("2026-07-15 10:00"), [ETE, NOEL])
    assert (during.changed_for, during.closed_for) == (ETE, None)
    before = hours.status(MAIRIE, paris("2026-07-10 10:00"), [ETE])
    assert before.changed_for is None
    closed = hours.status(MAIRIE, paris("2026-12-25 10:00"), [ETE, NOEL])
    assert (closed.changed_for, closed.closed_for) == (None, NOEL)


def test_unreadable_changed_hours_open_nothing_in_their_period():
    broken = hours.ChangedHours(paris("2026-12-07 00:00"), paris("2026-12-09 00:00"), "Lu 9h")
    result = hours.status(MAIRIE, paris("2026-12-07 10:00"), [broken])
    assert (result.open_now, show(result.next_opening)) == (False, "2026-12-09 08:30+01:00")


def test_dst_durations_are_real_hours():
    autumn = hours.open_intervals(
        SAMEDI_SOIR, paris("2026-10-24 12:00"), paris("2026-10-25 12:00"), [AUTOMNE]
    )
    assert [(show(a), show(b)) for a, b in autumn] == [
        ("2026-10-24 20:00+02:00", "2026-10-25 01:00+02:00"),
        ("2026-10-25 03:00+01:00", "2026-10-25 04:00+01:00"),
    ]
    assert [(b.astimezone(UTC) - a.astimezone(UTC)).seconds / 3600 for a, b in autumn] == [5, 1]
    spring = hours.open_intervals(
        DIMANCHE, paris("2026-03-28 00:00"), paris("2026-03-30 00:00"), [PRINTEMPS]
    )
    assert [(show(a), show(b)) for a, b in spring] == [
        ("2026-03-29 01:00+01:00", "2026-03-29 05:00+02:00")
    ]
    (opening, closing) = spring[0]
    assert (closing.astimezone(UTC) - opening.astimezone(UTC)).seconds / 3600 == 3


@pytest.mark.parametrize(
    ("day", "overrides", "text"),
    [
        ("2026-07-15", [ETE], "9h–12h (Été)"),
        ("2026-07-14", [ETE], "fermé (jour férié)"),
        ("2026-07-18", [ETE], "fermé (Été)"),
        ("2026-08-22", [ETE], "9h–12h"),
        (
            "2026-07-15",
            [hours.ChangedHours(ETE.start, ETE.end, ETE.opening_hours)],
            "9h–12h (horaires modifiés)",
        ),
        ("2026-12-24", [NOEL], "8h30–12h (Fermeture de Noël)"),
        ("2026-12-25", [NOEL], "fermé (jour férié)"),
        ("2026-12-26", [NOEL], "fermé (Fermeture de Noël)"),
        ("2026-12-28", [NOEL], "8h30–12h, 13h30–17h"),
    ],
)
def test_days_ahead_with_changed_hours(day, overrides, text):
    (result,) = hours.days_ahead(MAIRIE, date.fromisoformat(day), 1, overrides)
    assert result.text == text


def test_days_ahead_splits_a_changed_night_at_midnight():
    result = hours.days_ahead(SOIREES, date(2026, 12, 4), 2, [NUIT_LONGUE])
    assert [day.text for day in result] == [
        "20h–24h",
        "0h–4h, 20h–24h (Nuit longue)",
    ]


def test_days_ahead_across_dst_with_changed_hours():
    result = hours.days_ahead(DIMANCHE, date(2026, 3, 28), 3, [PRINTEMPS])
    assert [day.text for day in result] == [
        "fermé",
        "1h–5h (Nuit de l'heure d'été)",
        "fermé",
    ]


def test_weekly_table_exposes_the_recurrence():
    table = hours.weekly_table(PERMANENCE, date(2026, 12, 1))
    assert table[1].recurrence == "1er et 3e du mois"
    assert table[0].recurrence is None
    assert hours.weekly_table(MAIRIE, date(2026, 12, 1))[0].recurrence is None


def _seeded_expressions() -> list[str]:
    import csv

    path = Path(__file__).resolve().parents[2] / "seeds" / "mairies.csv"
    with path.open(encoding="utf-8") as rows:
        found = {row["opening_hours"] for row in csv.DictReader(rows) if row["opening_hours"]}
    return sorted(found)


def test_regular_hours_read_off_a_day_window_equal_the_library_intervals():
    """status() reads regular hours off a window kept per Paris day: the same periods as
    asking the library for [moment, moment + 8 days], whatever the moment, DST included."""
    expressions = [
        MAIRIE,
        PERMANENCE,
        DIMANCHE,
        SOIREES,
        "24/7",
        "Mo-Su 00:00-24:00",
        "Mo-Fr 22:00-06:00",
        "Su 01:30-03:30",
        "Mo-Fr 09:00-12:00; PH off; Dec 24 off",
    ]
    expressions += [e for e in _seeded_expressions() if hours._try_parse(e)][:150]
    moments = [
        datetime(2026, 3, 28, 23, 59, tzinfo=PARIS),  # the spring DST change is within 8 days
        datetime(2026, 3, 29, 1, 30, tzinfo=PARIS),
        datetime(2026, 3, 29, 3, 0, tzinfo=PARIS),
        datetime(2026, 10, 25, 2, 30, tzinfo=PARIS).replace(fold=1),  # the repeated hour
        datetime(2026, 10, 24, 0, 0, tzinfo=PARIS),
        datetime(2026, 12, 24, 11, 59, 59, tzinfo=PARIS),
        datetime(2026, 11, 23, 8, 30, tzinfo=PARIS),
        datetime(2026, 11, 23, 17, 0, tzinfo=PARIS),
    ]
    for expr in expressions:
        oh = hours.parse(expr)
        for moment in moments:
            start = hours._utc(moment)
            for days in (1, 8):
                end = start + timedelta(days=days)
                assert hours._regular_periods(oh, start, end, expr) == hours._open_periods(
                    oh, start, end
                ), (expr, moment, days)


def test_status_kept_per_minute_equals_the_status_of_the_very_instant():
    """status() without closures is kept per expression and minute: at any second of a
    minute (its first, its last, just before and after an opening or a closing, at DST
    changes) it equals the status computed at that instant."""
    expressions = [MAIRIE, PERMANENCE, DIMANCHE, SOIREES, "24/7", "Mo-Fr 22:00-06:00", "", "x"]
    expressions += [e for e in _seeded_expressions() if hours._try_parse(e)][:60]
    minutes = [
        datetime(2026, 11, 23, 8, 59, tzinfo=PARIS),
        datetime(2026, 11, 23, 9, 0, tzinfo=PARIS),
        datetime(2026, 11, 23, 11, 59, tzinfo=PARIS),
        datetime(2026, 11, 23, 12, 0, tzinfo=PARIS),
        datetime(2026, 11, 23, 13, 29, tzinfo=PARIS),
        datetime(2026, 11, 23, 17, 0, tzinfo=PARIS),
        datetime(2026, 3, 29, 1, 59, tzinfo=PARIS),
        datetime(2026, 10, 25, 2, 59, tzinfo=PARIS),  # the repeated hour, first time
        datetime(2026, 10, 25, 2, 59, tzinfo=PARIS).replace(fold=1),  # and second time
        datetime(2026, 12, 24, 23, 59, tzinfo=PARIS),
    ]
    offsets = [timedelta(0), timedelta(seconds=1), timedelta(seconds=59, microseconds=999999)]
    for expr in expressions:
        for minute in minutes:
            for offset in offsets:
                at = (minute + offset).replace(fold=minute.fold)
                assert hours.status(expr, at) == hours._status(expr, hours._utc(at), ()), (
                    expr,
                    at,
                )

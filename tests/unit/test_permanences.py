"""Permanences and closures in words, and the next occurrence a desk announces."""

from datetime import date, datetime

import pytest

from proxiservices.domain import closures, hours, permanences
from proxiservices.domain.hours import ClosedPeriod


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text)


def show(period):
    return [(a.isoformat(" ", "minutes"), b.isoformat(" ", "minutes")) for a, b in period]


MONTHLY = "Tu[1,3] 09:00-12:00; PH off"


@pytest.mark.parametrize(
    ("at", "kwargs", "expected"),
    [
        ("2026-11-25 10:00", {}, ("2026-12-01 09:00+01:00", "2026-12-01 12:00+01:00")),
        # under way: the whole occurrence, not what is left of it
        ("2026-12-01 10:30", {}, ("2026-12-01 09:00+01:00", "2026-12-01 12:00+01:00")),
        ("2026-12-01 12:00", {}, ("2026-12-15 09:00+01:00", "2026-12-15 12:00+01:00")),
        # season not started, season over
        (
            "2026-11-25 10:00",
            {"starts_on": date(2026, 12, 2)},
            ("2026-12-15 09:00+01:00", "2026-12-15 12:00+01:00"),
        ),
        ("2026-11-25 10:00", {"ends_on": date(2026, 11, 30)}, None),
        # the host site is closed that day: skipped, not shortened
        (
            "2026-11-25 10:00",
            {"host_closures": [ClosedPeriod(paris("2026-12-01 11:00"), paris("2026-12-01 18:00"))]},
            ("2026-12-15 09:00+01:00", "2026-12-15 12:00+01:00"),
        ),
        # across the spring DST change: still 9h local
        ("2026-03-25 10:00", {}, ("2026-04-07 09:00+02:00", "2026-04-07 12:00+02:00")),
    ],
)
def test_next_occurrence(at, kwargs, expected):
    found = permanences.next_occurrences(MONTHLY, paris(at), **kwargs)
    assert show(found) == ([expected] if expected else [])


def test_public_holidays_are_skipped_when_the_schedule_says_ph_off():
    # Tuesday 3 November 2026 is not a holiday; Tuesday 11 November 2025 is (2nd Tuesday).
    found = permanences.next_occurrences("Tu[2] 14:00-16:00; PH off", paris("2025-11-01 10:00"), 2)
    assert [a.date() for a, _ in found] == [date(2025, 12, 9), date(2026, 1, 13)]


def test_several_occurrences_and_unreadable_schedules():
    found = permanences.next_occurrences(MONTHLY, paris("2026-11-25 10:00"), 3)
    assert [a.date() for a, _ in found] == [date(2026, 12, 1), date(2026, 12, 15), date(2027, 1, 5)]
    assert permanences.next_occurrences("Ma 9h", paris("2026-11-25 10:00")) == []
    assert permanences.next_occurrences(None, paris("2026-11-25 10:00")) == []


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (MONTHLY, "1er et 3e mardis, 9h–12h"),
        ("We[2] 14:00-16:30", "2e mercredi du mois, 14h–16h30"),
        ("Th[-1] 09:00-12:00", "dernier jeudi du mois, 9h–12h"),
        ("Mo-Fr 09:00-12:00", "du lundi au vendredi, 9h–12h"),
        ("Tu,Th 09:00-12:00,13:30-16:00", "chaque mardi et jeudi, 9h–12h, 13h30–16h"),
        ("Mo 09:00-12:00; Th[1] 14:00-17:00", "chaque lundi, 9h–12h ; 1er jeudi du mois, 14h–17h"),
        ("Ma 9h", None),
    ],
)
def test_schedule_text(schedule, text):
    assert permanences.schedule_text(schedule, date(2026, 12, 1)) == text


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("France services de Bruyères", "à la France services de Bruyères"),
        ("Mairie de Docelles", "à la Mairie de Docelles"),
        ("Centre social", "au Centre social"),
        ("Espace France services", "à l'Espace France services"),
        ("La Poste de Bruyères", "à La Poste de Bruyères"),
        ("Le Trait d'union", "au Trait d'union"),
        ("Salle Jeanne d'Arc", "à la Salle Jeanne d'Arc"),
        ("Bruyères", "à Bruyères"),
    ],
)
def test_at_place(name, text):
    assert permanences.at_place(name) == text


def test_announcement():
    occurrence = (
        datetime.fromisoformat("2026-12-01 09:00+01:00"),
        datetime.fromisoformat("2026-12-01 12:00+01:00"),
    )
    assert permanences.announcement("CAF", "France services de Bruyères", occurrence, False) == (
        "prochaine permanence CAF à la France services de Bruyères : mardi 1er décembre, 9h–12h"
    )
    assert permanences.announcement("CAF", "Mairie de Docelles", None, True) == (
        "prochaine permanence CAF à la Mairie de Docelles : pas de date prévue connue, "
        "sur rendez-vous"
    )


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (
            "2026-12-24 12:00",
            "2026-12-27 00:00",
            "du jeudi 24 décembre à 12h au samedi 26 décembre inclus",
        ),
        ("2026-12-07 00:00", "2026-12-08 00:00", "le lundi 7 décembre"),
        ("2026-12-07 14:00", "2026-12-07 16:30", "le lundi 7 décembre de 14h à 16h30"),
        ("2026-12-07 14:00", "2026-12-08 00:00", "le lundi 7 décembre de 14h à 24h"),
        ("2026-12-01 00:00", "2026-12-03 12:00", "du mardi 1er décembre au jeudi 3 décembre à 12h"),
    ],
)
def test_period_text(start, end, text):
    assert closures.period_text(paris(start), paris(end)) == text


@pytest.mark.parametrize(
    ("now", "announced", "past"),
    [
        ("2026-12-09 11:59", False, False),
        ("2026-12-09 12:00", True, False),  # 15 days before the start
        ("2026-12-25 10:00", True, False),
        ("2026-12-27 00:00", False, True),
    ],
)
def test_banner_window(now, announced, past):
    start, end = paris("2026-12-24 12:00"), paris("2026-12-27 00:00")
    assert closures.is_announced(start, end, paris(now)) is announced
    assert closures.is_past(end, paris(now)) is past


# --- dates at the calendar's edges: a typo saved in the data never raises ----------------------


def test_a_validity_ending_on_the_last_day_of_the_calendar_reads_as_no_end():
    assert permanences.day_after(date(2026, 12, 31)) == date(2027, 1, 1)
    assert permanences.day_after(date.max) is None
    found = permanences.next_occurrences(MONTHLY, paris("2026-11-25 10:00"), ends_on=date.max)
    assert show(found) == [("2026-12-01 09:00+01:00", "2026-12-01 12:00+01:00")]


def test_a_validity_at_the_calendar_edges_gives_no_date_rather_than_an_error():
    at = paris("2026-11-25 10:00")
    assert permanences.next_occurrences(MONTHLY, at, starts_on=date.max) == []
    assert permanences.next_occurrences(MONTHLY, at, ends_on=date.min) == []
    closed_forever = [ClosedPeriod(datetime.min, datetime.max)]
    assert permanences.next_occurrences(MONTHLY, at, host_closures=closed_forever) == []


def test_a_closure_from_the_year_1_is_announced_without_error():
    now = paris("2026-11-25 10:00")
    assert closures.is_announced(datetime.min, paris("2026-12-01 00:00"), now)
    assert not closures.is_announced(datetime.min, paris("2026-11-01 00:00"), now)
    assert closures.period_text(datetime(1, 1, 1), datetime(1, 1, 2)) == ("le lundi 1er janvier")


def test_hours_now_with_a_closure_at_the_calendar_edges():
    forever = [hours.ClosedPeriod(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59), "Erreur")]
    state = hours.status("Mo-Fr 09:00-17:00", paris("2026-11-25 10:00"), forever)
    assert state.open_now is False and state.closed_for == forever[0]
    far = hours.status("Mo-Fr 09:00-17:00", datetime(9999, 12, 31, 12, 0))
    assert far.valid  # an instant past the clamp is read at the clamp, not an overflow


@pytest.mark.parametrize(
    ("host_body", "kind", "allowed"),
    [
        (7, "CPAM", True),  # its own site, whatever its kind
        (8, "FRANCE_SERVICES", True),
        (8, "CONSEILLER_NUMERIQUE", True),
        (8, "MAIRIE", True),
        (8, "CCAS", True),
        (8, "INTERCOMMUNALITE", True),
        (8, "CPAM", False),  # another agency's counter
        (8, "PREFECTURE", False),
    ],
)
def test_a_partner_holds_permanences_at_its_own_sites_and_the_usual_hosts(host_body, kind, allowed):
    assert permanences.may_host(host_body, kind, holder_body_id=7) is allowed

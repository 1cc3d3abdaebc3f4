"""Dates as pages print them: a naive datetime is a Paris wall-clock time (closures, alerts,
ateliers), an aware one an instant, in winter and in summer alike."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import Babel, format_datetime

from proxiservices.config import load
from proxiservices.web import _fr_datetime, _simple_pattern, fr_date, fr_datetime, in_paris


@pytest.fixture(scope="module")
def babel_app(tmp_path_factory):
    """Only what the filters need: the locale and time zone the application runs with."""
    settings = load(str(tmp_path_factory.mktemp("instance")), environ={})
    app = Flask(__name__)
    app.config.update({key: value for key, value in settings.items() if key.startswith("BABEL_")})
    Babel(app)
    with app.app_context():
        yield app


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Winter (UTC+1) and summer (UTC+2): what was typed is what is printed.
        (datetime(2026, 1, 15, 14, 0), "jeudi 15 janvier à 14h"),
        (datetime(2026, 7, 15, 14, 30), "mercredi 15 juillet à 14h30"),
        # The night the clocks go forward: 03:30 exists, after the jump.
        (datetime(2026, 3, 29, 3, 30), "dimanche 29 mars à 3h30"),
        # Instants (requests, audit entries) are aware: shown in Paris time.
        (datetime(2026, 1, 15, 13, 0, tzinfo=UTC), "jeudi 15 janvier à 14h"),
        (datetime(2026, 7, 15, 12, 30, tzinfo=UTC), "mercredi 15 juillet à 14h30"),
        (None, ""),
    ],
)
def test_fr_datetime_reads_naive_values_as_paris_time(babel_app, value, expected):
    assert fr_datetime(value) == expected


def test_kept_texts_never_mix_naive_and_aware_times(babel_app):
    """fr_datetime keeps its texts by value: 14h UTC (15h in Paris) and 14h in Paris are
    different keys, in either order; one instant in two time zones is one text."""
    naive, aware = datetime(2026, 1, 15, 14, 0), datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    for first, second in ((naive, aware), (aware, naive)):
        assert fr_datetime(first) != fr_datetime(second)
    assert fr_datetime(aware) == fr_datetime(in_paris(aware)) == "jeudi 15 janvier à 15h"
    assert fr_datetime(naive) == "jeudi 15 janvier à 14h"
    assert fr_datetime(naive, "H'h'mm") == "14h"  # the pattern is part of the key


def test_kept_texts_tell_apart_the_two_times_of_a_repeated_hour(babel_app):
    """1h30 happens twice in New York on 1 November 2026 (fold 0, then 1): Python finds
    the two equal, yet they are 6h30 and 7h30 in Paris, in either order."""
    first = datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    second = first.replace(fold=1)
    for a, b in ((first, second), (second, first)):
        _fr_datetime.cache_clear()
        assert {fr_datetime(a), fr_datetime(b)} == {
            "dimanche 1 novembre à 6h30",
            "dimanche 1 novembre à 7h30",
        }


def test_fr_date_says_the_paris_day(babel_app):
    # 23h30 UTC on 30 November is already 1 December in Paris: "1er".
    assert fr_date(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "d MMMM y") == "1er décembre 2026"
    assert fr_date(datetime(2026, 11, 30, 23, 30), "d MMMM y") == "30 novembre 2026"
    assert fr_date(date(2026, 12, 1), "d MMMM y") == "1er décembre 2026"


PATTERNS_OF_THE_TEMPLATES = [
    "EEEE d MMMM 'à' H'h'mm",
    "EEEE 'à' H'h'mm",
    "EEEE d MMMM 'de' H'h'mm",
    "EEEE d MMMM y H'h'mm",
    "H'h'mm",
    "d MMMM 'à' H'h'mm",
    "d MMMM y 'à' H'h'mm",
    "d MMMM y H'h'mm",
    "d MMMM y",
    "'l''heure' H'h'mm",
]


@pytest.mark.parametrize("pattern", PATTERNS_OF_THE_TEMPLATES)
def test_the_fast_patterns_print_what_babel_prints(babel_app, pattern):
    """fr_datetime formats the templates' patterns itself (Babel was a tenth of a result
    page): the same text as Babel's, every hour of a year, both DST changes included."""
    assert _simple_pattern(pattern) is not None
    start = datetime(2026, 1, 1, 0, 7, tzinfo=UTC)
    for hour in range(0, 366 * 24, 5):
        value = start + timedelta(hours=hour, minutes=hour % 60)
        expected = format_datetime(in_paris(value), pattern).replace("h00", "h")
        assert fr_datetime(value, pattern) == expected, value


def test_other_patterns_are_left_to_babel(babel_app):
    assert _simple_pattern("EEE d MMM") is None
    assert fr_datetime(datetime(2026, 1, 15, 14, 0), "EEE d MMM") == "jeu. 15 janv."


@pytest.mark.parametrize(
    "pattern", ["d MMMM y", "EEEE d MMMM y", "EEEE d MMMM", "d/MM/y", "MMMM y"]
)
def test_fr_date_prints_what_babel_prints(babel_app, pattern):
    """fr_date writes the day patterns of the templates itself: Babel's text (with "1er"),
    every day of two years, dates and Paris datetimes alike; other patterns go to Babel."""
    from flask_babel import format_date

    from proxiservices.web import _date_pattern

    assert _date_pattern(pattern) == (pattern != "d/MM/y")  # MM: Babel's
    day = date(2026, 1, 1)
    for number in range(2 * 366):
        value = day + timedelta(days=number)
        wanted = pattern.replace("d MMMM", "d'er' MMMM", 1) if value.day == 1 else pattern
        expected = format_date(value, wanted)
        assert fr_date(value, pattern) == expected
        noon = datetime(value.year, value.month, value.day, 12, 0)
        assert fr_date(noon, pattern) == expected

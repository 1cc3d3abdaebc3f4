"""The dashboard's arithmetic: periods, buckets, small-count suppression, percentiles."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from proxiservices.domain import statistics as st

TODAY = date(2026, 5, 14)


@pytest.mark.parametrize(
    ("kind", "start", "end", "previous"),
    [
        (None, date(2026, 4, 15), date(2026, 5, 14), (date(2026, 3, 16), date(2026, 4, 14))),
        ("30j", date(2026, 4, 15), date(2026, 5, 14), (date(2026, 3, 16), date(2026, 4, 14))),
        ("mois", date(2026, 4, 1), date(2026, 4, 30), (date(2026, 3, 1), date(2026, 3, 31))),
        (
            "trimestre",
            date(2026, 1, 1),
            date(2026, 3, 31),
            (date(2025, 10, 1), date(2025, 12, 31)),
        ),
        ("annee", date(2025, 5, 15), date(2026, 5, 14), (date(2024, 5, 15), date(2025, 5, 14))),
    ],
)
def test_named_periods_and_the_period_before(kind, start, end, previous):
    period = st.parse_period(kind, None, None, TODAY)
    assert (period.start, period.end) == (start, end)
    assert (period.previous().start, period.previous().end) == previous


def test_last_month_in_january_is_december_and_its_previous_november():
    period = st.parse_period("mois", None, None, date(2026, 1, 10))
    assert (period.start, period.end) == (date(2025, 12, 1), date(2025, 12, 31))
    assert (period.previous().start, period.previous().end) == (
        date(2025, 11, 1),
        date(2025, 11, 30),
    )


def test_custom_dates_and_the_same_length_before():
    period = st.parse_period("perso", "2026-03-01", "2026-03-31", TODAY)
    assert period.days == 31
    before = period.previous()
    assert (before.start, before.end) == (date(2026, 1, 29), date(2026, 2, 28))
    assert period.label == "du 1er mars 2026 au 31 mars 2026"
    # Dates alone mean custom dates.
    assert st.parse_period(None, "2026-03-01", "2026-03-02", TODAY).kind == st.CUSTOM


@pytest.mark.parametrize(
    ("kind", "start", "end", "message"),
    [
        ("semaine", None, None, "inconnue"),
        ("perso", "", "2026-03-01", "indiquez la date de début"),
        ("perso", "2026-02-30", "2026-03-01", "invalide"),
        ("perso", "01/03/2026", "2026-03-01", "AAAA-MM-JJ"),
        ("perso", "2026-03-02", "2026-03-01", "antérieure"),
        ("perso", "2020-01-01", "2023-01-10", "3 ans"),
        ("perso", "1900-01-01", "1900-02-01", "2000 et 2100"),
    ],
)
def test_bad_periods_are_explained(kind, start, end, message):
    with pytest.raises(st.PeriodError, match=message):
        st.parse_period(kind, start, end, TODAY)


def test_three_years_is_the_longest_custom_period():
    assert st.parse_period("perso", "2023-01-01", "2025-12-31", TODAY).days == 1096


def test_weeks_are_cut_at_the_periods_ends():
    period = st.Period(st.CUSTOM, date(2026, 3, 4), date(2026, 3, 18))  # Wednesday..Wednesday
    buckets = st.trend_buckets(period)
    assert [(b.start, b.end) for b in buckets] == [
        (date(2026, 3, 4), date(2026, 3, 8)),
        (date(2026, 3, 9), date(2026, 3, 15)),
        (date(2026, 3, 16), date(2026, 3, 18)),
    ]
    assert buckets[0].label == "sem. du 4 mars"
    daily = {date(2026, 3, 8): 2, date(2026, 3, 9): 5, date(2026, 3, 18): 1}
    assert st.bucket_counts(buckets, daily) == [2, 5, 1]


def test_long_periods_are_counted_by_month():
    buckets = st.trend_buckets(st.Period(st.CUSTOM, date(2025, 11, 15), date(2026, 6, 2)))
    assert [b.label for b in buckets][:2] == ["novembre 2025", "décembre 2025"]
    assert buckets[0].start == date(2025, 11, 15) and buckets[-1].end == date(2026, 6, 2)
    assert len(buckets) == 8


@pytest.mark.parametrize(
    ("values", "hidden", "total_hidden"),
    [
        # Nothing small: nothing hidden; 0 is shown.
        ([12, 7, 0], {}, False),
        # One small count and a shown total: the next smallest goes too.
        ([12, 7, 3], {2: st.SMALL, 1: st.SECONDARY}, False),
        # Two small counts that cannot be told apart: 3 + 4 = 7, each is 3 or 4.
        ([20, 3, 4], {1: st.SMALL, 2: st.SMALL}, False),
        # Two 1s: their sum 2 gives both away; a third cell is hidden.
        ([20, 9, 1, 1], {2: st.SMALL, 3: st.SMALL, 1: st.SECONDARY}, False),
        # Hiding 5 next to 1 leaves 1 = 6 - 5: a further cell must go.
        ([1, 5, 8], {0: st.SMALL, 1: st.SECONDARY, 2: st.SECONDARY}, False),
        # A zero is no protection: the smallest non-zero shown count is chosen.
        ([0, 2, 9, 30], {1: st.SMALL, 2: st.SECONDARY}, False),
        # Only one non-zero cell: nothing else to hide, the small total is hidden.
        ([3, 0, 0], {0: st.SMALL}, True),
        # A single big cell beside a small one: both hidden, the total stays.
        ([40, 2], {1: st.SMALL, 0: st.SECONDARY}, False),
        ([], {}, False),
    ],
)
def test_suppression(values, hidden, total_hidden):
    outcome = st.suppress(values)
    assert outcome.hidden == hidden
    assert outcome.total_hidden == total_hidden


def test_what_remains_shown_never_gives_a_small_count_away():
    """Brute force over small tables: for every hidden small cell, at least two values are
    compatible with the shown cells, the shown total and the kinds of hidden cells."""
    import itertools

    for values in itertools.product([0, 1, 2, 4, 5, 7], repeat=3):
        outcome = st.suppress(list(values))
        if outcome.total_hidden:
            continue
        shown_sum = sum(v for i, v in enumerate(values) if i not in outcome.hidden)
        hidden_sum = sum(values) - shown_sum
        for i, kind in outcome.hidden.items():
            if kind != st.SMALL:
                continue
            others = [j for j in outcome.hidden if j != i]
            possible = set()
            for x in range(1, 5):
                rest = hidden_sum - x
                low = sum(1 if outcome.hidden[j] == st.SMALL else 5 for j in others)
                high = sum(4 if outcome.hidden[j] == st.SMALL else rest for j in others)
                if (others and low <= rest <= high) or (not others and rest == 0):
                    possible.add(x)
            assert len(possible) >= 2, (values, outcome)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7], 0.8, 7),
        ([1, 2, 3, 4, 5], 0.5, 3),
        ([1, 2, 3, 4, 5], 0.8, 4.2),
        ([10, 1, 4, 2], 0.5, 3),
    ],
)
def test_percentiles_interpolate_like_percentile_cont(values, q, expected):
    assert st.percentile(values, q) == (None if expected is None else pytest.approx(expected))


def test_changes_and_their_french_text():
    assert st.format_change(st.change(12, 10)) == "+2 (+20\u202f%)"
    assert st.format_change(st.change(5, 10)) == "−5 (−50\u202f%)"
    assert st.format_change(st.change(5, 0)) == "+5"
    assert st.format_change(st.change(None, 10)) == "—"
    assert st.format_count(1234567) == "1\u202f234\u202f567"
    assert st.format_duration(3 * 3600) == "3\u202fh"
    assert st.format_duration(3.5 * 86400) == "3,5\u202fj"


def test_quintiles_shade_shown_counts_by_rank():
    assert st.quintiles([None, 0, 5, 10, 20, 40, 80]) == [None, None, 1, 2, 3, 4, 5]
    assert st.quintiles([0, None]) == [None, None]


def test_bars_scale_to_a_round_maximum_and_hidden_bars_are_empty():
    chart = st.horizontal_bars([("Logement", 40, "40"), ("Santé", None, "< 5")])
    assert st.nice_maximum(40) == 50
    assert chart.bars[0].width == pytest.approx((640 - 240 - 70) * 40 / 50, abs=0.1)
    assert chart.bars[1].width == 0
    assert chart.ticks[-1][1] == "50"
    columns = st.columns([("a", 10, "10"), ("b", 5, "5")], width=400, height=200)
    assert columns.bars[0].height == pytest.approx(2 * columns.bars[1].height, abs=0.2)
    assert columns.bars[0].y + columns.bars[0].height == pytest.approx(columns.baseline)


# --- reading a period from monthly and daily counts ----------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months", "days"),
    [
        ("2025-03-01", "2025-03-31", ["2025-03-01"], []),
        ("2025-03-02", "2025-03-31", [], [("2025-03-02", "2025-03-31")]),
        ("2025-03-10", "2025-03-20", [], [("2025-03-10", "2025-03-20")]),
        (
            "2024-11-23",
            "2025-11-22",
            [f"{y}-{m:02d}-01" for y, m in [(2024, 12), *((2025, m) for m in range(1, 11))]],
            [("2024-11-23", "2024-11-30"), ("2025-11-01", "2025-11-22")],
        ),
        ("2024-02-01", "2024-02-29", ["2024-02-01"], []),  # leap February
        (
            "2024-01-15",
            "2024-03-14",
            ["2024-02-01"],
            [("2024-01-15", "2024-01-31"), ("2024-03-01", "2024-03-14")],
        ),
        ("2025-03-05", "2025-03-04", [], []),
    ],
)
def test_cover_counts_every_day_once(start, end, months, days):
    d = date.fromisoformat
    got = st.cover(d(start), d(end))
    assert got.months == tuple(d(m) for m in months)
    assert got.days == tuple((d(a), d(b)) for a, b in days)


def test_cover_of_any_period_adds_up_to_its_days():
    first = date(2023, 12, 20)
    for offset in range(0, 70, 3):
        for length in (1, 15, 31, 45, 100, 365, 400):
            start = first + timedelta(days=offset)
            end = start + timedelta(days=length - 1)
            got = st.cover(start, end)
            covered = set()
            for month in got.months:
                day = month
                while day.month == month.month:
                    covered.add(day)
                    day += timedelta(days=1)
            for a, b in got.days:
                covered.update(a + timedelta(days=i) for i in range((b - a).days + 1))
            total = sum((b - a).days + 1 for a, b in got.days) + sum(
                (st._add_months(m, 1) - m).days for m in got.months
            )
            assert total == length == len(covered)
            assert min(covered) == start and max(covered) == end

"""The elected members' dashboard: aggregates of the anonymous events for one territory and
period (every count computed by the database, a constant number of queries), the same
figures with small counts hidden, as tables, charts and CSV."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select, true, union_all

from proxiservices.domain import lifecycle, roles
from proxiservices.domain import statistics as st
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import (
    AppointmentRequest,
    Body,
    Commune,
    DashboardShare,
    Need,
    Territory,
    Theme,
    UnansweredSearch,
    User,
)
from proxiservices.models.activity import (
    ALL_AREAS,
    API,
    DAY,
    DESK,
    MONTH,
    PUBLIC,
    REQUEST,
    ActivityCount,
    ActivityEvent,
)
from proxiservices.services.activity import DESK_KEY, OUTCOMES
from proxiservices.services.search import AGGREGATE_MINIMUM, UNANSWERED_DAYS

ALL = "all"
COMMUNE = "commune"
EPCI = "epci"
DEPARTEMENT = "departement"

CHANNEL_LABELS = {
    DESK: "Accueil (agent connecté)",
    PUBLIC: "Site public (sans connexion)",
    API: "API (autres outils)",
}
FIRST_RESPONSES = (
    lifecycle.IN_PROGRESS,
    lifecycle.SCHEDULED,
    lifecycle.REFUSED,
    lifecycle.REDIRECTED,
    lifecycle.CLOSED,
)
ENDS = (
    lifecycle.CLOSED,
    lifecycle.REFUSED,
    lifecycle.REDIRECTED,
    lifecycle.EXPIRED,
    lifecycle.CANCELLED,
)
TOP_SEARCHES = 20
# Beyond this many needs or communes met, reading them all beats sending thousands of ids.
MANY_IDS = 300
# The page lists each theme's most frequent needs and sums the others in one row (the
# catalogue alone has about 3,000 fiches); the CSV export lists them all.
NEEDS_SHOWN_PER_THEME = 15


class DashboardError(ValueError):
    """A territory or request the dashboard cannot answer; the message is shown as is."""


# --- territory -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    code: str | None  # None: everything (administrators)
    kind: str
    name: str

    @property
    def label(self) -> str:
        if self.kind == COMMUNE:
            return f"Commune de {self.name}"
        return self.name

    @property
    def slug(self) -> str:
        return self.code or "tout"

    @property
    def area_code(self) -> str:
        """Its code in the visit counts."""
        return self.code or ALL_AREAS


EVERYTHING = Scope(None, ALL, "Tout le territoire")


def resolve_scope(code: str | None) -> Scope:
    """The territory of a code: a commune (INSEE), an EPCI (SIREN) or a département."""
    code = (code or "").strip()
    if not code:
        return EVERYTHING
    if len(code) > 20 or not code.isalnum():
        raise DashboardError(f"Territoire inconnu : « {code[:20]} ».")
    commune = db.session.get(Commune, code)
    if commune is not None:
        return Scope(code, COMMUNE, commune.name)
    territory = db.session.get(Territory, code)
    if territory is None or territory.kind not in (EPCI, DEPARTEMENT):
        raise DashboardError(
            f"Territoire inconnu : « {code[:20]} ». Indiquez le code Insee d'une commune, "
            "le SIREN d'une intercommunalité ou le code du département."
        )
    return Scope(code, territory.kind, territory.name)


def list_territories() -> list[tuple[str, str]]:
    """(code, label) of the départements and EPCIs, for an administrator's choice."""
    stmt = select(Territory.code, Territory.kind, Territory.name).order_by(
        Territory.kind.desc(), Territory.name
    )
    return [
        (code, f"{name} ({'département' if kind == DEPARTEMENT else 'intercommunalité'})")
        for code, kind, name in db.session.execute(stmt)
    ]


def _in_scope(column, scope: Scope):
    if scope.kind == ALL:
        return true()
    if scope.kind == COMMUNE:
        return column == scope.code
    key = Commune.epci_code if scope.kind == EPCI else Commune.departement_code
    return column.in_(select(Commune.insee).where(key == scope.code))


# --- tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    number: float | None = None  # what a spreadsheet reads; None: the text (hidden, dash)
    hidden: str | None = None  # statistics.SMALL or SECONDARY
    shade: int | None = None  # 1-5, the choropleth-like list of communes


@dataclass
class Row:
    label: str
    cells: list[Cell]
    group: str | None = None  # the theme of a need row


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    total: Row | None = None
    note: str | None = None


HIDDEN_TEXT = {st.SMALL: "< 5", st.SECONDARY: "masqué"}
DASH = Cell("—")


def _count_cell(value: int, hidden: str | None = None) -> Cell:
    if hidden:
        return Cell(HIDDEN_TEXT[hidden], None, hidden)
    return Cell(st.format_count(value), value)


def _column(
    values: Sequence[int], force_hidden: Sequence[bool] = (), with_total: bool = True
) -> tuple[list[Cell], Cell]:
    """A column of counts and its total, small counts hidden (and what would reveal them).
    `force_hidden` hides cells whose group total is hidden elsewhere; without a total
    shown, only the small counts are hidden."""
    outcome = st.suppress(values)
    hidden = dict(outcome.hidden)
    if not with_total:
        hidden = {i: kind for i, kind in hidden.items() if kind == st.SMALL}
    for index, forced in enumerate(force_hidden):
        if forced and values[index] and index not in hidden:
            hidden[index] = st.SECONDARY
    cells = [_count_cell(v, hidden.get(i)) for i, v in enumerate(values)]
    total = sum(values)
    total_cell = _count_cell(total, st.SMALL if outcome.total_hidden else None)
    return cells, total_cell


def _change_cell(current: Cell, previous: Cell) -> Cell:
    now = None if current.hidden else current.number
    before = None if previous.hidden else previous.number
    delta = st.change(None if now is None else int(now), None if before is None else int(before))
    if delta is None or delta[1] is None:
        return Cell(st.format_change(delta))
    return Cell(st.format_change(delta), round(delta[1], 1))


def _compared_table(
    key: str,
    title: str,
    label_header: str,
    labels: Sequence[str],
    current: Sequence[int],
    previous: Sequence[int],
    *,
    with_total: bool = True,
    note: str | None = None,
) -> Table:
    now_cells, now_total = _column(current, with_total=with_total)
    before_cells, before_total = _column(previous, with_total=with_total)
    table = Table(key, title, [label_header, "Période", "Période précédente", "Évolution"])
    for index, label in enumerate(labels):
        row = [now_cells[index], before_cells[index]]
        table.rows.append(Row(label, [*row, _change_cell(*row)]))
    if with_total:
        table.total = Row("Total", [now_total, before_total, _change_cell(now_total, before_total)])
    table.note = note
    return table


# --- the dashboard -------------------------------------------------------------------------


@dataclass
class Dashboard:
    scope: Scope
    period: st.Period
    previous: st.Period
    at: datetime
    tables: dict[str, Table]
    autonomy: Cell  # share of the visits with an outcome that ended "autonome"
    autonomy_base: Cell
    desk_visits: Cell
    theme_chart: st.Chart
    trend_chart: st.Chart
    trend_unit: str


def _utc_bounds(period: st.Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.start, time(), PARIS)
    end = datetime.combine(period.end + timedelta(days=1), time(), PARIS)
    return start, end


def _counts_of_periods(label, where, period: st.Period, previous: st.Period):
    """(label, current, before) sums of the counts of both periods: each period read as its
    whole months from the monthly counts and its loose days from the daily ones, one index
    range each (an OR of ranges would make PostgreSQL scan the whole area)."""
    parts = []
    for part in (period, previous):
        cover = st.cover(part.start, part.end)
        columns = (label, ActivityCount.day, ActivityCount.n)
        for first, last in cover.days:
            parts.append(
                select(*columns).where(
                    where, ActivityCount.grain == DAY, ActivityCount.day.between(first, last)
                )
            )
        if cover.months:
            parts.append(
                select(*columns).where(
                    where, ActivityCount.grain == MONTH, ActivityCount.day.in_(cover.months)
                )
            )
    rows = union_all(*parts).subquery()
    return select(
        rows.c[0],
        func.sum(case((rows.c.day >= period.start, rows.c.n), else_=0)),
        func.sum(case((rows.c.day < period.start, rows.c.n), else_=0)),
    ).group_by(rows.c[0])


def _parse_id(text: str) -> int | None:
    return None if text == "-" else int(text)


def build_dashboard(
    scope: Scope,
    period: st.Period,
    at: datetime,
    reminder_days: tuple[int, ...],
    *,
    all_needs: bool = False,
) -> Dashboard:
    """Every figure of the dashboard, small counts hidden; a constant number of queries.
    Visits are read from the daily and monthly counts, requests from their events."""
    previous = period.previous()
    # 1. Visits by channel, and desk visits by theme, need and outcome, both periods.
    grouped = db.session.execute(
        _counts_of_periods(
            ActivityCount.key, ActivityCount.area_code == scope.area_code, period, previous
        )
    ).all()
    tables: dict[str, Table] = {}
    by_theme: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    by_need: dict[tuple[int | None, int | None], list[int]] = defaultdict(lambda: [0, 0])
    by_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_outcome: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    by_commune: dict[str, tuple[int, int]] = {}
    for key, now, then in grouped:
        kind, _, rest = key.partition(":")
        if kind == "channel":
            by_channel[rest][0] += now
            by_channel[rest][1] += then
        elif kind == "outcome":
            outcome = None if rest == "-" else rest
            by_outcome[outcome][0] += now
            by_outcome[outcome][1] += then
        elif kind == "commune":
            by_commune[rest] = (now, then)
        elif kind == "need":
            theme_text, _, need_text = rest.partition(":")
            theme_id, need_id = _parse_id(theme_text), _parse_id(need_text)
            for target, target_key in ((by_theme, theme_id), (by_need, (theme_id, need_id))):
                target[target_key][0] += now
                target[target_key][1] += then

    # 2. Labels of the themes and needs met (one query each, whatever the data size).
    need_ids = {n for _, n in by_need if n is not None}
    titles = select(Need.id, Need.title)
    if len(need_ids) <= MANY_IDS:
        titles = titles.where(Need.id.in_(need_ids))
    need_titles = dict(db.session.execute(titles).all())
    theme_titles = dict(db.session.execute(select(Theme.id, Theme.title)).all())

    def theme_label(theme_id: int | None) -> str:
        return theme_titles.get(theme_id, "Sans thème (fiches du catalogue)")

    themes = sorted(by_theme, key=lambda t: (-by_theme[t][0], theme_label(t)))
    tables["themes"] = _compared_table(
        "themes",
        "Visites à l'accueil par thème",
        "Thème",
        [theme_label(t) for t in themes],
        [by_theme[t][0] for t in themes],
        [by_theme[t][1] for t in themes],
    )
    hidden_themes = {
        (t, column): tables["themes"].rows[i].cells[column].hidden is not None
        for i, t in enumerate(themes)
        for column in (0, 1)
    }
    tables["besoins"] = _needs_table(
        themes,
        by_need,
        need_titles,
        theme_label,
        hidden_themes,
        None if all_needs else NEEDS_SHOWN_PER_THEME,
    )

    # 3. By commune (the resident's), both periods.
    tables["communes"] = _communes_table(scope, by_commune)

    # 4. Trend: desk visits per Paris day of the period, summed into weeks or months.
    daily = dict(
        db.session.execute(
            select(ActivityCount.day, ActivityCount.n).where(
                ActivityCount.area_code == scope.area_code,
                ActivityCount.grain == DAY,
                ActivityCount.key == DESK_KEY,
                ActivityCount.day.between(period.start, period.end),
            )
        ).all()
    )
    buckets = st.trend_buckets(period)
    counts = st.bucket_counts(buckets, daily)
    trend_cells, trend_total = _column(counts)
    unit = "semaine" if period.days <= st.WEEKLY_UP_TO_DAYS else "mois"
    tables["tendance"] = Table(
        "tendance",
        f"Visites à l'accueil par {unit}",
        ["Période" if unit == "mois" else "Semaine", "Visites"],
        [Row(b.label, [c]) for b, c in zip(buckets, trend_cells, strict=True)],
        Row("Total", [trend_total]),
    )

    # 5. Outcomes and the share of autonomous residents.
    keys = [*OUTCOMES, None]
    tables["issues"] = _compared_table(
        "issues",
        "Issue des visites à l'accueil",
        "Issue",
        [OUTCOMES.get(k, "Non renseignée") if k else "Non renseignée" for k in keys],
        [by_outcome[k][0] for k in keys],
        [by_outcome[k][1] for k in keys],
    )
    autonomy, base = _autonomy(tables["issues"], [by_outcome[k][0] for k in keys])

    # 6. Channels: desk, public pages, API.
    channel_keys = list(CHANNEL_LABELS)
    tables["canaux"] = _compared_table(
        "canaux",
        "Résultats d'orientation consultés, par canal",
        "Canal",
        [CHANNEL_LABELS[k] for k in channel_keys],
        [by_channel[k][0] for k in channel_keys],
        [by_channel[k][1] for k in channel_keys],
        # No total: with the desk visits shown elsewhere it would give the small ones away.
        with_total=False,
        note="Les autres tableaux ne comptent que les visites à l'accueil.",
    )

    # 7. Requests per partner body.
    tables["organismes"] = _bodies_table(scope, period, at, reminder_days)

    # 8. Searches without an answer, made for a resident of the territory.
    tables["recherches"] = _searches_table(scope, period)

    desk_total = tables["themes"].total.cells[0]
    theme_items = [
        (
            row.label,
            None if row.cells[0].hidden else int(row.cells[0].number or 0),
            row.cells[0].text,
        )
        for row in tables["themes"].rows[:12]
    ]
    trend_items = [
        (
            row.label,
            None if row.cells[0].hidden else int(row.cells[0].number or 0),
            row.cells[0].text,
        )
        for row in tables["tendance"].rows
    ]
    return Dashboard(
        scope=scope,
        period=period,
        previous=previous,
        at=at,
        tables=tables,
        autonomy=autonomy,
        autonomy_base=base,
        desk_visits=desk_total,
        theme_chart=st.horizontal_bars(theme_items),
        trend_chart=st.columns(trend_items),
        trend_unit=unit,
    )


def _needs_table(
    themes, by_need, need_titles, theme_label, hidden_themes, per_theme: int | None
) -> Table:
    table = Table(
        "besoins",
        "Visites à l'accueil par besoin",
        ["Thème", "Besoin", "Période", "Période précédente", "Évolution"],
    )
    by_theme: dict[int | None, list[int | None]] = defaultdict(list)
    for theme_id, need_id in by_need:
        by_theme[theme_id].append(need_id)
    summed = False
    for theme_id in themes:
        needs = sorted(
            by_theme[theme_id],
            key=lambda n: (-by_need[(theme_id, n)][0], need_titles.get(n, "")),
        )
        labels = [need_titles.get(n, "Besoin retiré du catalogue") for n in needs]
        counts = [by_need[(theme_id, n)] for n in needs]
        if per_theme is not None and len(needs) > per_theme + 1:
            rest = counts[per_theme:]
            labels = [*labels[:per_theme], f"Autres besoins du thème ({len(rest)})"]
            counts = [*counts[:per_theme], [sum(c[0] for c in rest), sum(c[1] for c in rest)]]
            summed = True
        # The theme's subtotal is in the themes table: it is the group's total here.
        columns = []
        for column in (0, 1):
            values = [c[column] for c in counts]
            forced = [hidden_themes[(theme_id, column)]] * len(values)
            columns.append(_column(values, forced)[0])
        for index, label in enumerate(labels):
            cells = [columns[0][index], columns[1][index]]
            table.rows.append(Row(label, [*cells, _change_cell(*cells)], theme_label(theme_id)))
    if summed:
        table.note = (
            f"Les {NEEDS_SHOWN_PER_THEME} besoins les plus fréquents de chaque thème ; "
            "le fichier CSV les donne tous."
        )
    return table


def _communes_table(scope: Scope, by_commune: dict[str, tuple[int, int]]) -> Table:
    """Desk visits by the resident's commune, read with the territory's other figures."""
    names = select(Commune.insee, Commune.name)
    # A small territory lists every commune, those without a visit too; a large one, the
    # communes with visits (read whole beyond a few hundred rather than sent as ids).
    if scope.kind in (COMMUNE, EPCI) or len(by_commune) > MANY_IDS:
        names = names.where(_in_scope(Commune.insee, scope))
    else:
        names = names.where(Commune.insee.in_(by_commune))
    counts = {
        insee: (name, *by_commune.get(insee, (0, 0)))
        for insee, name in db.session.execute(names)
        if insee in by_commune or scope.kind in (COMMUNE, EPCI)
    }
    order = sorted(counts, key=lambda c: (-counts[c][1], counts[c][0]))
    table = _compared_table(
        "communes",
        "Visites à l'accueil par commune de l'usager",
        "Commune",
        [f"{counts[c][0]} ({c})" for c in order],
        [counts[c][1] for c in order],
        [counts[c][2] for c in order],
    )
    shades = st.quintiles(
        [None if r.cells[0].hidden else int(r.cells[0].number or 0) for r in table.rows]
    )
    for row, shade in zip(table.rows, shades, strict=True):
        first = row.cells[0]
        row.cells[0] = Cell(first.text, first.number, first.hidden, shade)
    return table


def _autonomy(issues: Table, current: list[int]) -> tuple[Cell, Cell]:
    """Autonomous visits among those given an outcome; hidden with its count."""
    with_outcome = sum(current[:-1])
    autonomous_cell = issues.rows[list(OUTCOMES).index("autonomous")].cells[0]
    base = _count_cell(with_outcome, st.SMALL if st.is_small(with_outcome) else None)
    if autonomous_cell.hidden or base.hidden or with_outcome == 0:
        return Cell("non communiquée" if with_outcome else "—"), base
    share = current[list(OUTCOMES).index("autonomous")] * 100 / with_outcome
    return Cell(f"{st.format_decimal(share)}{st.NARROW_NBSP}%", round(share, 1)), base


def _bodies_table(
    scope: Scope, period: st.Period, at: datetime, reminder_days: tuple[int, ...]
) -> Table:
    in_period = and_(
        ActivityEvent.kind == REQUEST,
        ActivityEvent.occurred_on >= period.start,
        ActivityEvent.occurred_on <= period.end,
        _in_scope(ActivityEvent.commune_insee, scope),
    )
    first_response = and_(
        ActivityEvent.from_status.in_(lifecycle.UNANSWERED),
        ActivityEvent.to_status.in_(FIRST_RESPONSES),
    )
    ended = ActivityEvent.to_status.in_(ENDS)
    if db.session.get_bind().dialect.name == "postgresql":
        received, quantiles = _request_figures_in_sql(in_period, first_response, ended)
    else:
        received, quantiles = _request_figures_in_python(in_period, first_response, ended)
    today = at.astimezone(PARIS).date()
    overdue_before = datetime.combine(today - timedelta(days=reminder_days[0] - 1), time(), PARIS)
    open_rows = db.session.execute(
        select(
            AppointmentRequest.body_id,
            func.count(),
            func.sum(
                case(
                    (
                        and_(
                            AppointmentRequest.status.in_(lifecycle.UNANSWERED),
                            AppointmentRequest.created_at < overdue_before,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .where(
            AppointmentRequest.status.in_(lifecycle.OPEN),
            _in_scope(AppointmentRequest.commune_insee, scope),
        )
        .group_by(AppointmentRequest.body_id)
    ).all()
    backlog = {body_id: (count, late) for body_id, count, late in open_rows}
    ids = {b for b in (*received, *backlog) if b is not None}
    names = dict(db.session.execute(select(Body.id, Body.name).where(Body.id.in_(ids))).all())
    order = sorted(ids, key=lambda b: (-received.get(b, 0), names.get(b, "")))
    counts, count_total = _column([received.get(b, 0) for b in order])
    opened, open_total = _column([backlog.get(b, (0, 0))[0] for b in order])
    late, late_total = _column([backlog.get(b, (0, 0))[1] for b in order])
    table = Table(
        "organismes",
        "Demandes de mise en relation par organisme partenaire",
        [
            "Organisme",
            "Demandes reçues",
            "1re réponse : médiane",
            "1re réponse : 80 %",
            "Clôture : médiane",
            "Clôture : 80 %",
            "En cours aujourd'hui",
            "Dont en retard",
        ],
        note=(
            "Délais comptés depuis l'envoi de la demande, pour les réponses et clôtures de la "
            f"période ; affichés à partir de {st.MINIMUM} demandes et {st.MINIMUM} délais. "
            f"« En retard » : sans réponse depuis {reminder_days[0]} jours ou plus."
        ),
    )
    for index, body_id in enumerate(order):
        # Durations need 5 requests of the body (hidden or not: they give no count away).
        shown = received.get(body_id, 0) >= st.MINIMUM
        figures = []
        for key in ("first", "end"):
            count, median, eightieth = quantiles.get((body_id, key), (0, None, None))
            for seconds in (median, eightieth):
                if shown and count >= st.MINIMUM and seconds is not None:
                    figures.append(Cell(st.format_duration(seconds), round(seconds / 86400, 2)))
                else:
                    figures.append(DASH)
        table.rows.append(
            Row(
                names.get(body_id, "Organisme retiré"),
                [counts[index], *figures, opened[index], late[index]],
            )
        )
    table.total = Row("Total", [count_total, DASH, DASH, DASH, DASH, open_total, late_total])
    return table


Quantiles = dict[tuple[int | None, str], tuple[int, float | None, float | None]]


def _request_figures_in_sql(in_period, first_response, ended) -> tuple[dict, Quantiles]:
    """Requests received, and the count, median and 80th percentile of the times to first
    response and to closure per body, computed by PostgreSQL in one scan."""
    seconds = ActivityEvent.elapsed_seconds
    rows = db.session.execute(
        select(
            ActivityEvent.body_id,
            func.count().filter(ActivityEvent.from_status.is_(None)),
            *(
                column
                for condition in (first_response, ended)
                for column in (
                    func.count(seconds).filter(condition),
                    func.percentile_cont(0.5).within_group(seconds).filter(condition),
                    func.percentile_cont(0.8).within_group(seconds).filter(condition),
                )
            ),
        )
        .where(in_period, ActivityEvent.from_status.is_(None) | first_response | ended)
        .group_by(ActivityEvent.body_id)
    ).all()
    received = {row[0]: row[1] for row in rows if row[1]}
    quantiles: Quantiles = {}
    for body_id, _, *figures in rows:
        quantiles[(body_id, "first")] = tuple(figures[:3])
        quantiles[(body_id, "end")] = tuple(figures[3:])
    return received, quantiles


def _request_figures_in_python(in_period, first_response, ended) -> tuple[dict, Quantiles]:
    """The same figures where the database has no percentile function (SQLite)."""
    received = dict(
        db.session.execute(
            select(ActivityEvent.body_id, func.count())
            .where(in_period, ActivityEvent.from_status.is_(None))
            .group_by(ActivityEvent.body_id)
        ).all()
    )
    durations: dict[tuple[int, str], list[int]] = defaultdict(list)
    for body_id, is_first, is_end, seconds in db.session.execute(
        select(
            ActivityEvent.body_id,
            case((first_response, 1), else_=0),
            case((ended, 1), else_=0),
            ActivityEvent.elapsed_seconds,
        ).where(in_period, first_response | ended)
    ):
        if is_first:
            durations[(body_id, "first")].append(seconds)
        if is_end:
            durations[(body_id, "end")].append(seconds)
    quantiles: Quantiles = {
        key: (len(values), st.percentile(values, 0.5), st.percentile(values, 0.8))
        for key, values in durations.items()
    }
    return received, quantiles


def _searches_table(scope: Scope, period: st.Period) -> Table:
    start, end = _utc_bounds(period)
    within = and_(UnansweredSearch.created_at >= start, UnansweredSearch.created_at < end)
    if scope.kind != ALL:
        within = and_(within, _in_scope(UnansweredSearch.commune_insee, scope))
    times = func.count()
    top = db.session.execute(
        select(UnansweredSearch.folded, times)
        .where(within)
        .group_by(UnansweredSearch.folded)
        .having(times >= AGGREGATE_MINIMUM)
        .order_by(times.desc(), UnansweredSearch.folded)
        .limit(TOP_SEARCHES)
    ).all()
    total = db.session.scalar(select(func.count()).select_from(UnansweredSearch).where(within))
    table = Table(
        "recherches",
        "Recherches les plus fréquentes restées sans réponse",
        ["Recherche (mots retenus)", "Nombre"],
        [Row(text, [_count_cell(n)]) for text, n in top],
        Row("Toutes les recherches sans réponse", [_count_cell(total or 0)]),
        note=(
            f"Seules les recherches faites au moins {AGGREGATE_MINIMUM} fois sont citées ; "
            f"elles sont effacées après {UNANSWERED_DAYS} jours."
            + (
                ""
                if scope.kind == ALL
                else " Ne sont comptées que celles faites après le choix de la commune de l'usager."
            )
        ),
    )
    return table


# --- CSV -----------------------------------------------------------------------------------


def _csv_value(cell: Cell) -> str:
    if cell.number is None:
        return cell.text.replace(st.NARROW_NBSP, " ")
    if float(cell.number).is_integer():
        return str(int(cell.number))
    return str(cell.number).replace(".", ",")


def table_csv(table: Table) -> str:
    """The table as a French spreadsheet opens it: UTF-8 with BOM, ";" between cells,
    decimal comma, hidden cells as on the page."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    grouped = any(row.group for row in table.rows)
    writer.writerow(table.headers)
    for row in [*table.rows, *([table.total] if table.total else [])]:
        first = [row.group or "", row.label] if grouped else [row.label]
        writer.writerow([*first, *(_csv_value(c) for c in row.cells)])
    return "\ufeff" + out.getvalue()


def csv_filename(dashboard: Dashboard, key: str) -> str:
    return f"proxiservices-{key}-{dashboard.scope.slug}-{dashboard.period.slug}.csv"


def today_in_paris(at: datetime) -> date:
    return at.astimezone(PARIS).date()


# --- share links ---------------------------------------------------------------------------

SHARE_DAYS = (7, 30, 90)


class ShareGone(LookupError):
    """A share link that existed but has expired or been revoked (410)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share(
    actor: User, scope: Scope, period: st.Period, days: int, at: datetime
) -> tuple[DashboardShare, str]:
    """A read-only link to these figures, valid `days` days; the token is returned once."""
    if days not in SHARE_DAYS:
        raise DashboardError("Durée de validité inconnue : 7, 30 ou 90 jours.")
    token = secrets.token_urlsafe(24)
    share = DashboardShare(
        token_hash=_hash(token),
        territory_code=scope.code,
        period_kind=period.kind,
        start=period.start,
        end=period.end,
        created_by_id=actor.id,
        created_at=at,
        expires_at=at + timedelta(days=days),
    )
    db.session.add(share)
    db.session.commit()
    return share, token


def get_share(token: str, at: datetime) -> DashboardShare:
    """The share of a token; LookupError when none, ShareGone when expired or revoked."""
    if not token or len(token) > 100:
        raise LookupError("Lien de partage inconnu.")
    share = db.session.scalars(
        select(DashboardShare).where(DashboardShare.token_hash == _hash(token))
    ).one_or_none()
    if share is None:
        raise LookupError("Lien de partage inconnu.")
    if share.revoked_at is not None:
        raise ShareGone("Ce lien de partage a été révoqué par la personne qui l'a créé.")
    if share.expires_at <= at:
        raise ShareGone("Ce lien de partage a expiré.")
    return share


def share_period(share: DashboardShare) -> st.Period:
    return st.Period(share.period_kind, share.start, share.end)


def list_shares(actor: User) -> list[DashboardShare]:
    """The actor's links (every link for an administrator), newest first."""
    stmt = select(DashboardShare).order_by(DashboardShare.created_at.desc())
    if actor.role != roles.ADMIN:
        stmt = stmt.where(DashboardShare.created_by_id == actor.id)
    return list(db.session.scalars(stmt))


def territory_labels(codes: set[str | None]) -> dict[str | None, str]:
    """Readable names of the territories of share links: two queries, however many links."""
    wanted = {c for c in codes if c}
    labels: dict[str | None, str] = {None: EVERYTHING.name}
    if wanted:
        for insee, name in db.session.execute(
            select(Commune.insee, Commune.name).where(Commune.insee.in_(wanted))
        ):
            labels[insee] = f"Commune de {name}"
        for code, name in db.session.execute(
            select(Territory.code, Territory.name).where(Territory.code.in_(wanted))
        ):
            labels.setdefault(code, name)
    return labels


def revoke_share(actor: User, share_id: int, at: datetime) -> DashboardShare:
    """End a link now; only its author or an administrator may (others: LookupError)."""
    share = db.session.get(DashboardShare, share_id)
    if share is None or (actor.role != roles.ADMIN and share.created_by_id != actor.id):
        raise LookupError("Lien de partage introuvable.")
    if share.revoked_at is None:
        share.revoked_at = at
        db.session.commit()
    return share

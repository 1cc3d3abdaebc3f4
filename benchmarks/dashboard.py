"""Dashboard server time at scale: 1,000,000 events over the 506 Vosges communes and two
years, then the dashboard's aggregates for a year of the whole département (median of runs).

Creates its own scratch database and drops it afterwards: a SQLite file by default, or a
new database on the PostgreSQL server of --database-url. Not part of the test suite.
Run: .venv/bin/python benchmarks/dashboard.py [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxiservices import create_app  # noqa: E402
from proxiservices.domain import statistics as st  # noqa: E402
from proxiservices.domain.hours import PARIS  # noqa: E402
from proxiservices.extensions import db  # noqa: E402
from proxiservices.models import Body, Commune, Need, Site  # noqa: E402
from proxiservices.services import activity, dashboard  # noqa: E402
from proxiservices.services.seeding import seed_all  # noqa: E402

TARGET_MS = 300.0
COLUMNS = (
    "kind",
    "occurred_at",
    "occurred_on",
    "channel",
    "need_id",
    "theme_id",
    "body_kind_code",
    "commune_insee",
    "desk_site_id",
    "found_via",
    "outcome",
    "body_id",
    "from_status",
    "to_status",
    "elapsed_seconds",
)
TRANSITIONS = [
    (None, "submitted", 0),
    ("submitted", "viewed", 0.3),
    ("viewed", "in_progress", 2.5),
    ("in_progress", "closed", 9.0),
    ("viewed", "refused", 4.0),
]


def scratch(url: str | None):
    """(url of a new empty database, function that drops it)."""
    if not url:
        folder = tempfile.mkdtemp(prefix="proxi-bench-")
        path = Path(folder) / "bench.sqlite3"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    base = sa.make_url(url)
    name = f"proxi_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def events(count: int, today: datetime, rng: random.Random):
    """Rows as the application writes them, two years back from today (the reference rows
    are read before the first event is asked for: the connection then only copies)."""
    communes = db.session.execute(select_communes()).all()
    weights = [max(50, population or 50) for _, population in communes]
    codes = [code for code, _ in communes]
    needs = db.session.execute(sa.select(Need.id, Need.theme_id, Need.body_kind_code)).all()
    bodies = list(db.session.scalars(sa.select(Body.id)))
    sites = list(db.session.scalars(sa.select(Site.id).limit(300)))
    return _events(count, today, rng, codes, weights, needs, bodies, sites)


def _events(count, today, rng, codes, weights, needs, bodies, sites):
    outcomes = ["oriented", "accompanied", "autonomous", None, None]
    start = today - timedelta(days=730)
    # Cumulated once: random.choices would add up every weight at each draw (35,000 communes
    # nationally, benchmarks/load.py). Same draws as with the weights.
    cumulated = list(accumulate(weights))
    for _ in range(count):
        at = start + timedelta(seconds=rng.randrange(730 * 86400))
        need_id, theme_id, kind_code = rng.choice(needs)
        commune = rng.choices(codes, cum_weights=cumulated)[0]
        day = at.astimezone(PARIS).date()
        if rng.random() < 0.92:
            channel = rng.choices(["desk", "public", "api"], [70, 25, 5])[0]
            yield (
                "visit",
                at.replace(tzinfo=None),
                day,
                channel,
                need_id,
                theme_id,
                kind_code,
                commune,
                rng.choice(sites) if channel == "desk" else None,
                rng.choice(["tree", "search"]),
                rng.choice(outcomes) if channel == "desk" else None,
                None,
                None,
                None,
                None,
            )
        else:
            before, after, days = rng.choice(TRANSITIONS)
            yield (
                "request",
                at.replace(tzinfo=None),
                day,
                None,
                need_id,
                theme_id,
                kind_code,
                commune,
                rng.choice(sites),
                None,
                None,
                rng.choice(bodies),
                before,
                after,
                int(days * 86400 * rng.uniform(0.3, 2.0)),
            )


def select_communes():
    return sa.select(Commune.insee, Commune.population).where(Commune.departement_code == "88")


def load(count: int, rng: random.Random) -> float:
    started = time.perf_counter()
    rows = events(count, datetime.now(UTC), rng)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY activity_event ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        insert = sa.text(
            f"INSERT INTO activity_event ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join(':' + c for c in COLUMNS)})"
        )
        batch = []
        for row in rows:
            batch.append(dict(zip(COLUMNS, row, strict=True)))
            if len(batch) == 20_000:
                connection.execute(insert, batch)
                batch = []
        if batch:
            connection.execute(insert, batch)
    db.session.commit()
    loaded = time.perf_counter()
    # Rows copied in bulk bypass the counts kept on write: recompute them, as
    # `flask activity rebuild-counts` does after such a load.
    count_rows = activity.rebuild_counts()
    db.session.commit()
    print(
        f"  daily and monthly counts rebuilt from the events in "
        f"{time.perf_counter() - loaded:.0f} s: {count_rows:,} rows"
    )
    # As autovacuum would have done by then: statistics, and the visibility map that lets
    # PostgreSQL read the covering index alone.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


def one_visit_ms(runs: int = 51) -> float:
    """What keeping the counts costs a desk visit: the event and its 16 count rows."""
    need = db.session.scalars(sa.select(Need).limit(1)).one()
    at = datetime.now(PARIS)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        activity.record_visit(need, "88078", "desk", at, outcome="autonomous")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def timed(scope_code: str, runs: int) -> list[float]:
    scope = dashboard.resolve_scope(scope_code)
    today = datetime.now(PARIS)
    period = st.parse_period(st.LAST_YEAR, None, None, today.date())
    times = []
    for _ in range(runs + 1):  # the first run warms the caches and is not counted
        started = time.perf_counter()
        dashboard.build_dashboard(scope, period, today, (3, 10))
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server (a scratch database is made)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database (to explain queries)"
    )
    options = parser.parse_args()
    url, drop = scratch(options.database_url)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            db.create_all()
            seed_all(ROOT / "seeds")
            seconds = load(options.events, random.Random(6))
            engine = db.engine.dialect.name
            print(f"{engine}: {options.events:,} events and counts in {seconds:.0f} s")
            print(f"  {one_visit_ms():.1f} ms to record one desk visit with its counts (median)")
            for label, code in (("département (88)", "88"), ("CC Bruyères", "200042000")):
                times = timed(code, options.runs)
                median = statistics.median(times)
                print(
                    f"  dashboard, 12 months, {label}: median {median:.0f} ms "
                    f"(min {min(times):.0f}, max {max(times):.0f}, {options.runs} runs)"
                )
                if code == "88":
                    verdict = "OK" if median < TARGET_MS else "ABOVE TARGET"
                    print(f"  target {TARGET_MS:.0f} ms for the département: {verdict}")
            db.session.remove()
            db.engine.dispose()
    finally:
        if options.keep:
            print(f"kept: {url}")
        else:
            drop()


if __name__ == "__main__":
    main()

"""Load benchmark: the orientation page, /api/v1/orientation and /api/v1/needs at national
scale, against two references served the same way (a Flask "hello" and a one-query page).

1. Builds (or reuses with --reuse) a dedicated PostgreSQL database: migrations, seeds, the
   34,969 current communes of France, about 10,000 sites, 5,000 needs and 1,000,000 activity
   events (benchmarks/national_data.py). Dropped at the end unless --keep.
2. Serves each app in turn with gunicorn and the repository's gunicorn.conf.py (same workers,
   same settings), production mode, pinned to --server-cpus.
3. Drives it with wrk pinned to one core (--client-cpu), rotating over realistic URLs
   (communes all over France, every need of the tree, walk-in phrases), at 10 and 50
   connections; prints requests/s, p50/p95/p99, errors and the ratios to both references,
   checks the targets of issue 8 and writes benchmarks/results/load-<date>.json.

Not part of the test suite, never run in CI. Needs wrk (`apt-get install -y wrk`), npm (the
COG is fetched with `npm pack`) and a PostgreSQL server.
Run: .venv/bin/python benchmarks/load.py [--scale 0.05] [--duration 20] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from urllib.parse import quote, urlencode

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import national_data  # noqa: E402
import search_latency  # noqa: E402

VENV_BIN = Path(sys.executable).parent
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE_NAME = "proxi_load"
CASES = ROOT.parent / "shared" / "cases"

# (target label, endpoint, minimum ratio to the one-query reference's throughput)
RATIO_TARGETS = [("orientation", 0.5), ("api_orientation", 0.5), ("search", 0.4)]
P99_TARGET_MS = 50.0
APP_ENDPOINTS = ("orientation", "api_orientation", "search")
LABELS = {
    "hello": "référence « hello »",
    "one_query": "référence une requête",
    "orientation": "page /orientation",
    "api_orientation": "/api/v1/orientation",
    "search": "/api/v1/needs?q=",
}


# -- the database --------------------------------------------------------------------------


def _marker(scale: float) -> str:
    return f"proxiservices load benchmark, scale {scale:g}, complete"


def prepare_database(server_url: str, name: str, scale: float, reuse: bool) -> tuple[str, bool]:
    """(url of the benchmark database, whether it was built now)."""
    base = sa.make_url(server_url)
    url = base.set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        comment = conn.execute(
            sa.text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = :name"
            ),
            {"name": name},
        ).first()
        if comment is not None and reuse and comment[0] == _marker(scale):
            print(f"database {name}: reused ({comment[0]})")
            admin.dispose()
            upgrade_schema(url)  # migrations added since it was built
            return url, False
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    print(f"database {name}: building at scale {scale:g}")
    started = time.perf_counter()
    steps = national_data.build(url, scale)
    with admin.connect() as conn:
        conn.execute(sa.text(f"COMMENT ON DATABASE \"{name}\" IS '{_marker(scale)}'"))
    admin.dispose()
    total = time.perf_counter() - started
    detail = ", ".join(f"{k} {v:.0f} s" for k, v in steps.items())
    print(f"build time: {total / 60:.1f} min ({detail})")
    return url, True


def upgrade_schema(url: str) -> None:
    """Apply the migrations a reused database may lack (its rows are kept)."""
    from flask_migrate import upgrade

    from proxiservices import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))


def drop_database(server_url: str, name: str) -> None:
    admin = sa.create_engine(sa.make_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def settle_database(url: str) -> float:
    """VACUUM (ANALYZE) and CHECKPOINT before each server: every measure starts from the
    same state instead of paying for the previous one's writes. The application leaves
    tens of thousands of updated count rows per run; PostgreSQL (not pinned) then spends
    CPU time on writing those pages out and walking the dead rows, on the server's core
    too, during whatever is measured next. Until the 7th series the second of two runs
    was always the slower one; on 24 November, a 10-client run right after a VACUUM and
    CHECKPOINT served 440 pages/s (the one-query reference 907 req/s) where the full run
    just before it had served 298 (684). Returns the seconds taken."""
    started = time.perf_counter()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM (ANALYZE)"))
        try:
            conn.execute(sa.text("CHECKPOINT"))
        except sa.exc.ProgrammingError:  # a role without pg_checkpoint: the VACUUM only
            print("  note: CHECKPOINT refused (needs superuser or pg_checkpoint)")
    engine.dispose()
    return time.perf_counter() - started


def database_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("commune", "site", "body", "site_coverage", "need", "activity_event")
        }
    engine.dispose()
    return counts


# -- the URLs ------------------------------------------------------------------------------


def walk_in_phrases() -> list[str]:
    """Phrases of ../shared/cases/*.json and the tests' tuning set."""
    phrases = []
    for path in [*sorted(CASES.glob("*.json")), ROOT / "tests" / "data" / "search_tuning.json"]:
        phrases += [case["phrase"] for case in json.loads(path.read_text(encoding="utf-8"))]
    return phrases


def make_paths(url: str, count: int, rng: random.Random) -> dict[str, list[str]]:
    """Request paths per endpoint: needs of the tree and catalogue fiches with a desk, in
    communes all over France (half drawn by population, half uniformly)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        communes = conn.execute(sa.text("SELECT insee, population FROM commune")).all()
        tree_needs = list(
            conn.execute(
                sa.text(
                    "SELECT slug FROM need WHERE origin = 'curated' AND slug NOT LIKE 'gen-%' "
                    "ORDER BY slug"
                )
            ).scalars()
        )
        fiches = list(
            conn.execute(
                sa.text(
                    "SELECT n.slug FROM need n JOIN body_kind k ON k.code = n.body_kind_code "
                    "WHERE n.origin = 'catalogue' AND NOT k.online_only ORDER BY n.slug"
                )
            ).scalars()
        )
    engine.dispose()
    codes = [c for c, _ in communes]
    cumulated = list(accumulate(max(50, p or 50) for _, p in communes))
    needs = tree_needs * 4 + rng.sample(fiches, min(len(fiches), len(tree_needs)))

    def pairs():
        for number in range(count):
            commune = (
                rng.choices(codes, cum_weights=cumulated)[0] if number % 2 else rng.choice(codes)
            )
            yield rng.choice(needs), commune

    real = search_latency.real_documents() + search_latency.catalogue_documents()
    phrases = walk_in_phrases()
    typed = [q for q, _ in search_latency.queries(real, count, rng)]
    queries = [rng.choice(phrases) if n % 3 == 0 else typed[n] for n in range(count)]
    return {
        "hello": ["/"],
        "one_query": [f"/communes/{rng.choice(codes)}" for _ in range(count)],
        "orientation": [f"/orientation?{urlencode({'need': n, 'commune': c})}" for n, c in pairs()],
        "api_orientation": [
            f"/api/v1/orientation?{urlencode({'need': n, 'commune': c})}" for n, c in pairs()
        ],
        "search": [f"/api/v1/needs?q={quote(q)}" for q in queries],
    }


# -- serving and driving -------------------------------------------------------------------


APPS = {
    # app name -> (gunicorn target, extra arguments, its endpoints)
    "hello": ("reference_apps:hello", ["--pythonpath", str(HERE)], ["hello"]),
    "one_query": ("reference_apps:one_query", ["--pythonpath", str(HERE)], ["one_query"]),
    "proxiservices": ("wsgi:app", [], list(APP_ENDPOINTS)),
}


class Server:
    """One gunicorn, started with the repository's gunicorn.conf.py and pinned to cores."""

    def __init__(self, target, extra, env, cpus, port, log_path):
        self.port = port
        self.log = open(log_path, "ab")  # noqa: SIM115  (closed in stop())
        command = ["taskset", "-c", cpus, str(VENV_BIN / "gunicorn")]
        command += ["-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"]
        self.process = subprocess.Popen(
            [*command, *extra, target],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped at start (see {self.log.name})")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer {path} in {seconds:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def check_paths(port: int, paths: list[str], sample: int = 15) -> None:
    """A few requests of each kind before the load: a wrong URL fails loudly here."""
    for path in paths[:sample]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
                answer.read()
        except urllib.error.HTTPError as error:
            raise SystemExit(f"{path}: HTTP {error.code}") from None


def run_wrk(port, paths_file, connections, seconds, cpu, timeout, start=0) -> dict:
    """One wrk run over the paths of `paths_file`, from the one at index `start`."""
    command = ["taskset", "-c", cpu, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    command += [f"--timeout={timeout}s", "--latency", "-s", str(HERE / "wrk_rotate.lua")]
    command += [f"http://127.0.0.1:{port}", "--", str(paths_file), str(start)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "connections": connections,
        "seconds": seconds,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        **{f"{p}_ms": round(raw[f"{p}_us"] / 1000, 2) for p in ("p50", "p90", "p95", "p99", "max")},
        "non2xx": raw["non2xx"],
        "socket_errors": socket_errors,
        "errors": raw["non2xx"] + socket_errors,
    }


def mean_of(results: list[dict]) -> dict:
    """One measure from repeated ones: means of rates and latencies, sums of counts."""
    if len(results) == 1:
        return results[0]
    merged = {}
    for key, value in results[0].items():
        values = [r[key] for r in results]
        if key in ("requests", "non2xx", "socket_errors", "errors", "seconds"):
            merged[key] = sum(values)
        elif key == "connections":
            merged[key] = value
        else:
            merged[key] = round(sum(values) / len(values), 2)
    merged["runs"] = results
    return merged


# -- report --------------------------------------------------------------------------------


def ratios(results: dict, endpoint: str, connections: int) -> tuple[float, float]:
    mine = results[endpoint][str(connections)]["rps"]
    return (
        mine / results["hello"][str(connections)]["rps"],
        mine / results["one_query"][str(connections)]["rps"],
    )


def print_table(results: dict, clients: list[int]) -> None:
    header = (
        f"{'endpoint':<26}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'errors':>8}{'/hello':>9}{'/1 query':>10}"
    )
    print()
    print(header)
    print("-" * len(header))
    for endpoint in ("hello", "one_query", *APP_ENDPOINTS):
        for c in clients:
            r = results[endpoint][str(c)]
            to_hello, to_query = ratios(results, endpoint, c)
            errors = f"{r['non2xx']}+{r['socket_errors']}" if r["errors"] else "0"
            print(
                f"{LABELS[endpoint]:<26}{c:>8}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}"
                f"{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}{errors:>8}"
                f"{to_hello:>8.0%} {to_query:>9.0%}"
            )
    print("errors: non-2xx answers + socket errors (connect, read, write, timeouts)")


def check_targets(results: dict, clients: list[int]) -> list[dict]:
    checks = []
    for endpoint, minimum in RATIO_TARGETS:
        for c in clients:
            ratio = ratios(results, endpoint, c)[1]
            checks.append(
                {
                    "target": f"{LABELS[endpoint]} ≥ {minimum:.0%} of the one-query reference, "
                    f"{c} clients",
                    "value": f"{ratio:.0%}",
                    "pass": ratio >= minimum,
                }
            )
    top = max(clients)
    for endpoint in APP_ENDPOINTS:
        errors = results[endpoint][str(top)]["errors"]
        checks.append(
            {
                "target": f"{LABELS[endpoint]}: no error at {top} clients",
                "value": str(errors),
                "pass": errors == 0,
            }
        )
    low = min(clients)
    for endpoint in APP_ENDPOINTS:
        p99 = results[endpoint][str(low)]["p99_ms"]
        checks.append(
            {
                "target": f"{LABELS[endpoint]}: p99 < {P99_TARGET_MS:.0f} ms at {low} clients",
                "value": f"{p99:.1f} ms",
                "pass": p99 < P99_TARGET_MS,
            }
        )
    print()
    for check in checks:
        print(f"{'PASS' if check['pass'] else 'FAIL'}  {check['target']}: {check['value']}")
    return checks


# -- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server")
    parser.add_argument("--database-name", default=DATABASE_NAME)
    parser.add_argument("--scale", type=float, default=1.0, help="sites and events (1 = national)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a complete database")
    parser.add_argument("--build-only", action="store_true", help="build, then stop")
    parser.add_argument("--duration", type=int, default=20, help="seconds per measure")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of warm-up per endpoint")
    parser.add_argument("--clients", default="10,50", help="wrk connections, comma separated")
    parser.add_argument("--server-cpus", default="0", help="cores of gunicorn (taskset -c)")
    parser.add_argument("--client-cpu", default="1", help="the one core of wrk (taskset -c)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--urls", type=int, default=20000, help="distinct URLs per endpoint")
    parser.add_argument("--timeout", type=int, default=5, help="wrk request timeout, seconds")
    parser.add_argument("--output", type=Path, help="JSON results (default benchmarks/results/)")
    return parser.parse_args()


def main() -> None:
    options = parse_args()
    for tool, hint in (
        ("wrk", "apt-get install -y wrk"),
        ("taskset", "apt-get install -y util-linux"),
    ):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: {hint}")
    clients = [int(c) for c in options.clients.split(",")]
    url, _built = prepare_database(
        options.database_url, options.database_name, options.scale, options.reuse
    )
    try:
        counts = database_counts(url)
        print("database: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if options.build_only:
            return
        results = measure(options, url, clients)
        print_table(results["endpoints"], clients)
        results["targets"] = check_targets(results["endpoints"], clients)
        results["database"] = counts
        output = options.output or HERE / "results" / f"load-{datetime.now(UTC):%Y-%m-%d}.json"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"\nresults: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
        print(f"URL lists and server logs: {results['logs']}")
    finally:
        if options.keep or options.reuse:
            print(f"kept: {url}")
        else:
            drop_database(options.database_url, options.database_name)


def measure(options: argparse.Namespace, url: str, clients: list[int]) -> dict:
    paths = make_paths(url, options.urls, random.Random(8))
    folder = Path(tempfile.mkdtemp(prefix="proxi-load-"))
    files = {}
    for endpoint, lines in paths.items():
        files[endpoint] = folder / f"{endpoint}.txt"
        files[endpoint].write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        PROXISERVICES_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        PROXISERVICES_LOG_LEVEL="warning",
    )
    if options.workers:
        env["PROXISERVICES_WORKERS"] = str(options.workers)
    endpoints: dict[str, dict] = {}
    runs: dict[str, list[dict]] = {}
    # The references are measured before and after the application and averaged: the
    # machine's other load drifts over minutes, the ratios should not.
    order = ["hello", "one_query", "proxiservices", "hello", "one_query"]
    for name in order:
        target, extra, served = APPS[name]
        log_path = folder / f"{name}.log"
        settled = settle_database(url)
        print(f"  {name}: database settled (VACUUM, CHECKPOINT) in {settled:.1f} s")
        server = Server(target, extra, env, options.server_cpus, options.port, log_path)
        try:
            server.wait_ready(paths[served[0]][0])
            for endpoint in served:
                check_paths(options.port, paths[endpoint])
                # Each run goes on where the previous one stopped in the list: a measure
                # never replays the URLs whose answers the warm-up (or the run at fewer
                # clients) left in the process's caches. Replaying them made the figures
                # depend on the machine's speed (a faster machine replays more of them).
                start = 0
                warm = run_wrk(
                    options.port,
                    files[endpoint],
                    min(clients),
                    options.warmup,
                    options.client_cpu,
                    options.timeout,
                    start,
                )
                start += warm["requests"] + min(clients)
                for c in clients:
                    result = run_wrk(
                        options.port,
                        files[endpoint],
                        c,
                        options.duration,
                        options.client_cpu,
                        options.timeout,
                        start,
                    )
                    start += result["requests"] + c
                    if start > len(paths[endpoint]) > 1:
                        print(f"  note: {endpoint}: more requests than --urls, URLs replayed")
                    runs.setdefault(f"{endpoint}/{c}", []).append(result)
                    endpoints.setdefault(endpoint, {})[str(c)] = mean_of(runs[f"{endpoint}/{c}"])
                    print(
                        f"  {LABELS[endpoint]:<26} {c:>3} clients: {result['rps']:>7.0f} req/s, "
                        f"p99 {result['p99_ms']:.1f} ms, {result['errors']} errors"
                    )
        finally:
            server.stop()
    workers = env.get("PROXISERVICES_WORKERS") or "gunicorn.conf.py default (cores + 1)"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "settings": {
            "scale": options.scale,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "server_cpus": options.server_cpus,
            "client_cpu": options.client_cpu,
            "workers": workers,
            "gunicorn": "gunicorn.conf.py (sync workers, preload, no access log)",
            "request_log": "on (PROXISERVICES_REQUEST_LOG default), written to a file",
            "urls_per_endpoint": options.urls,
            "wrk": f"1 thread, --timeout {options.timeout}s",
            "database": "VACUUM (ANALYZE) and CHECKPOINT before each server",
        },
        "logs": str(folder),
        "endpoints": endpoints,
    }


if __name__ == "__main__":
    main()

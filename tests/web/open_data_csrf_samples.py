"""Sample POST of the open data pages for tests/web/test_csrf.py: an administrator's upload
of a "lieux de médiation numérique" CSV file (multipart), with what proves it was imported
or not.

Each function takes test_csrf's `kit` and `accepted` and returns the keywords of its `Post`.
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

from sqlalchemy import func, select

from proxiservices.extensions import db
from proxiservices.models import Site

GOOD_FILE = Path(__file__).resolve().parent.parent / "data" / "mednum_good.csv"


def _one_place_file(place_id: str, name: str) -> bytes:
    """The first place of tests/data/mednum_good.csv under a new id and name: a file that
    creates one site each time it is imported."""
    with GOOD_FILE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    row = {**rows[0], "id": place_id, "nom": name}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return out.getvalue().encode("utf-8")


def upload(kit, accepted: bool) -> dict:
    mark = uuid.uuid4().hex[:8]
    name = f"Espace numérique essai CSRF {mark}"

    def sites_named() -> int:
        with kit.app.app_context():
            try:
                return db.session.scalar(select(func.count(Site.id)).where(Site.name == name))
            finally:
                db.session.remove()

    return {
        "client": kit.clients["admin"],
        "token": kit.tokens["admin"],
        "url": "/admin/lieux-mediation",
        # A (stream, file name) value: the test client posts the data as multipart.
        "data": {
            "kind": "CONSEILLER_NUMERIQUE",
            "csv_file": (io.BytesIO(_one_place_file(f"csrf-{mark}", name)), "lieux.csv"),
        },
        "accepted": 200,  # the import report, on the page
        "refused_check": lambda: sites_named() == 0,
        "accepted_check": lambda: sites_named() == 1,
    }


SAMPLES = {"open_data.upload": upload}

"""The lieux de médiation numérique import and export pages, and the seed files download."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from proxiservices.domain.mediation import FIELDS
from proxiservices.extensions import db
from proxiservices.models import AuditEntry, Body, Site
from proxiservices.services import audit
from proxiservices.services.seeding import seed_all
from tests.plugins.accounts import csrf_token
from tests.web.html import text_of

DATA = Path(__file__).resolve().parent.parent / "data"
PAGE = "/admin/lieux-mediation"


@pytest.fixture(scope="module")
def app(workspace):
    return workspace


@pytest.fixture
def admin(app, client_as):
    client, _user = client_as(app, "admin")
    return client


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Site.id))),
            db.session.scalar(select(func.count(Body.id))),
            db.session.scalar(select(func.count(AuditEntry.id))),
        )


def upload(client, name: str, content: bytes | None = None, **fields):
    token = csrf_token(client, PAGE)
    data = content if content is not None else (DATA / name).read_bytes()
    return client.post(
        PAGE,
        data={
            "csrf_token": token,
            "kind": "CONSEILLER_NUMERIQUE",
            **fields,
            "csv_file": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def test_the_page_offers_the_upload_form_and_the_exports(app, admin):
    response = admin.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    assert 'name="csrf_token"' in html
    assert "/admin/lieux-mediation/export.csv" in html
    assert "/admin/seeds.zip" in html


def test_a_file_with_one_bad_row_is_refused_whole_and_names_that_row(app, admin):
    before = counts(app)
    response = upload(admin, "mednum_one_bad_row.csv")
    assert response.status_code == 422
    text = text_of(response.get_data(as_text=True))
    assert "Rien n'a été importé" in text
    assert "1 erreur(s) sur 1 ligne(s)" in text
    html = response.get_data(as_text=True)
    assert "<tr><td>2</td><td><code>horaires</code></td><td>Horaires non reconnus" in html
    assert counts(app) == before
    with app.app_context():
        assert db.session.scalar(select(Site).filter_by(slug="mednum-fs-bruyeres-bus")) is None


def test_a_dry_run_writes_nothing(app, admin):
    before = counts(app)
    response = upload(admin, "mednum_good.csv", dry_run="y")
    assert response.status_code == 200
    assert "Simulation, rien n'a été enregistré" in text_of(response.get_data(as_text=True))
    assert counts(app) == before


def test_the_fixed_file_is_imported_with_an_audit_entry_per_site(app, admin):
    sites, bodies, entries = counts(app)
    response = upload(admin, "mednum_good.csv")
    assert response.status_code == 200, text_of(response.get_data(as_text=True))[:500]
    text = text_of(response.get_data(as_text=True))
    assert "Import réussi" in text
    assert "2 lieu(x) créé(s)" in text
    # One entry for the file, one per site created.
    assert counts(app) == (sites + 2, bodies + 1, entries + 3)
    with app.app_context():
        docelles = db.session.scalar(select(Site).filter_by(slug="mednum-cnfs-docelles-1"))
        assert docelles.body.kind_code == "CONSEILLER_NUMERIQUE"
        assert docelles.body.slug == "mednum-conseiller-numerique"
        assert docelles.opening_hours == "Tu,Th 09:00-12:00; PH off"
        assert docelles.phone == "03 29 00 00 01"
        assert docelles.address == "2 rue de la Gare, Salle du haut"
        assert (docelles.latitude, docelles.position_approx) == (48.145, False)
        # Set so that `flask seed` leaves the import alone; a later import may still update.
        assert docelles.edited_at is not None
        (created,) = audit.history("site", docelles.id)
        assert (created.action, created.object_type) == ("import", "site")
        assert created.changes["name"] == [None, "Espace numérique de Docelles"]
        assert created.changes["opening_hours"] == [None, "Tu,Th 09:00-12:00; PH off"]
        assert created.actor_label.startswith("admin-")
        bus = db.session.scalar(select(Site).filter_by(slug="mednum-fs-bruyeres-bus"))
        assert bus.commune_insee == "88078"  # found by name and postcode
        assert bus.body.slug == "france-services"  # France Services: the existing body
        assert bus.position_approx is True
        entry = db.session.scalars(
            select(AuditEntry).filter_by(action="import").order_by(AuditEntry.id.desc())
        ).first()
        assert entry.object_id == "lieux-mediation-numerique"
        assert entry.changes["lieux créés"] == [None, 2]
        assert entry.actor_label.startswith("admin-")


def test_importing_again_changes_nothing_and_keeps_sites_edited_by_hand(app, admin):
    with app.app_context():
        bus = db.session.scalar(select(Site).filter_by(slug="mednum-fs-bruyeres-bus"))
        bus.edited_at = datetime.now(UTC).replace(tzinfo=None)
        bus.phone = "03 29 99 99 99"
        db.session.commit()
    changed = (DATA / "mednum_good.csv").read_bytes().replace(b"03 29 00 00 02", b"03 29 11 11 11")
    response = upload(admin, "mednum_good.csv", changed)
    assert response.status_code == 200
    text = text_of(response.get_data(as_text=True))
    assert "1 inchangé(s), 1 conservé(s) car modifié(s) à la main" in text
    with app.app_context():
        bus = db.session.scalar(select(Site).filter_by(slug="mednum-fs-bruyeres-bus"))
        assert bus.phone == "03 29 99 99 99"


def test_a_later_import_updates_an_imported_site_with_its_changes_audited(app, admin):
    changed = (DATA / "mednum_good.csv").read_bytes().replace(b"+33329000001", b"0329000009")
    response = upload(admin, "mednum_good.csv", changed)
    assert response.status_code == 200
    assert "1 mis à jour" in text_of(response.get_data(as_text=True))
    with app.app_context():
        docelles = db.session.scalar(select(Site).filter_by(slug="mednum-cnfs-docelles-1"))
        assert docelles.phone == "03 29 00 00 09"
        latest, _created = audit.history("site", docelles.id)
        assert latest.action == "import"
        assert latest.changes == {"phone": ["03 29 00 00 01", "03 29 00 00 09"]}
        assert docelles.edited_at == latest.at.replace(tzinfo=None)


def mairie_row(**cells: str) -> bytes:
    """A file of one row naming the seeded town hall of Docelles by its slug."""
    row = {
        "id": "mairie-88135",
        "pivot": "00000000000000",
        "nom": "Mairie de Docelles",
        "commune": "Docelles",
        "code_postal": "88460",
        "code_insee": "88135",
        "adresse": "1 place de la Mairie",
        "date_maj": "2026-11-02",
        **cells,
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    return out.getvalue().encode()


def test_an_imported_change_to_a_seeded_site_is_not_undone_by_seeding(app, admin):
    response = upload(admin, "mairie.csv", mairie_row(telephone="03 29 12 34 56"))
    assert response.status_code == 200, text_of(response.get_data(as_text=True))[:800]
    assert "1 mis à jour" in text_of(response.get_data(as_text=True))
    with app.app_context():
        mairie = db.session.scalar(select(Site).filter_by(slug="mairie-88135"))
        assert mairie.phone == "03 29 12 34 56"
        assert mairie.edited_at is not None
        (entry,) = audit.history("site", mairie.id)
        assert entry.changes["phone"][1] == "03 29 12 34 56"
        seed_all(app.config["SEED_DIR"])
        db.session.expire_all()
        mairie = db.session.scalar(select(Site).filter_by(slug="mairie-88135"))
        assert mairie.phone == "03 29 12 34 56"


def test_a_row_may_not_move_a_site_to_another_body(app, admin):
    before = counts(app)
    response = upload(
        admin, "mairie.csv", mairie_row(telephone="03 29 99 00 00", structure_parente="caf-vosges")
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Rien n'a été importé" in text_of(html)
    assert "<td>2</td><td><code>structure_parente</code></td>" in html
    assert "appartient à « Mairie de Docelles » : un import ne peut pas le rattacher" in text_of(
        html
    )
    assert counts(app) == before
    with app.app_context():
        mairie = db.session.scalar(select(Site).filter_by(slug="mairie-88135"))
        assert mairie.body.slug == "mairie-88135"
        assert mairie.phone == "03 29 12 34 56"


def test_the_body_s_own_name_as_parent_is_not_a_move(app, admin):
    response = upload(
        admin,
        "mairie.csv",
        mairie_row(telephone="03 29 12 34 56", structure_parente="MAIRIE DE DOCELLES"),
    )
    assert response.status_code == 200, text_of(response.get_data(as_text=True))[:800]


@pytest.mark.parametrize(
    ("cells", "field", "message"),
    [
        (
            {"horaires": "; ".join(["Mo 09:00-12:00"] * 40)},
            "horaires",
            "Les horaires sont trop longs (500 caractères au plus).",
        ),
        ({"source": "s" * 501}, "source", "La source est trop longue (500 caractères au plus)."),
        (
            {"courriels": "a" * 190 + "@docelles.example.fr"},
            "courriels",
            "trop longue (200 caractères au plus).",
        ),
    ],
)
def test_values_longer_than_their_column_are_row_errors_not_a_crash(
    app, admin, cells, field, message
):
    before = counts(app)
    response = upload(admin, "long.csv", mairie_row(**cells))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f"<td>2</td><td><code>{field}</code></td>" in html
    assert message in text_of(html)
    assert counts(app) == before


def test_an_unreadable_file_gets_a_french_message_beside_the_field(app, admin):
    before = counts(app)
    response = upload(admin, "latin1.csv", "id,nom\né,x\n".encode("latin-1"))
    assert response.status_code == 422
    assert "n'est pas encodé en UTF-8" in text_of(response.get_data(as_text=True))
    assert counts(app) == before


def test_a_missing_file_is_a_form_error(app, admin):
    token = csrf_token(admin, PAGE)
    response = admin.post(PAGE, data={"csrf_token": token, "kind": "CONSEILLER_NUMERIQUE"})
    assert response.status_code == 422
    assert "Choisissez le fichier CSV à importer." in response.get_data(as_text=True)


def test_an_upload_without_csrf_token_is_refused(app, admin):
    before = counts(app)
    response = admin.post(
        PAGE,
        data={"csv_file": (io.BytesIO((DATA / "mednum_good.csv").read_bytes()), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert counts(app) == before


@pytest.mark.parametrize("role", ["receptionist", "partner", "elected"])
def test_other_roles_are_refused(app, client_as, role):
    client, _user = client_as(app, role)
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE + "/export.csv").status_code == 403
    assert client.get("/admin/seeds.zip").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(app):
    response = app.test_client().get(PAGE)
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_the_export_parses_back_with_the_schema_header(app, admin):
    response = admin.get(PAGE + "/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == list(FIELDS)
    by_id = {r["id"]: r for r in rows}
    docelles = by_id["mairie-88135"]
    assert docelles["code_insee"] == "88135"
    assert docelles["commune"] == "Docelles"
    assert docelles["telephone"].startswith("+33")
    assert docelles["typologie"] == "MUNI"
    with app.app_context():
        assert len(rows) == db.session.scalar(select(func.count(Site.id)))


def test_the_export_neutralises_formulas_a_partner_could_type(app, admin):
    with app.app_context():
        site = db.session.scalar(select(Site).filter_by(slug="mairie-88078"))
        site.name = '=HYPERLINK("http://evil.example","x")'
        site.address = "+cmd|' /C calc'!A0"
        db.session.commit()
    response = admin.get(PAGE + "/export.csv")
    by_id = {r["id"]: r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    row = by_id["mairie-88078"]
    assert row["nom"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["adresse"] == "'+cmd|' /C calc'!A0"
    assert row["telephone"].startswith("+33")  # a phone number is not a formula
    assert not any(v.startswith(("=", "@")) for r in by_id.values() for v in r.values())


def test_the_export_of_one_kind(app, admin):
    response = admin.get(PAGE + "/export.csv?kind=FRANCE_SERVICES")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows
    assert {r["dispositif_programmes_nationaux"] for r in rows} == {"France Services"}
    response = admin.get(PAGE + "/export.csv?kind=NIMPORTE")
    assert response.status_code == 400
    assert "Type d'organisme inconnu" in text_of(response.get_data(as_text=True))


def test_the_seed_files_download_as_a_zip(app, admin):
    response = admin.get("/admin/seeds.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = set(archive.namelist())
        assert {"seeds/bodies.yaml", "seeds/mairies.csv", "seeds/tree.yaml"} <= names
        assert "mednum-cnfs-docelles-1" in archive.read("seeds/bodies.yaml").decode()

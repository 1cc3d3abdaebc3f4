"""The migrations build exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from proxiservices.extensions import db
from tests.conftest import ROOT, make_app, scratch_database


def test_migrations_match_models(tmp_path):
    with scratch_database(tmp_path, "migrations") as url:
        app = make_app(url)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            with db.engine.connect() as connection:
                diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
            assert diff == []
            downgrade(directory=str(ROOT / "migrations"), revision="base")
            upgrade(directory=str(ROOT / "migrations"))
            db.session.remove()
            db.engine.dispose()


def test_counts_migration_fills_the_counts_of_recorded_visits(tmp_path):
    """Events recorded before migration 0008 are counted by it, as a rebuild would."""
    from datetime import datetime

    from sqlalchemy import select

    from proxiservices.domain.hours import PARIS
    from proxiservices.models import ActivityCount, Need
    from proxiservices.services import activity
    from proxiservices.services.seeding import seed_all

    with scratch_database(tmp_path, "counts") as url:
        app = make_app(url)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_all(app.config["SEED_DIR"])
            need = db.session.scalars(select(Need).where(Need.slug == "aide-logement")).one()
            at = datetime(2026, 2, 27, 10, tzinfo=PARIS)
            for commune, channel, outcome in [
                ("88078", "desk", "autonomous"),
                ("88078", "desk", None),
                ("88160", "public", None),
            ]:
                activity.record_visit(need, commune, channel, at, outcome=outcome)

            def counts():
                rows = db.session.execute(
                    select(
                        ActivityCount.grain,
                        ActivityCount.day,
                        ActivityCount.area_code,
                        ActivityCount.key,
                        ActivityCount.n,
                    )
                ).all()
                return sorted(tuple(r) for r in rows)

            kept = counts()
            assert len(kept) > 20
            db.session.remove()
            downgrade(directory=str(ROOT / "migrations"), revision="0007")
            upgrade(directory=str(ROOT / "migrations"))
            assert counts() == kept
            db.session.remove()
            db.engine.dispose()


PARIS_POSTCODES = " ".join(
    [f"750{n:02d}" for n in range(1, 17)] + ["75116"] + [f"750{n:02d}" for n in range(17, 21)]
)


def test_a_commune_keeps_all_its_postcodes(tmp_path):
    """Paris has 21 postcodes (125 characters): the migrated column keeps them all, so the
    last arrondissement is found by its postcode (PostgreSQL refused the row before)."""
    from proxiservices.models import Commune, Territory
    from proxiservices.services.communes import search_communes

    with scratch_database(tmp_path, "postcodes") as url:
        app = make_app(url)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            db.session.add(Territory(code="75", kind="departement", name="Paris"))
            db.session.add(
                Commune(
                    insee="75056",
                    name="Paris",
                    folded_name="paris",
                    postcodes=PARIS_POSTCODES,
                    departement_code="75",
                )
            )
            db.session.commit()
            db.session.expunge_all()
            (paris,) = search_communes("75020")
            assert paris.insee == "75056"
            assert len(paris.postcode_list) == 21
            db.session.remove()
            # Going back cuts the list at a whole postcode to fit the old column.
            downgrade(directory=str(ROOT / "migrations"), revision="0011")
            with db.engine.connect() as connection:
                kept = connection.execute(sa.text("SELECT postcodes FROM commune")).scalar_one()
            assert kept == PARIS_POSTCODES[: PARIS_POSTCODES.rindex(" ")]
            db.engine.dispose()

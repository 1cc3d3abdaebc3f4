"""The migrations build exactly the schema the models describe."""

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

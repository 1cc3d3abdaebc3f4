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

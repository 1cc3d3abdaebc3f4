"""Test fixtures. The database comes from TEST_DATABASE_URL (PostgreSQL in CI) or is a
SQLite file in a temporary folder; each test database is created and dropped here."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from proxiservices import create_app
from proxiservices.extensions import db
from proxiservices.services.seeding import seed_all

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.plugins.mail", "tests.plugins.accounts"]
BASE_URL = os.environ.get("TEST_DATABASE_URL", "")


@contextmanager
def scratch_database(tmp_dir: Path, label: str) -> Iterator[str]:
    """A new empty database: a SQLite file, or a PostgreSQL database next to the test one."""
    if not BASE_URL:
        yield f"sqlite:///{tmp_dir / (label + '.sqlite3')}"
        return
    with new_postgres_database(BASE_URL, label) as url:
        yield url


@contextmanager
def new_postgres_database(server: str, label: str) -> Iterator[str]:
    """A new empty database on the server of `server` (a database URL), dropped afterwards."""
    url = sa.make_url(server)
    name = f"{url.database}_{label}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(url: str, **extra):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": True,
            # Shared apps post logins by the dozen: limits are tested on apps of their own
            # (tests/web/test_rate_limits.py), so they are off here unless asked for.
            "RATELIMIT_ENABLED": False,
            # A process sees its own directory edits at once; never re-reading the directory
            # generation on a timer keeps the query counts of the tests exact (issue 8).
            "DIRECTORY_CHECK_SECONDS": 3600,
            # Visits written in their request, so that a test reads them at once; the
            # buffered writing has its tests (tests/services/test_write_behind.py).
            "ACTIVITY_BUFFER_SECONDS": 0,
            **extra,
        }
    )


@pytest.fixture(scope="session")
def seeded_app(tmp_path_factory):
    """The real schema (through the migrations) and the real seed data, shared read-only."""
    with scratch_database(tmp_path_factory.mktemp("seeded"), "seeded") as url:
        app = make_app(url)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_all(ROOT / "seeds")
            db.session.remove()
        yield app
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def client(seeded_app):
    return seeded_app.test_client()


@pytest.fixture
def seeded(seeded_app):
    with seeded_app.app_context():
        yield seeded_app
        db.session.rollback()


@pytest.fixture(scope="session")
def scratch_app(tmp_path_factory):
    with scratch_database(tmp_path_factory.mktemp("scratch"), "scratch") as url:
        app = make_app(url)
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def blank(scratch_app):
    """An empty schema for service tests that write, rebuilt for each test."""
    with scratch_app.app_context():
        db.drop_all()
        db.create_all()
        yield scratch_app
        db.session.remove()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A migrated and seeded database that the tests of one module may write to."""
    with scratch_database(tmp_path_factory.mktemp("workspace"), "work") as url:
        app = make_app(url, OUTBOX_SEND_AFTER_RESPONSE=False)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_all(ROOT / "seeds")
            db.session.remove()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

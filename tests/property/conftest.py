"""The world of the property-based tests: one migrated and seeded database for the package,
test_csrf's accounts and logged-in clients (plus an elected member), the ids the routes
need, and a watch on the SQL that is committed.

Hypothesis profiles (HYPOTHESIS_PROFILE): "ci", the default, draws few examples per route
in a fixed order (derandomize: a failure in CI is reproduced by running the same test
again; the explicit @example nasties are always tried); "explore" draws many, at random,
for a session hunting for new failures.
"""

from __future__ import annotations

import os
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from hypothesis import HealthCheck, settings

from proxiservices.domain.hours import PARIS
from proxiservices.domain.statistics import parse_period
from proxiservices.extensions import db
from proxiservices.models import Answer, User
from proxiservices.services import dashboard
from proxiservices.services.seeding import seed_all
from tests.conftest import ROOT, make_app, scratch_database
from tests.plugins.accounts import csrf_token, login, make_user
from tests.web import local_info_csrf_samples, manage_csrf_samples, test_csrf
from tests.web.samples import read

QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "ci",
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=QUIET,
    print_blob=True,
)
settings.register_profile(
    "explore", max_examples=100, deadline=None, database=None, suppress_health_check=QUIET
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

WRITES = ("INSERT", "UPDATE", "DELETE")


class CommitWatch:
    """Records the tables written by the statements of each committed transaction (a rolled
    back one leaves nothing): what a refused request may have left behind."""

    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.committed: set[str] = set()

    def reset(self) -> None:
        self.pending, self.committed = set(), set()

    def statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        words = statement.split(None, 3)
        if words and words[0].upper() in WRITES:
            target = words[2] if words[0].upper() != "UPDATE" else words[1]
            self.pending.add(target.strip('"').lower())

    def commit(self, conn) -> None:
        self.committed |= self.pending
        self.pending = set()

    def rollback(self, conn) -> None:
        self.pending = set()


@pytest.fixture(scope="package")
def fuzz_app(tmp_path_factory):
    with scratch_database(tmp_path_factory.mktemp("fuzz"), "fuzz") as url:
        app = make_app(
            url,
            OUTBOX_SEND_AFTER_RESPONSE=False,
            RATELIMIT_ENABLED=False,
            # Refused logins are what the fuzzing sends: no throttle to lock the kit out.
            LOGIN_MAX_FAILURES=1_000_000,
            LOGIN_MAX_FAILURES_PER_ADDRESS=1_000_000,
        )
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_all(ROOT / "seeds")
            db.session.remove()
            watch = CommitWatch()
            sa.event.listen(db.engine, "before_cursor_execute", watch.statement)
            sa.event.listen(db.engine, "commit", watch.commit)
            sa.event.listen(db.engine, "rollback", watch.rollback)
        app.extensions["commit_watch"] = watch
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="package")
def kit(fuzz_app):
    """test_csrf's kit (desk, CAF partner, admin, a reset link), an elected member of the
    Vosges, and an existing row for each route that takes an id."""
    app = fuzz_app
    base = test_csrf.kit.__wrapped__(app)
    elected = make_user(app, "elected")
    base.clients["elected"] = app.test_client()
    assert login(base.clients["elected"], elected.email).status_code == 302
    base.tokens["elected"] = csrf_token(base.clients["elected"], "/")
    base.clients["anonymous"] = app.test_client()
    base.tokens["anonymous"] = csrf_token(base.clients["anonymous"])
    with app.app_context():
        admin = db.session.get(User, base.users["admin"].id)
        _share, share_token = dashboard.create_share(
            admin,
            dashboard.EVERYTHING,
            parse_period(None, None, None, datetime.now(PARIS).date()),
            7,
            datetime.now(PARIS),
        )
        answer_id = db.session.scalar(sa.select(Answer.id).order_by(Answer.id))
        db.session.remove()
    base.ids = {
        "request": test_csrf.new_request(base),
        "alert": local_info_csrf_samples._alert(base),
        "atelier": local_info_csrf_samples._atelier(base),
        "closure": manage_csrf_samples._closure(base),
        "permanence": _permanence(base),
        "answer": answer_id,
        "share": share_token,
        "reset": base.reset_path.rsplit("/", 1)[1],
    }
    return base


def _permanence(kit) -> int:
    from proxiservices.models import Permanence

    def make() -> int:
        site = manage_csrf_samples._site()
        permanence = Permanence(
            body_id=site.body_id, host_site_id=site.id, schedule="Fr 09:00-12:00"
        )
        db.session.add(permanence)
        db.session.commit()
        return permanence.id

    return read(kit.app, make)


@pytest.fixture(scope="package")
def row_counts(fuzz_app):
    """Rows per table, in one query: what a refused POST must leave as it was."""
    with fuzz_app.app_context():
        tables = list(db.metadata.sorted_tables)
    query = sa.union_all(
        *(sa.select(sa.literal(t.name), sa.func.count()).select_from(t) for t in tables)
    )

    def count() -> dict[str, int]:
        with fuzz_app.app_context():
            try:
                return dict(db.session.execute(query).all())
            finally:
                db.session.remove()

    return count


@pytest.fixture(scope="package")
def watch(fuzz_app) -> CommitWatch:
    return fuzz_app.extensions["commit_watch"]

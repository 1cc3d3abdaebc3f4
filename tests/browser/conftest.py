"""Browser tests: the app served on a free loopback port, driven by Playwright through the
Debian `chromium` package (never Playwright's own browser download, which cannot be fetched).

Fixtures:

``live_server`` (session)
    The app on its own copy of the seeded database (SQLite file, or a PostgreSQL database
    when TEST_DATABASE_URL is set), served by werkzeug in a background thread.
    ``.url`` is the base URL (``http://127.0.0.1:<port>``), ``.app`` the Flask app (for
    database setup inside ``with live_server.app.app_context():``), ``.errors`` the
    exceptions raised while serving (a test fails when its requests raised one).
``browser`` (session)
    A headless Chromium.
``page``
    A fresh context and page per test: locale fr-FR, viewport 1280x800, 10 s timeouts.
    The test fails if the page threw a JavaScript error or reported a CSP violation, or if
    the server raised while answering.
``new_page(**context_options)``
    One more page in a context of its own (another person, a second screen), checked the
    same way.
``login(page, role) -> User``
    Logs ``page`` in through the real form as the account made for ``role``
    ("receptionist": mairie of Docelles 88135; "partner": CAF des Vosges; "admin";
    "elected": the Vosges). One account per role for the session.
``screenshot(page, name, full_page=False) -> Path``
    Writes ``tests/browser/screenshots/<name>.png`` (git-ignored).

When Chromium or Playwright is missing the tests are skipped with a warning naming the
step to take, unless PROXISERVICES_REQUIRE_BROWSER=1 (set by .ci/run): then they fail.
Every test under tests/browser gets the ``browser`` marker.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, got_request_exception
from werkzeug.serving import WSGIRequestHandler, make_server

from proxiservices.extensions import db
from tests.conftest import BASE_URL, make_app, scratch_database
from tests.plugins.accounts import PASSWORD, make_user

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
CHROMIUM = os.environ.get("PROXISERVICES_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("PROXISERVICES_REQUIRE_BROWSER", "").strip() in {"1", "true", "yes"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Nothing but loopback resolves: the map's tile server and any stray host stay unreached.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
TIMEOUT_MS = 10_000


def missing_step() -> str | None:
    """What to do before the browser tests can run, or None when everything is there."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "the Python package playwright is missing: run `make install` "
            "(pip install -r requirements-dev.txt)"
        )
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"Chromium is missing ({CHROMIUM}): run `apt-get install -y chromium` as root, "
            "or `make test` as root, which installs it"
        )
    return None


_skipped: list[str] = []


def _here(item) -> bool:
    return HERE in Path(str(item.path)).parents


def pytest_itemcollected(item):
    """Every test of this folder is a `browser` test (before `-m` selects)."""
    if _here(item):
        item.add_marker(pytest.mark.browser)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Skip the selected browser tests (with a warning) when the browser is missing, unless
    it is required (CI): then the `browser` fixture fails them, naming the missing step."""
    mine = [item for item in items if _here(item)]
    step = missing_step() if mine else None
    if step and not REQUIRED:
        marker = pytest.mark.skip(reason=f"browser tests skipped: {step}")
        for item in mine:
            item.add_marker(marker)
        _skipped[:] = [step, str(len(mine))]


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        step, count = _skipped
        terminalreporter.write_sep(
            "!", f"WARNING: {count} browser tests SKIPPED: {step}", yellow=True, bold=True
        )


class QuietHandler(WSGIRequestHandler):
    """No access log line per request: the test output stays readable."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class LiveServer:
    url: str
    app: Flask
    errors: list[BaseException] = field(default_factory=list)


def _clone_database(seeded_app: Flask, tmp_dir: Path) -> Iterator[str]:
    """A copy of the seeded database (seconds instead of migrating and seeding again)."""
    url = sa.make_url(seeded_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        target = tmp_dir / "live.sqlite3"
        with seeded_app.app_context():
            db.session.remove()
        source = sqlite3.connect(url.database)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        yield f"sqlite:///{target}"
        return
    name = f"{url.database}_live_{uuid.uuid4().hex[:6]}"
    with seeded_app.app_context():
        db.session.remove()
        db.engine.dispose()
    admin = sa.create_engine(sa.make_url(BASE_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def live_server(seeded_app, tmp_path_factory) -> Iterator[LiveServer]:
    tmp_dir = tmp_path_factory.mktemp("live")
    try:
        clone = _clone_database(seeded_app, tmp_dir)
        database_url = next(clone)
    except sa.exc.DBAPIError:
        # The seeded database is busy (PostgreSQL refuses a template in use): seed a new one.
        clone = _fresh_database(tmp_dir)
        database_url = next(clone)
    app = make_app(database_url, OUTBOX_SEND_AFTER_RESPONSE=False, PROPAGATE_EXCEPTIONS=False)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    app.config["PUBLIC_URL"] = live.url

    def record(sender, exception, **extra):
        live.errors.append(exception)

    got_request_exception.connect(record, app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    # The search index is built on the first search (seconds on a busy machine): build it
    # now, so that no test's first keystrokes wait for it.
    urllib.request.urlopen(f"{live.url}/recherche/suggestions?q=carte", timeout=120).read()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        next(clone, None)


def _fresh_database(tmp_dir: Path) -> Iterator[str]:
    from flask_migrate import upgrade

    from proxiservices.services.seeding import seed_all
    from tests.conftest import ROOT

    with scratch_database(tmp_dir, "live") as url:
        app = make_app(url)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_all(ROOT / "seeds")
            db.session.remove()
            db.engine.dispose()
        yield url


@pytest.fixture(scope="session")
def _playwright():
    step = missing_step()
    if step:
        pytest.fail(f"browser tests required (PROXISERVICES_REQUIRE_BROWSER=1): {step}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(**context_options) -> a page in a context of its own (a second person, a
    second screen); all are closed, and checked like ``page``, at the end of the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    contexts = []
    problems: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"console: {message.text}")

    def make(**options):
        settings = {
            "base_url": live_server.url,
            "locale": "fr-FR",
            "timezone_id": "Europe/Paris",
            "viewport": {"width": 1280, "height": 800},
            **options,
        }
        context = browser.new_context(**settings)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
        page.on("console", on_console)
        return page

    server_errors = len(live_server.errors)
    yield make
    for context in contexts:
        context.close()
    new_errors = live_server.errors[server_errors:]
    assert not new_errors, f"the server raised: {new_errors!r}"
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(new_page):
    return new_page()


_accounts: dict[str, str] = {}
# Names shown in the header of the screenshots (else the e-mail address is shown).
NAMES = {
    "receptionist": "Claire Accueil",
    "partner": "Karim Partenaire",
    "elected": "Élise Élue",
    "admin": "Alain Admin",
}


@pytest.fixture
def login(live_server):
    """login(page, role) -> the account's e-mail, after logging in through the form.
    ``login.email(role)`` makes the role's account without logging in (a partner body
    receives requests only once it has an account)."""

    def email(role: str) -> str:
        if role not in _accounts:
            _accounts[role] = make_user(live_server.app, role, name=NAMES.get(role)).email
        return _accounts[role]

    def log_in(page, role: str = "receptionist") -> str:
        address = email(role)
        page.goto("/connexion")
        page.locator("#email").fill(address)
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("form.stacked-form button[type=submit]").click()
        assert "/connexion" not in page.url, f"login as {role} failed: {page.url}"
        return address

    log_in.email = email
    return log_in


@pytest.fixture(scope="session")
def _screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def screenshot(_screenshots_dir):
    def take(page, name: str, full_page: bool = False) -> Path:
        path = _screenshots_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take

"""Every GET page and API endpoint runs as many SQL queries with 12 more sites, needs,
requests, alerts, ateliers... as with 2: no page reads a collection one row at a time.

The routes come from the app's URL map: a GET route missing from CASES (and not excluded
with a reason in EXCLUDED) fails `test_every_get_route_is_measured`. Each case names who
looks at the page and its address; the data grows between the two counts, and a case that
must show the growth checks that its page mentions more "Extra" rows afterwards, so that a
page the growth never reaches cannot pass unnoticed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import event, select

from proxiservices.domain import lifecycle
from proxiservices.domain import statistics as st
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import (
    Alert,
    Answer,
    AppointmentRequest,
    Atelier,
    Body,
    CatalogueTheme,
    Closure,
    Commune,
    DashboardShare,
    ErrorReport,
    LinkCheck,
    Need,
    PasswordResetToken,
    Permanence,
    Question,
    Referent,
    Site,
    SiteCoverage,
    Theme,
    UnansweredSearch,
    User,
)
from proxiservices.services import activity, audit
from proxiservices.services import dashboard as dashboard_service
from proxiservices.services import requests as request_service
from proxiservices.services.authentication import _token_hash
from proxiservices.services.search import AGGREGATE_MINIMUM
from tests.conftest import make_app, scratch_database
from tests.factories import build_directory
from tests.plugins.accounts import csrf_token, logged_in, make_user

SMALL, LARGE = 2, 12
MARK = "Extra"  # in the name of every row the growth adds (counted in any case)
ALPHA = "88001"  # the resident's commune (EPCI E1) in every address below

# --- the data --------------------------------------------------------------------------------


@dataclass
class World:
    """Ids and slugs the addresses need; set once the base data exists."""

    request_id: int = 0
    answer_id: int = 0
    alert_id: int = 0
    atelier_id: int = 0
    closure_id: int = 0
    permanence_id: int = 0
    reset_token: str = "jeton-de-test-assez-long-pour-etre-valide"
    share_token: str = ""
    grown: int = 0


def _now() -> datetime:
    return datetime.now(PARIS)


def _wall(days: float = 0) -> datetime:
    """A Europe/Paris wall-clock time (naive), as closures, alerts and ateliers store them."""
    return (_now() + timedelta(days=days)).replace(tzinfo=None, microsecond=0)


def _midnight(days: int) -> datetime:
    """The start of a day as a wall-clock time: a closure of whole days reaches the hours
    whatever the time the tests run at (a 12-hour one from now misses 9h–12h hours when
    it starts in the afternoon)."""
    return _wall(days).replace(hour=0, minute=0, second=0)


def _user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def _site(slug: str) -> Site:
    return db.session.scalars(select(Site).where(Site.slug == slug)).one()


def _body(slug: str) -> Body:
    return db.session.scalars(select(Body).where(Body.slug == slug)).one()


def _need(slug: str) -> Need:
    return db.session.scalars(select(Need).where(Need.slug == slug)).one()


def _contact(name: str) -> request_service.ResidentContact:
    return request_service.ResidentContact(
        name=name,
        phone="0601020304",
        email="usager@example.org",
        channel="phone",
        time_slots=[],
        availability=None,
        message=None,
    )


def build_base(app, world: World) -> None:
    """The factory directory, a tree, accounts, a catalogue and one of each thing a detail
    page shows."""
    with app.app_context():
        build_directory()
        now = _now()
        theme = db.session.scalars(select(Theme)).one()
        theme.slug = "logement"
        root = Question(slug="q-root", text="Quelle démarche ?", theme_id=theme.id)
        db.session.add(root)
        db.session.flush()
        sub = Question(
            slug="q-sub", text="Plus précisément ?", theme_id=theme.id, parent_id=root.id
        )
        db.session.add(sub)
        db.session.flush()
        needs = db.session.scalars(select(Need).order_by(Need.id)).all()
        for position, need in enumerate(needs):
            db.session.add(
                Answer(question_id=root.id, position=position, label=need.title, need_id=need.id)
            )
        db.session.add(
            Answer(question_id=root.id, position=50, label="Autre", next_question_id=sub.id)
        )
        apl = _need("apl")
        apl.request_possible = True
        apl.keywords = ["allocation logement"]
        sub_answer = Answer(question_id=sub.id, position=0, label="APL", need_id=apl.id)
        db.session.add(sub_answer)
        root_theme = CatalogueTheme(code="N0", title="Catalogue", position=0)
        db.session.add(root_theme)
        db.session.flush()
        db.session.add(CatalogueTheme(code="N1", title="Sous-thème", parent_id=root_theme.id))
        db.session.commit()
        world.answer_id = sub_answer.id

        for role, attachment in [
            ("admin", {}),
            ("receptionist", {"site_ref": "mairie-88001"}),
            ("partner", {"body_slug": "caf"}),
            ("elected", {"territory_code": "88"}),
        ]:
            make_user(app, role, email=f"{role}@example.org", **attachment)
        admin, desk, partner = (
            _user(f"{r}@example.org") for r in ("admin", "receptionist", "partner")
        )
        fs = _site("fs-beta")
        closure = Closure(
            site_id=fs.id, kind="closed", starts_at=_wall(3), ends_at=_wall(4), message="Inventaire"
        )
        alert = Alert(
            area_code=ALPHA,
            category="works",
            severity="info",
            title="Travaux",
            message="",
            starts_at=_wall(-1),
            ends_at=_wall(2),
            created_at=now,
            updated_at=now,
        )
        atelier = Atelier(
            site_id=fs.id,
            title="Atelier courriel",
            theme="courriel",
            starts_at=_wall(5),
            ends_at=_wall(5.1),
            places=8,
            signup="Sur place",
            created_at=now,
            updated_at=now,
        )
        db.session.add_all([closure, alert, atelier])
        db.session.add(
            PasswordResetToken(
                user_id=admin.id,
                token_hash=_token_hash(world.reset_token),
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
        db.session.commit()
        world.closure_id, world.alert_id, world.atelier_id = closure.id, alert.id, atelier.id
        world.permanence_id = db.session.scalars(select(Permanence.id)).one()

        tracked = request_service.submit_request(
            actor=desk,
            need=apl,
            commune=db.session.get(Commune, ALPHA),
            body=_body("caf"),
            contact=_contact("Usager suivi"),
            at=now,
        )
        request_service.apply_action(tracked, lifecycle.VIEW, actor=partner, at=now)
        world.request_id = tracked.id
        scope = dashboard_service.resolve_scope("88")
        period = st.parse_period(None, None, None, now.date())
        _share, world.share_token = dashboard_service.create_share(admin, scope, period, 30, now)
        db.session.remove()


@dataclass
class Base:
    """The base rows every growth step attaches to, read in the growth's session."""

    admin: User
    desk: User
    partner: User
    caf: Body
    fs_body: Body
    fs: Site
    theme: Theme
    root: Question
    sub: Question
    leaf: CatalogueTheme

    @classmethod
    def read(cls) -> Base:
        def one(model, column, value):
            return db.session.scalars(select(model).where(column == value)).one()

        return cls(
            *(
                one(User, User.email, f"{r}@example.org")
                for r in ("admin", "receptionist", "partner")
            ),
            _body("caf"),
            _body("fs"),
            _site("fs-beta"),
            one(Theme, Theme.slug, "logement"),
            one(Question, Question.slug, "q-root"),
            one(Question, Question.slug, "q-sub"),
            one(CatalogueTheme, CatalogueTheme.code, "N1"),
        )


@dataclass
class Step:
    """What one growth step made, for the next parts of the same step."""

    i: int
    tag: str
    now: datetime
    commune: Commune | None = None
    body: Body | None = None
    caf_site: Site | None = None
    org_site: Site | None = None
    fs_site: Site | None = None
    agent: User | None = None
    need: Need | None = None


def grow(app, world: World, count: int) -> None:
    """`count` more of everything the pages list, each reaching the pages measured: sites
    covering the commune, needs in the tree and the search, requests in the desk's list and
    the partner's inbox, alerts, ateliers, permanences, closures, referents, reports..."""
    with app.app_context():
        base = Base.read()
        for i in range(world.grown, world.grown + count):
            step = Step(i, f"{MARK} {i:02d}", _now())
            _grow_directory(base, step)
            _grow_tree(base, step)
            _grow_local_info(base, step)
            _grow_upkeep(base, step)
            db.session.commit()
            _grow_activity(base, step)
            _grow_requests(base, step, world)
        world.grown += count
        db.session.remove()


def _grow_directory(base: Base, step: Step) -> None:
    """A commune of the EPCI, a body, three sites (the CAF's, the new body's, a France
    Services), an agent, closures and permanences."""
    i, tag = step.i, step.tag
    step.commune = Commune(
        insee=f"88{100 + i:03d}",
        name=f"Ville {tag}",
        folded_name=f"ville extra {i:02d}",
        postcodes="88100",
        departement_code="88",
        epci_code="E1",
        latitude=48.0 + i / 1000,
        longitude=6.01,
        position_approx=False,
    )
    db.session.add(step.commune)
    db.session.flush()
    base.fs.coverage.append(SiteCoverage(area_code=step.commune.insee))
    step.body = Body(
        slug=f"extra-{i:02d}",
        name=f"Organisme {tag}",
        kind_code="CAF",
        website=f"https://extra-{i:02d}.example.invalid/",
    )
    db.session.add(step.body)
    db.session.flush()
    sites = []
    for owner, kind, coverage in [
        (base.caf, "caf", ["88", ALPHA]),
        (step.body, "org", ["E1"]),
        (base.fs_body, "fs", ["E1"]),
    ]:
        site = Site(
            slug=f"{kind}-extra-{i:02d}",
            name=f"{kind.upper()} {tag}",
            body_id=owner.id,
            commune_insee=ALPHA if kind != "org" else step.commune.insee,
            latitude=48.0 + i / 500,
            longitude=6.0 + i / 500,
            position_approx=False,
            opening_hours="Mo-Fr 09:00-12:00,13:30-16:30; PH off",
            address=f"{i} rue {tag}",
            url=f"https://{kind}-extra-{i:02d}.example.invalid/",
            note=f"Note {tag}",
            coverage=[SiteCoverage(area_code=code) for code in coverage],
        )
        db.session.add(site)
        sites.append(site)
    db.session.flush()
    step.caf_site, step.org_site, step.fs_site = sites
    # A desk agent of its own (no login: a placeholder hash) so that rows name different
    # people, desks, bodies and communes: a lazy load per row then shows as a query per
    # row instead of finding an object the page already loaded.
    step.agent = User(
        email=f"agent-{i:02d}@example.org",
        name=f"Agent {tag}",
        role="receptionist",
        site_id=step.fs_site.id,
        password_hash="-",
        session_token=f"extra-{i:02d}",
        created_at=step.now,
    )
    db.session.add(step.agent)
    for site in (base.fs, step.caf_site, step.fs_site):
        db.session.add_all(
            [
                Closure(
                    site_id=site.id,
                    kind="closed",
                    starts_at=_midnight(6 + i),
                    ends_at=_midnight(7 + i),
                    message=f"Fermeture {tag}",
                ),
                Closure(
                    site_id=site.id,
                    kind="message",
                    starts_at=_wall(-20 - i),
                    ends_at=_wall(-19 - i),
                    message=f"Passée {tag}",
                ),
            ]
        )
    db.session.add_all(
        [
            Permanence(
                body_id=base.caf.id, host_site_id=step.fs_site.id, schedule="Mo-Fr 09:00-12:00"
            ),
            Permanence(body_id=step.body.id, host_site_id=base.fs.id, schedule="Mo-Fr 14:00-16:00"),
        ]
    )
    db.session.flush()


def _catalogue_fiche(slug: str, title: str, theme: CatalogueTheme) -> Need:
    return Need(
        slug=slug,
        title=title,
        body_kind_code="CAF",
        keywords=[],
        documents=[],
        self_service=[],
        help_kinds=[],
        origin="catalogue",
        catalogue_theme_id=theme.id,
    )


def _grow_tree(base: Base, step: Step) -> None:
    """A need found by "allocation", in a theme of its own and in the tree of "logement"
    (root, sub-question and a question of its own below it); catalogue fiches."""
    i, tag = step.i, step.tag
    own_theme = Theme(slug=f"theme-extra-{i:02d}", title=f"Thème {tag}", position=10 + i)
    branch = CatalogueTheme(code=f"NX{i:02d}", title=f"Rubrique {tag}", position=10 + i)
    db.session.add_all([own_theme, branch])
    db.session.flush()
    step.need = need = Need(
        slug=f"extra-need-{i:02d}",
        title=f"Allocation {tag}",
        theme_id=own_theme.id,
        body_kind_code="CAF",
        keywords=["allocation logement"],
        documents=[f"Justificatif {tag}"],
        self_service=[],
        help_kinds=[],
        request_possible=True,
        online_url=f"https://need-{i:02d}.example.invalid/",
    )
    own_root = Question(slug=f"q-extra-{i:02d}", text=f"Question {tag}", theme_id=own_theme.id)
    deep = Question(
        slug=f"q-deep-{i:02d}",
        text=f"Question {tag}",
        theme_id=base.theme.id,
        parent_id=base.sub.id,
    )
    db.session.add_all(
        [
            need,
            own_root,
            deep,
            _catalogue_fiche(f"sp-FX{i:02d}", f"Fiche {tag}", base.leaf),
            _catalogue_fiche(f"sp-FY{i:02d}", f"Fiche rubrique {tag}", branch),
        ]
    )
    db.session.flush()
    db.session.add_all(
        [
            Answer(question_id=base.root.id, position=100 + i, label=need.title, need_id=need.id),
            Answer(question_id=base.sub.id, position=100 + i, label=need.title, need_id=need.id),
            Answer(question_id=base.sub.id, position=200 + i, label=tag, next_question_id=deep.id),
            Answer(question_id=deep.id, position=0, label=need.title, need_id=need.id),
            Answer(question_id=own_root.id, position=0, label=need.title, need_id=need.id),
        ]
    )


def _grow_local_info(base: Base, step: Step) -> None:
    """Current alerts for the commune, its EPCI and the département; coming ateliers at
    the France Services sites, some organised by a body."""
    for area in (ALPHA, "E1", "88"):
        db.session.add(
            Alert(
                area_code=area,
                category="works",
                severity="warning",
                title=f"Alerte {step.tag}",
                message=f"Message {step.tag}",
                body_kind_code="CAF" if area == "88" else None,
                starts_at=_wall(-1),
                ends_at=_wall(3),
                created_at=step.now,
                updated_at=step.now,
                created_by_id=step.agent.id,
            )
        )
    for host, organiser in [
        (base.fs, None),
        (step.fs_site, base.caf.id),
        (base.fs, step.body.id),
        (base.fs, base.caf.id),
    ]:
        db.session.add(
            Atelier(
                site_id=host.id,
                body_id=organiser,
                title=f"Atelier {step.tag}",
                theme="numérique",
                starts_at=_wall(1 + step.i / 10),
                ends_at=_wall(1.05 + step.i / 10),
                places=6,
                signup="Sur place",
                created_at=step.now,
                updated_at=step.now,
            )
        )


def _grow_upkeep(base: Base, step: Step) -> None:
    """Referents, error reports, a dead link, a search nobody answered (often enough to
    be shown), audit entries and a share link."""
    i, tag, now, agent = step.i, step.tag, step.now, step.agent
    for owner in (step.body, base.caf):
        db.session.add(
            Referent(
                body_id=owner.id,
                name=f"Référent {tag}",
                function="Chargé",
                notify=True,
                email=f"referent-{i:02d}@example.org",
                position=i,
            )
        )
    for site in (step.caf_site, step.org_site):
        db.session.add(
            ErrorReport(
                site_id=site.id,
                topic="phone",
                message=f"Erreur {tag}",
                created_at=now,
                reporter_id=agent.id,
            )
        )
    db.session.add(LinkCheck(url=step.caf_site.url, checked_at=now, ok=False, status_code=404))
    for _ in range(AGGREGATE_MINIMUM):
        db.session.add(
            UnansweredSearch(
                text=f"question extra {i:02d}",
                folded=f"question extra {i:02d}",
                created_at=now,
                commune_insee=ALPHA,
            )
        )
    for object_type, object_id in [
        ("site", base.fs.id),
        ("body", base.caf.id),
        ("theme", base.theme.id),
        ("question", base.root.id),
        ("need", step.need.id),
    ]:
        audit.record(
            agent, object_type, object_id, f"Objet {tag}", "update", {"n": 1}, {"n": 2}, at=now
        )
    db.session.add(
        DashboardShare(
            token_hash=f"extra-{i:02d}",
            territory_code="E1",
            period_kind=st.LAST_30_DAYS,
            start=date.today() - timedelta(days=29),
            end=date.today(),
            created_by_id=base.admin.id,
            created_at=now,
            expires_at=now + timedelta(days=7),
        )
    )


def _grow_activity(base: Base, step: Step) -> None:
    """Desk and public visits for the new need, in two communes."""
    for channel, site_id in ((activity.DESK, base.desk.site_id), (activity.PUBLIC, None)):
        for insee in (ALPHA, step.commune.insee):
            activity.record_visit(step.need, insee, channel, step.now, desk_site_id=site_id)


def _grow_requests(base: Base, step: Step, world: World) -> None:
    """A request to the CAF (opened and taken: transitions and e-mails), one from another
    desk to another body for another commune, and a new appointment for the tracked one."""
    now = step.now
    sent = request_service.submit_request(
        actor=base.desk,
        need=step.need,
        commune=db.session.get(Commune, ALPHA),
        body=base.caf,
        contact=_contact(f"Usager {step.tag}"),
        at=now,
    )
    request_service.apply_action(sent, lifecycle.VIEW, actor=base.partner, at=now)
    request_service.apply_action(sent, lifecycle.TAKE, actor=base.partner, at=now)
    request_service.submit_request(
        actor=step.agent,
        need=step.need,
        commune=step.commune,
        body=step.body,
        contact=_contact(f"Autre usager {step.tag}"),
        at=now,
    )
    tracked = db.session.get(AppointmentRequest, world.request_id)
    request_service.apply_action(
        tracked,
        lifecycle.SCHEDULE,
        actor=base.partner,
        at=now,
        details=request_service.ActionInput(
            comment=f"Rendez-vous {step.tag}",
            scheduled_at=now + timedelta(days=3 + step.i),
            mode="site",
            place=f"Accueil {step.tag}",
        ),
    )


# --- the pages -------------------------------------------------------------------------------

ANONYMOUS, ADMIN, DESK, PARTNER, ELECTED = None, "admin", "receptionist", "partner", "elected"
# A second window of the desk's browser, paired as a resident screen, following a result.
SCREEN = "screen"


@dataclass
class Case:
    rule: str
    role: str | None
    url: Callable[[World], str]
    # True: the page must mention more MARK rows after the growth; else why it cannot.
    grows: bool | str = True
    headers: dict[str, str] = field(default_factory=dict)
    label: str = ""  # tells apart two cases of one route and role
    # A form posted to the route instead of a GET, for a search that lists rows.
    form: dict[str, str] | None = None


def fixed(url: str) -> Callable[[World], str]:
    return lambda _world: url


ORIENTATION = f"need=apl&commune={ALPHA}"
CASES = [
    Case("/", ANONYMOUS, fixed(f"/?commune={ALPHA}")),
    Case("/", DESK, fixed("/")),
    Case("/commune", ANONYMOUS, fixed("/commune?q=ville+extra")),
    Case("/themes", ANONYMOUS, fixed(f"/themes?commune={ALPHA}")),
    Case("/themes/<slug>", ANONYMOUS, fixed(f"/themes/logement?commune={ALPHA}")),
    Case("/questions/<slug>", ANONYMOUS, fixed(f"/questions/q-sub?commune={ALPHA}")),
    Case("/orientation", ANONYMOUS, fixed(f"/orientation?{ORIENTATION}")),
    Case("/orientation", DESK, fixed(f"/orientation?{ORIENTATION}")),
    Case("/orientation/fiche", ANONYMOUS, fixed(f"/orientation/fiche?{ORIENTATION}")),
    Case("/recherche", ANONYMOUS, fixed(f"/recherche?q=allocation&commune={ALPHA}")),
    Case(
        "/recherche",
        ANONYMOUS,
        fixed(f"/recherche?q=zzxqw&commune={ALPHA}"),
        label="nothing found: the themes",
    ),
    Case(
        "/recherche/suggestions",
        ANONYMOUS,
        fixed(f"/recherche/suggestions?q=allocation&commune={ALPHA}"),
        headers={"HX-Request": "true"},
    ),
    Case("/catalogue", ANONYMOUS, fixed("/catalogue")),
    Case("/catalogue/<code>", ANONYMOUS, fixed("/catalogue/N1")),
    Case("/carte", ANONYMOUS, fixed(f"/carte?commune={ALPHA}")),
    Case("/organismes/<slug>", ANONYMOUS, fixed("/organismes/caf")),
    Case("/organismes/<slug>.ics", ANONYMOUS, fixed("/organismes/caf.ics")),
    Case("/lieux/<slug>", ANONYMOUS, fixed("/lieux/fs-beta")),
    Case("/lieux/<slug>.ics", ANONYMOUS, fixed("/lieux/fs-beta.ics")),
    Case("/lieux/<slug>/signaler", ANONYMOUS, fixed("/lieux/fs-beta/signaler"), grows="a form"),
    Case(
        "/lieux/<slug>/signaler/merci",
        ANONYMOUS,
        fixed("/lieux/fs-beta/signaler/merci"),
        grows="a thank-you",
    ),
    Case("/communes/<insee>", ANONYMOUS, fixed(f"/communes/{ALPHA}")),
    Case("/communes/<insee>/alertes.atom", ANONYMOUS, fixed(f"/communes/{ALPHA}/alertes.atom")),
    Case("/sources", ANONYMOUS, fixed("/sources")),
    Case("/api/v1/communes", ANONYMOUS, fixed("/api/v1/communes?q=ville+extra&limit=50")),
    Case("/api/v1/needs", ANONYMOUS, fixed("/api/v1/needs?q=allocation&limit=50")),
    Case("/api/v1/needs/<slug>", ANONYMOUS, fixed("/api/v1/needs/apl"), grows="one need"),
    Case("/api/v1/orientation", ANONYMOUS, fixed(f"/api/v1/orientation?{ORIENTATION}")),
    Case("/healthz", ANONYMOUS, fixed("/healthz"), grows="one probe query"),
    Case("/connexion", ANONYMOUS, fixed("/connexion"), grows="a form"),
    Case("/mot-de-passe-oublie", ANONYMOUS, fixed("/mot-de-passe-oublie"), grows="a form"),
    Case(
        "/mot-de-passe/<token>",
        ANONYMOUS,
        lambda w: f"/mot-de-passe/{w.reset_token}",
        grows="a form",
    ),
    Case("/partage/<token>", ANONYMOUS, lambda w: f"/partage/{w.share_token}"),
    Case("/compte", DESK, fixed("/compte"), grows="one account"),
    Case("/demandes", DESK, fixed("/demandes")),
    Case("/demandes", ADMIN, fixed("/demandes")),
    Case("/demandes/nouvelle", DESK, fixed(f"/demandes/nouvelle?{ORIENTATION}")),
    Case("/demandes/<int:request_id>", DESK, lambda w: f"/demandes/{w.request_id}"),
    Case(
        "/demandes/<int:request_id>/confirmation",
        DESK,
        lambda w: f"/demandes/{w.request_id}/confirmation",
        grows="the printout of one request",
    ),
    Case("/partenaires", DESK, fixed("/partenaires")),
    Case("/partenaire/demandes", PARTNER, fixed("/partenaire/demandes?statut=toutes")),
    Case("/partenaire/demandes", ADMIN, fixed("/partenaire/demandes?statut=toutes")),
    Case(
        "/partenaire/demandes/<int:request_id>",
        PARTNER,
        lambda w: f"/partenaire/demandes/{w.request_id}",
    ),
    Case("/tableau-de-bord", ELECTED, fixed("/tableau-de-bord")),
    Case("/tableau-de-bord", ADMIN, fixed("/tableau-de-bord")),
    Case("/tableau-de-bord", ADMIN, fixed(f"/tableau-de-bord?territoire={ALPHA}"), label="commune"),
    Case(
        "/tableau-de-bord/export/<key>.csv", ELECTED, fixed("/tableau-de-bord/export/besoins.csv")
    ),
    Case("/gestion", ADMIN, fixed("/gestion")),
    Case("/gestion", PARTNER, fixed("/gestion")),
    Case("/gestion/historique", ADMIN, fixed("/gestion/historique")),
    Case(
        "/gestion/horaires/apercu",
        ADMIN,
        fixed("/gestion/horaires/apercu?opening_hours=Mo-Fr+09:00-12:00&lieu=fs-beta"),
        grows="a preview of 14 days",
    ),
    Case("/gestion/organismes/<slug>", ADMIN, fixed("/gestion/organismes/caf")),
    Case(
        "/gestion/organismes/<slug>/modifier",
        ADMIN,
        fixed("/gestion/organismes/caf/modifier"),
        grows="a form",
    ),
    Case(
        "/gestion/organismes/nouveau", ADMIN, fixed("/gestion/organismes/nouveau"), grows="a form"
    ),
    Case(
        "/gestion/organismes/<body_slug>/lieux/nouveau",
        ADMIN,
        fixed("/gestion/organismes/caf/lieux/nouveau"),
        grows="a form",
    ),
    Case(
        "/gestion/organismes/<body_slug>/permanences/nouvelle",
        ADMIN,
        fixed("/gestion/organismes/caf/permanences/nouvelle"),
    ),
    Case(
        "/gestion/permanences/<int:permanence_id>",
        ADMIN,
        lambda w: f"/gestion/permanences/{w.permanence_id}",
    ),
    Case("/gestion/lieux/<slug>", ADMIN, fixed("/gestion/lieux/fs-beta")),
    Case("/gestion/lieux/<slug>/modifier", ADMIN, fixed("/gestion/lieux/fs-beta/modifier")),
    Case(
        "/gestion/lieux/<slug>/fermetures/nouvelle",
        ADMIN,
        fixed("/gestion/lieux/fs-beta/fermetures/nouvelle"),
        grows="a form",
    ),
    Case(
        "/gestion/lieux/<slug>/fermetures/<int:closure_id>",
        ADMIN,
        lambda w: f"/gestion/lieux/fs-beta/fermetures/{w.closure_id}",
        grows="the form of one closure",
    ),
    Case("/gestion/alertes", ADMIN, fixed("/gestion/alertes")),
    Case("/gestion/alertes", DESK, fixed("/gestion/alertes")),
    Case("/gestion/alertes/nouvelle", ADMIN, fixed("/gestion/alertes/nouvelle")),
    Case("/gestion/alertes/<int:alert_id>", ADMIN, lambda w: f"/gestion/alertes/{w.alert_id}"),
    Case("/gestion/ateliers", ADMIN, fixed("/gestion/ateliers")),
    Case("/gestion/ateliers", PARTNER, fixed("/gestion/ateliers")),
    Case("/gestion/ateliers/nouveau", ADMIN, fixed("/gestion/ateliers/nouveau")),
    Case(
        "/gestion/ateliers/<int:atelier_id>", ADMIN, lambda w: f"/gestion/ateliers/{w.atelier_id}"
    ),
    Case("/admin", ADMIN, fixed("/admin"), grows="a list of links"),
    Case("/admin/recherche", ADMIN, fixed("/admin/recherche?q=allocation")),
    Case("/admin/recherches-sans-resultat", ADMIN, fixed("/admin/recherches-sans-resultat")),
    Case("/admin/fraicheur", ADMIN, fixed("/admin/fraicheur")),
    Case("/admin/signalements", ADMIN, fixed("/admin/signalements")),
    Case("/admin/lieux-mediation", ADMIN, fixed("/admin/lieux-mediation"), grows="an import form"),
    Case("/admin/lieux-mediation/export.csv", ADMIN, fixed("/admin/lieux-mediation/export.csv")),
    Case("/admin/seeds.zip", ADMIN, fixed("/admin/seeds.zip")),
    Case("/donnees-personnelles", ANONYMOUS, fixed("/donnees-personnelles"), grows="a notice"),
    Case("/ecran-usager", DESK, fixed("/ecran-usager"), grows="one desk's pairing"),
    Case("/ecran", ANONYMOUS, fixed("/ecran"), grows="the code form"),
    Case("/ecran", SCREEN, fixed("/ecran"), grows="the nearest place only", label="paired"),
    Case(
        "/ecran/etat",
        SCREEN,
        fixed("/ecran/etat"),
        grows="the nearest place only",
        headers={"HX-Request": "true"},
    ),
    Case("/accessibilite", ANONYMOUS, fixed("/accessibilite"), grows="a statement"),
    Case(
        "/admin/donnees-personnelles", ADMIN, fixed("/admin/donnees-personnelles"), grows="a form"
    ),
    Case(
        "/admin/donnees-personnelles",
        ADMIN,
        fixed("/admin/donnees-personnelles"),
        label="every request of one resident",
        form={"email": "usager@example.org", "phone": ""},
    ),
    Case("/admin/arbre", ADMIN, fixed("/admin/arbre")),
    Case("/admin/arbre/themes/<slug>", ADMIN, fixed("/admin/arbre/themes/logement")),
    Case("/admin/arbre/questions/<slug>", ADMIN, fixed("/admin/arbre/questions/q-root")),
    Case("/admin/arbre/besoins/<slug>", ADMIN, fixed("/admin/arbre/besoins/apl")),
    Case("/admin/arbre/besoins/nouveau", ADMIN, fixed("/admin/arbre/besoins/nouveau")),
    Case(
        "/admin/arbre/reponses/<int:answer_id>/question",
        ADMIN,
        lambda w: f"/admin/arbre/reponses/{w.answer_id}/question",
        grows="the form of one answer",
    ),
]
EXCLUDED = {
    "/static/<path:filename>": "files read from disk by Flask, no database",
}


def paired_screen(app):
    """A desk session of its own with a second window as resident screen, on a result."""
    client = logged_in(app, "receptionist@example.org")
    token = csrf_token(client, "/ecran-usager")
    assert client.post("/ecran-usager/fenetre", data={"csrf_token": token}).status_code == 303
    assert client.get(f"/orientation?{ORIENTATION}").status_code == 200
    return client


def case_id(case: Case) -> str:
    name = f"{case.rule} as {case.role or 'anonymous'}"
    return f"{name} ({case.label})" if case.label else name


def marks(response) -> int:
    """How many rows the growth added are on the page (inside the archive for a zip)."""
    if response.mimetype == "application/zip":
        with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
            return sum(
                archive.read(name).decode().lower().count(MARK.lower())
                for name in archive.namelist()
            )
    return response.get_data(as_text=True).lower().count(MARK.lower())


def measure(app, clients, world: World) -> dict[str, tuple[int, int]]:
    """(queries, rows) of each case; each address is opened once first, so that what a
    first visit does (remembering the commune, recording the visit, building the search
    index after the needs changed) is not counted."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    found = {}
    for case in CASES:
        client, url = clients[case.role], case.url(world)
        if case.form is None:
            open_page = partial(client.get, url, headers=case.headers)
        else:
            data = {**case.form, "csrf_token": csrf_token(client, url)}
            open_page = partial(client.post, url, data=data, headers=case.headers)
        open_page()
        event.listen(engine, "before_cursor_execute", record)
        try:
            statements.clear()
            response = open_page()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert response.status_code == 200, (case_id(case), response.status_code)
        found[case_id(case)] = (len(statements), marks(response))
    return found


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    with scratch_database(tmp_path_factory.mktemp("queries"), "queries") as url:
        app = make_app(
            url,
            OUTBOX_SEND_AFTER_RESPONSE=False,
            RATELIMIT_ENABLED=False,
            MAX_SITES=100,
            MAX_HELP_DESKS=100,
        )
        with app.app_context():
            db.create_all()
        world = World()
        build_base(app, world)
        grow(app, world, SMALL)
        clients = {ANONYMOUS: app.test_client()}
        for role in (ADMIN, DESK, PARTNER, ELECTED):
            clients[role] = logged_in(app, f"{role}@example.org")
        clients[SCREEN] = paired_screen(app)
        small = measure(app, clients, world)
        grow(app, world, LARGE - SMALL)
        large = measure(app, clients, world)
        yield app, small, large
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_every_get_route_is_measured():
    assert len({case_id(case) for case in CASES}) == len(CASES), "two cases with one name"
    app = make_app("sqlite://")  # the URL map only: no database is opened
    rules = {r.rule for r in app.url_map.iter_rules() if "GET" in r.methods}
    cased = {case.rule for case in CASES}
    assert rules - cased - set(EXCLUDED) == set(), "GET routes with no constant-query case"
    assert cased - rules == set(), "cases of routes that no longer exist"
    assert set(EXCLUDED) <= rules


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_queries_do_not_grow_with_the_data(measured, case):
    _app, small, large = measured
    (before, rows_before), (after, rows_after) = small[case_id(case)], large[case_id(case)]
    if case.grows is True:
        assert rows_after > rows_before, f"the growth does not reach {case_id(case)}"
    assert after == before, f"{case_id(case)}: {before} queries with {SMALL}, {after} with {LARGE}"

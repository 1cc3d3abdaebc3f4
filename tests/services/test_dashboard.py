"""The dashboard's aggregates against figures computed by hand, small counts hidden,
territories kept apart, CSV content, and share links that expire and are revoked."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import delete, select

from proxiservices.domain import statistics as st
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import (
    ActivityCount,
    ActivityEvent,
    Body,
    DashboardShare,
    Need,
    UnansweredSearch,
    User,
)
from proxiservices.services import activity
from proxiservices.services import dashboard as service
from tests.plugins.accounts import make_user

MARCH = st.Period(st.CUSTOM, date(2025, 3, 1), date(2025, 3, 31))  # before: 29 Jan-28 Feb
AT = datetime(2025, 4, 2, 10, 0, tzinfo=PARIS)
BRUYERES, DOCELLES, EPINAL = "88078", "88135", "88160"
CC_BRUYERES, CA_EPINAL = "200042000", "200068757"
DAY = 86400


@pytest.fixture(scope="module")
def world(workspace):
    """Events written as the application writes them, on days chosen for the sums below."""
    with workspace.app_context():
        db.session.execute(delete(ActivityEvent))
        db.session.execute(delete(ActivityCount))
        db.session.execute(delete(UnansweredSearch))
        needs = {
            n.slug: n
            for n in db.session.scalars(
                select(Need).where(Need.slug.in_(["aide-logement", "cni-passeport-demande"]))
            )
        }
        bodies = {
            b.slug: b.id
            for b in db.session.scalars(
                select(Body).where(Body.slug.in_(["caf-vosges", "cpam-vosges"]))
            )
        }
        housing, papers = needs["aide-logement"], needs["cni-passeport-demande"]

        def visit(day, commune, need, n=1, channel="desk", outcome=None):
            for _ in range(n):
                at = datetime.combine(day, time(10), PARIS)
                db.session.add(
                    ActivityEvent(
                        kind="visit",
                        occurred_at=at,
                        occurred_on=day,
                        channel=channel,
                        need_id=need.id,
                        theme_id=need.theme_id,
                        body_kind_code=need.body_kind_code,
                        commune_insee=commune,
                        found_via="tree",
                        outcome=outcome,
                    )
                )

        def transition(day, body, from_status, to_status, elapsed_days=0.0, commune=BRUYERES):
            db.session.add(
                ActivityEvent(
                    kind="request",
                    occurred_at=datetime.combine(day, time(10), PARIS),
                    occurred_on=day,
                    need_id=housing.id,
                    theme_id=housing.theme_id,
                    commune_insee=commune,
                    body_id=bodies[body],
                    from_status=from_status,
                    to_status=to_status,
                    elapsed_seconds=int(elapsed_days * DAY),
                )
            )

        march, february = date(2025, 3, 10), date(2025, 2, 10)
        # March, CC Bruyères: housing 10 at Bruyères (5 autonomous, 5 oriented) + 3 at
        # Docelles; papers 6 at Bruyères. February: housing 2 at Bruyères.
        visit(march, BRUYERES, housing, 5, outcome="autonomous")
        visit(march, BRUYERES, housing, 5, outcome="oriented")
        visit(date(2025, 3, 24), DOCELLES, housing, 3)
        visit(date(2025, 3, 31), BRUYERES, papers, 6)
        visit(february, BRUYERES, housing, 2)
        visit(date(2025, 1, 28), BRUYERES, housing, 9)  # the day before the previous period
        visit(date(2025, 4, 1), BRUYERES, housing, 9)  # the day after the period
        # Another EPCI (Épinal) and the public web pages.
        visit(march, EPINAL, papers, 8, outcome="autonomous")
        visit(march, BRUYERES, housing, 5, channel="public")
        visit(march, BRUYERES, housing, 1, channel="api")
        # Requests: CAF 6 sent in March, 5 first answers (1..5 days), 5 closures (2..10 days);
        # CPAM 2 sent; one CAF request from Épinal, outside the CC.
        for _ in range(6):
            transition(march, "caf-vosges", None, "submitted")
        for days in (1, 2, 3, 4, 5):
            transition(march, "caf-vosges", "viewed", "in_progress", days)
        transition(march, "caf-vosges", "submitted", "viewed", 0.1)  # not an answer
        for days in (2, 4, 6, 8, 10):
            transition(march, "caf-vosges", "in_progress", "closed", days)
        for _ in range(2):
            transition(march, "cpam-vosges", None, "submitted")
        transition(march, "caf-vosges", None, "submitted", commune=EPINAL)
        # Searches without an answer: 6 for residents of Bruyères, 5 of Épinal, 2 unknown.
        for text, commune, times in (
            ("permis peche", BRUYERES, 6),
            ("papillon chasse", EPINAL, 5),
            ("bateau permis", None, 2),
        ):
            for _ in range(times):
                db.session.add(
                    UnansweredSearch(
                        text=text,
                        folded=text,
                        commune_insee=commune,
                        created_at=datetime.combine(march, time(11), PARIS),
                    )
                )
        # Written as rows, as a bulk load would: the counts are recomputed from them.
        activity.rebuild_counts()
        db.session.commit()
        yield workspace
        db.session.execute(delete(ActivityEvent))
        db.session.execute(delete(ActivityCount))
        db.session.execute(delete(UnansweredSearch))
        db.session.commit()


def board(scope_code: str | None, period=MARCH) -> service.Dashboard:
    return service.build_dashboard(service.resolve_scope(scope_code), period, AT, (3, 10))


def texts(table: service.Table) -> dict[str, list[str]]:
    rows = {row.label: [c.text for c in row.cells] for row in table.rows}
    if table.total:
        rows["Total"] = [c.text for c in table.total.cells]
    return rows


def test_needs_and_themes_of_the_cc(world):
    with world.app_context():
        result = board(CC_BRUYERES)
        themes = texts(result.tables["themes"])
        housing = db.session.scalars(select(Need).where(Need.slug == "aide-logement")).one()
        papers = db.session.scalars(select(Need).where(Need.slug == "cni-passeport-demande")).one()
        # 13 housing visits (10 + 3), 2 the month before; 6 for papers, none before.
        assert themes[housing.theme.title][:2] == ["13", "< 5"]
        assert themes[papers.theme.title][:3] == ["6", "0", "+6"]
        # The previous total (2) is small itself: hidden.
        assert themes["Total"][:2] == ["19", "< 5"]
        needs = texts(result.tables["besoins"])
        assert needs[housing.title][:2] == ["13", "< 5"]
        assert needs[papers.title][:2] == ["6", "0"]
        assert result.desk_visits.text == "19"
        assert [row.label for row in result.tables["themes"].rows] == [
            housing.theme.title,
            papers.theme.title,
        ]


def test_communes_of_the_cc_with_secondary_suppression(world):
    with world.app_context():
        table = board(CC_BRUYERES).tables["communes"]
        communes = texts(table)
        # Docelles has 3: "< 5"; the total (19) would give it away next to Bruyères (16),
        # so Bruyères is hidden too. Every other commune of the CC is listed, with 0.
        assert communes["Docelles (88135)"][0] == "< 5"
        assert communes["Bruyères (88078)"][0] == "masqué"
        assert communes["Total"][0] == "19"
        assert len(table.rows) == 34
        assert communes["Beauménil (88046)"] == ["0", "0", "0"]
        assert all(row.cells[0].shade is None for row in table.rows)


def test_an_elected_member_of_one_epci_sees_nothing_of_another(world):
    with world.app_context():
        ours = board(CC_BRUYERES)
        theirs = board(CA_EPINAL)
        assert not any("Épinal" in row.label for row in ours.tables["communes"].rows)
        assert not any("Bruyères" in row.label for row in theirs.tables["communes"].rows)
        assert theirs.desk_visits.text == "8"
        assert texts(theirs.tables["issues"])["Autonome"][0] == "8"
        assert texts(theirs.tables["organismes"])["Total"][0] == "< 5"
        # Searches without an answer: those made for residents of the territory only.
        assert texts(ours.tables["recherches"]) == {
            "permis peche": ["6"],
            "Total": ["6"],
        }
        assert texts(theirs.tables["recherches"]) == {
            "papillon chasse": ["5"],
            "Total": ["5"],
        }
        # The whole département adds both; everything adds those without a commune.
        assert board("88").desk_visits.text == "27"
        assert texts(board("88").tables["recherches"])["Total"] == ["11"]
        everything = service.build_dashboard(service.EVERYTHING, MARCH, AT, (3, 10))
        assert texts(everything.tables["recherches"])["Total"] == ["13"]


def test_outcomes_and_the_share_of_autonomous_residents(world):
    with world.app_context():
        result = board(CC_BRUYERES)
        issues = texts(result.tables["issues"])
        assert issues["Autonome"][0] == "5"
        assert issues["Orienté"][0] == "5"
        assert issues["Non renseignée"][0] == "9"
        # 5 autonomous among the 10 visits given an outcome.
        assert result.autonomy.text == "50,0\u202f%"
        assert result.autonomy_base.text == "10"
        # In Épinal's EPCI every visit ended autonomous.
        assert board(CA_EPINAL).autonomy.text == "100,0\u202f%"


def test_channels_count_public_and_api_views_apart(world):
    with world.app_context():
        channels = texts(board(BRUYERES).tables["canaux"])
        # No total row: the desk count (16) is the total of the other tables, so a total
        # here would give the small API count away.
        assert channels["Accueil (agent connecté)"][0] == "16"
        assert channels["Site public (sans connexion)"][0] == "5"
        assert channels["API (autres outils)"][0] == "< 5"
        assert "Total" not in channels


def test_trend_by_week_sums_to_the_period(world):
    with world.app_context():
        trend = board(CC_BRUYERES).tables["tendance"]
        weeks = {row.label: row.cells[0].text for row in trend.rows}
        assert weeks["sem. du 1 mars"] == "0"
        assert weeks["sem. du 10 mars"] == "10"
        assert weeks["sem. du 24 mars"] == "< 5"
        assert weeks["sem. du 31 mars"] == "masqué"
        assert trend.total.cells[0].text == "19"
        assert len(trend.rows) == 6


def test_partner_response_times_median_and_80th_percentile(world):
    with world.app_context():
        bodies = texts(board(CC_BRUYERES).tables["organismes"])
        caf, cpam = bodies["CAF des Vosges"], bodies["CPAM des Vosges"]
        # 6 and 2 requests: the 2 is small, the 6 hidden beside it (the total shows 8).
        assert caf[0] == "masqué" and cpam[0] == "< 5"
        assert bodies["Total"][0] == "8"
        assert caf[1:5] == ["3,0\u202fj", "4,2\u202fj", "6,0\u202fj", "8,4\u202fj"]
        assert cpam[1:5] == ["—"] * 4


def test_previous_period_and_change(world):
    with world.app_context():
        themes = board(BRUYERES).tables["themes"]
        total = [c.text for c in themes.total.cells]
        assert total[:2] == ["16", "< 5"]
        assert total[2] == "—"  # no change shown against a hidden count


def test_queries_do_not_grow_with_the_data(world):
    from sqlalchemy import event

    with world.app_context():
        counted: list[str] = []

        def record(*args):
            counted.append(args[2])

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            board(CC_BRUYERES)
            small = len(counted)
            counted.clear()
            board(CC_BRUYERES, st.Period(st.CUSTOM, date(2024, 1, 1), date(2025, 12, 31)))
            large = len(counted)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert small == large <= 14


def test_csv_has_a_bom_semicolons_and_the_same_hidden_cells(world):
    with world.app_context():
        result = board(CC_BRUYERES)
        text = service.table_csv(result.tables["communes"])
        assert text.startswith("\ufeffCommune;Période;Période précédente;Évolution\r\n")
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
        by_label = {row[0]: row for row in rows[1:]}
        assert by_label["Docelles (88135)"][1] == "< 5"
        assert by_label["Total"][1] == "19"
        assert by_label["Beauménil (88046)"][1:3] == ["0", "0"]
        needs = list(
            csv.reader(io.StringIO(service.table_csv(result.tables["besoins"])), delimiter=";")
        )
        assert needs[0][0].endswith("Thème") and len(needs[1]) == len(needs[0])
        assert (
            service.csv_filename(result, "communes")
            == "proxiservices-communes-200042000-2025-03-01_2025-03-31.csv"
        )


def test_unknown_territories_are_refused(world):
    with world.app_context():
        for code in ("99999", "abc;drop", "x" * 30):
            with pytest.raises(service.DashboardError):
                service.resolve_scope(code)
        assert service.resolve_scope("").kind == service.ALL
        assert service.resolve_scope("88").kind == service.DEPARTEMENT


def test_share_links_expire_and_can_be_revoked(world):
    author = make_user(world, "elected", territory_code=CC_BRUYERES)
    other = make_user(world, "elected", territory_code=CA_EPINAL)
    with world.app_context():
        actor = db.session.get(User, author.id)
        scope = service.resolve_scope(CC_BRUYERES)
        share, token = service.create_share(actor, scope, MARCH, 7, AT)
        stored = db.session.get(DashboardShare, share.id)
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        assert service.get_share(token, AT + timedelta(days=6)).id == share.id
        with pytest.raises(service.ShareGone, match="expiré"):
            service.get_share(token, AT + timedelta(days=7))
        with pytest.raises(LookupError):
            service.get_share(token + "x", AT)
        with pytest.raises(service.DashboardError):
            service.create_share(actor, scope, MARCH, 365, AT)
        # Only its author (or an administrator) revokes it.
        with pytest.raises(LookupError):
            service.revoke_share(db.session.get(User, other.id), share.id, AT)
        service.revoke_share(actor, share.id, AT)
        with pytest.raises(service.ShareGone, match="révoqué"):
            service.get_share(token, AT)
        assert [s.id for s in service.list_shares(actor)] == [share.id]
        assert service.list_shares(db.session.get(User, other.id)) == []


def test_the_page_sums_a_themes_less_frequent_needs_and_the_csv_lists_them_all():
    """About 3,000 catalogue fiches would make an unreadable page: each theme shows its 15
    most frequent needs and one row for the others; the export gives every need."""
    by_need = {(7, n): [100 - n, 50] for n in range(40)}
    titles = {n: f"Besoin {n:02d}" for n in range(40)}
    hidden = {(7, 0): False, (7, 1): False}
    args = ([7], by_need, titles, lambda t: "Thème", hidden)
    page = service._needs_table(*args, service.NEEDS_SHOWN_PER_THEME)
    assert [r.label for r in page.rows[:2]] == ["Besoin 00", "Besoin 01"]
    assert len(page.rows) == service.NEEDS_SHOWN_PER_THEME + 1
    others = page.rows[-1]
    assert others.label == "Autres besoins du thème (25)"
    assert others.cells[0].number == sum(100 - n for n in range(15, 40))
    assert others.cells[1].number == 25 * 50
    assert "le fichier CSV les donne tous" in page.note
    full = service._needs_table(*args, None)
    assert len(full.rows) == 40 and full.note is None

"""The freshness loop as people use it: a visitor reports an error from a site page, an
administrator sees what is stale, dates a site as checked and works through the reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import Body, ErrorReport, LinkCheck, Site, User
from proxiservices.services import audit, upkeep
from proxiservices.services.directory import get_site
from tests.plugins.accounts import csrf_in, logged_in, make_user
from tests.queries import count_queries
from tests.web.html import link_to, main_content, text_of, without_title

BRUYERES = "mairie-88078"
HTMX = {"HX-Request": "true", "HX-Target": "main", "HX-Current-URL": "http://localhost/"}
VALID = {
    "topic": "phone",
    "message": "Le numéro sonne dans le vide depuis une semaine.",
    "contact": "",
}


@pytest.fixture(scope="module")
def people(workspace):
    return {
        "admin": make_user(workspace, "admin").email,
        "desk": make_user(workspace, "receptionist", commune_insee="88078").email,
        "partner": make_user(workspace, "partner", body_slug="caf-vosges").email,
    }


@pytest.fixture
def admin(workspace, people):
    return logged_in(workspace, people["admin"])


def today() -> date:
    return datetime.now(PARIS).date()


def set_verified(app, slug: str, day: date | None) -> None:
    with app.app_context():
        get_site(slug).verified_on = day
        db.session.commit()


def reports_for(app, slug: str) -> list[ErrorReport]:
    with app.app_context():
        site = get_site(slug)
        rows = list(
            db.session.scalars(
                select(ErrorReport).where(ErrorReport.site_id == site.id).order_by(ErrorReport.id)
            )
        )
        db.session.expunge_all()
        return rows


def post_report(client, slug: str, data: dict, **kwargs):
    token = csrf_in(client.get(f"/lieux/{slug}/signaler").get_data(as_text=True))
    return client.post(f"/lieux/{slug}/signaler", data={**data, "csrf_token": token}, **kwargs)


# --- the site page ------------------------------------------------------------------------


def test_a_site_page_says_when_it_was_verified_where_from_and_how_to_report(workspace):
    client = workspace.test_client()
    set_verified(workspace, BRUYERES, date(2026, 10, 6))
    page = client.get(f"/lieux/{BRUYERES}").get_data(as_text=True)
    text = text_of(main_content(page))
    assert "vérifié le 6 octobre 2026" in text
    assert "Source :" in text
    assert link_to(page, "Signaler une erreur sur cette fiche") == f"/lieux/{BRUYERES}/signaler"

    set_verified(workspace, "sip-vittel", None)
    unknown = text_of(main_content(client.get("/lieux/sip-vittel").get_data(as_text=True)))
    assert "date de vérification inconnue" in unknown
    assert "vérifié le" not in unknown


# --- reporting an error -------------------------------------------------------------------


def test_anyone_reports_an_error_and_is_thanked(workspace):
    client = workspace.test_client()
    form = client.get(f"/lieux/{BRUYERES}/signaler")
    assert form.status_code == 200
    form_text = text_of(main_content(form.get_data(as_text=True)))
    assert "Signaler une erreur" in form_text
    assert "Mairie de Bruyères" in form_text, "the site is named: the report is about it"
    for label in ("Le numéro de téléphone", "L'adresse", "Les horaires", "Autre chose"):
        assert label in form_text

    before = len(reports_for(workspace, BRUYERES))
    response = post_report(client, BRUYERES, {**VALID, "contact": " Jeanne@Exemple.FR "})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/lieux/{BRUYERES}/signaler/merci"
    thanks = client.get(response.headers["Location"])
    assert "Merci pour votre signalement" in text_of(main_content(thanks.get_data(as_text=True)))

    stored = reports_for(workspace, BRUYERES)
    assert len(stored) == before + 1
    report = stored[-1]
    assert (report.topic, report.message, report.status) == ("phone", VALID["message"], "open")
    assert report.contact == "Jeanne@Exemple.FR"
    assert report.reporter_id is None


def test_a_logged_in_agent_is_recorded_as_the_reporter(workspace, people):
    client = logged_in(workspace, people["desk"])
    response = post_report(client, "sip-epinal", {**VALID, "topic": "hours"})
    assert response.status_code == 303
    report = reports_for(workspace, "sip-epinal")[-1]
    with workspace.app_context():
        desk = db.session.scalar(select(User).where(User.email == people["desk"]))
        assert report.reporter_id == desk.id
    assert report.topic == "hours"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**VALID, "message": "Faux."}, "Entre 10 et 2000 caractères."),
        ({**VALID, "message": "x" * 2001}, "Entre 10 et 2000 caractères."),
        ({**VALID, "message": "          "}, "Décrivez ce qui est faux."),
        ({**VALID, "topic": ""}, "Choisissez ce qui est faux."),
        ({**VALID, "topic": "weather"}, "Choisissez ce qui est faux."),
        ({**VALID, "contact": "jeanne@"}, "Adresse e-mail non reconnue"),
    ],
    ids=["short", "long", "blank", "no-topic", "unknown-topic", "bad-email"],
)
def test_an_invalid_report_comes_back_in_french_and_nothing_is_stored(workspace, data, message):
    client = workspace.test_client()
    before = len(reports_for(workspace, BRUYERES))
    response = post_report(client, BRUYERES, data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in text_of(main_content(body))
    assert "Le formulaire contient une erreur" in text_of(body)
    assert len(reports_for(workspace, BRUYERES)) == before
    if data["message"].strip() and len(data["message"]) < 100:
        assert data["message"] in body, "what was typed is kept"


def test_a_report_without_csrf_token_is_refused(workspace):
    client = workspace.test_client()
    before = len(reports_for(workspace, BRUYERES))
    response = client.post(f"/lieux/{BRUYERES}/signaler", data=VALID)
    assert response.status_code == 400
    assert len(reports_for(workspace, BRUYERES)) == before


def test_unknown_site_is_a_404(workspace):
    assert workspace.test_client().get("/lieux/nulle-part/signaler").status_code == 404


def test_a_flood_of_reports_on_one_site_is_refused_after_five_an_hour(workspace):
    client = workspace.test_client()
    slug = "msa-lorraine-epinal"
    for _ in range(upkeep.REPORTS_PER_SITE_PER_HOUR):
        assert post_report(client, slug, VALID).status_code == 303
    refused = post_report(client, slug, VALID)
    assert refused.status_code == 429
    text = text_of(main_content(refused.get_data(as_text=True)))
    assert "déjà reçu plusieurs signalements dans l'heure" in text
    assert VALID["message"] in refused.get_data(as_text=True), "the message is not lost"
    assert len(reports_for(workspace, slug)) == upkeep.REPORTS_PER_SITE_PER_HOUR


def flood(app, count: int, at: datetime) -> list[int]:
    """`count` reports spread over many sites (none above the per-site limit), at `at`."""
    with app.app_context():
        site_ids = list(db.session.scalars(select(Site.id).order_by(Site.id).limit(200)))
        rows = [
            ErrorReport(
                site_id=site_ids[i % len(site_ids)],
                topic="other",
                message="Message de masse, pour tester la limite.",
                created_at=at,
                status="open",
            )
            for i in range(count)
        ]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


def remove_reports(app, ids: list[int]) -> None:
    with app.app_context():
        db.session.execute(delete(ErrorReport).where(ErrorReport.id.in_(ids)))
        db.session.commit()


def test_someone_flooding_many_sites_does_not_silence_genuine_reports(workspace):
    """The old application-wide limit (60 an hour) let one person block every report."""
    ids = flood(workspace, 120, datetime.now(UTC) - timedelta(minutes=10))
    try:
        response = post_report(workspace.test_client(), "caf-vosges-epinal", VALID)
        assert response.status_code == 303
        ids.append(reports_for(workspace, "caf-vosges-epinal")[-1].id)
    finally:
        remove_reports(workspace, ids)


def test_a_flood_over_the_whole_application_is_refused_at_the_ceiling(workspace):
    assert upkeep.REPORTS_PER_HOUR >= 100 * upkeep.REPORTS_PER_SITE_PER_HOUR
    ids = flood(workspace, upkeep.REPORTS_PER_HOUR, datetime.now(UTC) - timedelta(minutes=10))
    try:
        before = len(reports_for(workspace, "caf-vosges-epinal"))
        refused = post_report(workspace.test_client(), "caf-vosges-epinal", VALID)
        assert refused.status_code == 429
        assert "Trop de signalements ont été envoyés dans l'heure" in text_of(
            main_content(refused.get_data(as_text=True))
        )
        assert len(reports_for(workspace, "caf-vosges-epinal")) == before
    finally:
        remove_reports(workspace, ids)


def test_the_form_is_the_same_markup_for_htmx(workspace):
    client = workspace.test_client()
    page = client.get(f"/lieux/{BRUYERES}/signaler").get_data(as_text=True)
    fragment = client.get(f"/lieux/{BRUYERES}/signaler", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert without_title(fragment).strip() == main_content(page).strip()


# --- the freshness dashboard --------------------------------------------------------------


def test_a_site_verified_seven_months_ago_is_listed_one_verified_last_month_is_not(
    workspace, admin
):
    set_verified(workspace, "caf-vosges-epinal", today() - timedelta(days=213))
    set_verified(workspace, "cpam-vosges-epinal", today() - timedelta(days=30))
    caf = admin.get("/admin/fraicheur?type=CAF")
    assert caf.status_code == 200
    caf_text = text_of(main_content(caf.get_data(as_text=True)))
    assert "CAF des Vosges – accueil d'Épinal" in caf_text
    cpam = text_of(main_content(admin.get("/admin/fraicheur?type=CPAM").get_data(as_text=True)))
    assert "CPAM des Vosges – accueil d'Épinal" not in cpam
    assert "Aucun lieu à vérifier pour ce type d'organisme." in cpam

    overview = text_of(main_content(admin.get("/admin/fraicheur").get_data(as_text=True)))
    assert "Caisse d'allocations familiales (CAF) 1" in overview
    assert "Caisse primaire d'assurance maladie (CPAM)" not in overview


def test_never_verified_sites_come_first(workspace, admin):
    set_verified(workspace, "sip-epinal", None)
    set_verified(workspace, "sip-remiremont", today() - timedelta(days=400))
    set_verified(workspace, "sip-saint-die", today() - timedelta(days=200))
    set_verified(workspace, "sip-vittel", None)
    text = text_of(
        main_content(admin.get("/admin/fraicheur?type=DGFIP_SIP").get_data(as_text=True))
    )
    order = [
        text.index(f"Service des impôts des particuliers (SIP) {place}")
        for place in ("d'Épinal", "de Vittel", "de Remiremont", "de Saint-Dié-des-Vosges")
    ]
    assert order == sorted(order)
    assert "4 lieux, le plus ancien d'abord" in text
    assert text.count("jamais") >= 2


def test_a_long_list_is_paged_fifty_at_a_time(workspace, admin):
    with workspace.app_context():
        mairies = select(Site.id).join(Site.body).where(Body.kind_code == "MAIRIE")
        ids = list(db.session.scalars(mairies.order_by(Site.id)))
        db.session.execute(update(Site).where(Site.id.in_(ids)).values(verified_on=today()))
        db.session.execute(
            update(Site).where(Site.id.in_(ids[:55])).values(verified_on=date(2020, 1, 1))
        )
        db.session.commit()
    first = admin.get("/admin/fraicheur?type=MAIRIE").get_data(as_text=True)
    assert "55 lieux, le plus ancien d'abord (page 1 sur 2)" in text_of(first)
    assert main_content(first).count("comme vérifié aujourd'hui</button>") == 50
    assert link_to(first, "Page suivante") == "/admin/fraicheur?type=MAIRIE&page=2"
    second = admin.get("/admin/fraicheur?type=MAIRIE&page=2").get_data(as_text=True)
    assert main_content(second).count("comme vérifié aujourd'hui</button>") == 5
    assert link_to(second, "Page précédente") == "/admin/fraicheur?type=MAIRIE&page=1"
    # Marking from page 2 comes back to page 2.
    with workspace.app_context():
        last = db.session.get(Site, ids[54])
    response = admin.post(
        f"/admin/fraicheur/lieux/{last.id}/verifie",
        data={"csrf_token": csrf_in(second), "type": "MAIRIE", "page": "2"},
    )
    assert response.headers["Location"] == "/admin/fraicheur?type=MAIRIE&page=2"
    assert "54 lieux" in text_of(admin.get(response.headers["Location"]).get_data(as_text=True))


@pytest.mark.parametrize(
    ("query", "status"),
    [("type=NIMPORTE", 400), ("page=0", 400), ("page=abc", 400), ("page=999", 200)],
)
def test_bad_filters_are_refused(admin, query, status):
    assert admin.get(f"/admin/fraicheur?{query}").status_code == status


def test_marking_a_site_verified_dates_it_audits_it_and_takes_it_off_the_list(
    workspace, admin, people
):
    set_verified(workspace, "msvs-remiremont", date(2024, 1, 15))
    page = admin.get("/admin/fraicheur?type=DEPARTEMENT").get_data(as_text=True)
    assert "MSVS de Remiremont" in text_of(main_content(page))
    with workspace.app_context():
        site_id = get_site("msvs-remiremont").id
    response = admin.post(
        f"/admin/fraicheur/lieux/{site_id}/verifie",
        data={"csrf_token": csrf_in(page), "type": "DEPARTEMENT"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/fraicheur?type=DEPARTEMENT"
    after = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "« MSVS de Remiremont » est marqué comme vérifié aujourd'hui." in text_of(after)
    assert "MSVS de Remiremont</a>" not in main_content(after)

    with workspace.app_context():
        site = db.session.get(Site, site_id)
        assert site.verified_on == today()
        assert site.edited_at is not None
        (entry,) = audit.history("site", site_id)
        assert entry.actor_label == people["admin"]
        assert entry.changes == {"verified_on": ["2024-01-15", today().isoformat()]}


def test_only_an_administrator_marks_a_site_verified(workspace, people):
    set_verified(workspace, "region-grand-est-maison-epinal", date(2025, 12, 4))
    with workspace.app_context():
        site_id = get_site("region-grand-est-maison-epinal").id
    for who in ("desk", "partner"):
        client = logged_in(workspace, people[who])
        token = csrf_in(client.get("/").get_data(as_text=True))
        response = client.post(
            f"/admin/fraicheur/lieux/{site_id}/verifie", data={"csrf_token": token}
        )
        assert response.status_code == 403
    with workspace.app_context():
        assert db.session.get(Site, site_id).verified_on == date(2025, 12, 4)
        assert audit.history("site", site_id) == []


def test_dead_links_are_listed_with_the_pages_that_use_them(workspace, admin):
    with workspace.app_context():
        db.session.execute(delete(LinkCheck))
        bruyeres_url = get_site(BRUYERES).url
        at = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
        db.session.add_all(
            [
                LinkCheck(url=bruyeres_url, checked_at=at, ok=False, status_code=404,
                          error="page introuvable (404)"),
                LinkCheck(url="https://plus-utilise.example/", checked_at=at, ok=False,
                          error="nom de domaine introuvable"),
                LinkCheck(url="https://www.caf.fr/", checked_at=at, ok=True, status_code=200),
            ]
        )  # fmt: skip
        db.session.commit()
    page = admin.get("/admin/fraicheur").get_data(as_text=True)
    text = text_of(main_content(page))
    assert (
        "Dernière vérification le 20 novembre 2026 à 3h30 : 3 adresses vérifiées, 1 morte" in text
    )
    assert bruyeres_url in page
    assert "page introuvable (404)" in text
    assert "Mairie de Bruyères – site web du lieu" in text
    assert "plus-utilise.example" not in page, "a dead address no longer used is not shown"


def add_dead_link(app, site_slug: str) -> None:
    with app.app_context():
        site = get_site(site_slug)
        site.url = f"https://{site_slug}.example/"
        at = datetime.now(UTC)
        db.session.add(LinkCheck(url=site.url, checked_at=at, ok=False, error="connexion refusée"))
        db.session.commit()


def test_the_dashboard_runs_the_same_queries_whatever_it_shows(workspace, admin):
    """One stale site, one report, one dead link; then more of each: no more queries."""
    set_verified(workspace, "france-services-epinal", None)
    post_report(workspace.test_client(), "france-services-epinal", VALID)
    add_dead_link(workspace, "agirc-arrco-epinal")
    url, filtered = "/admin/fraicheur", "/admin/fraicheur?type=FRANCE_SERVICES"
    before = count_queries(workspace, admin, url)
    before_filtered = count_queries(workspace, admin, filtered)
    for slug in ("france-services-neufchateau", "france-services-rambervillers"):
        set_verified(workspace, slug, None)
        post_report(workspace.test_client(), slug, VALID)
        add_dead_link(workspace, slug)
    assert count_queries(workspace, admin, url) == before
    assert count_queries(workspace, admin, filtered) == before_filtered


# --- the queue of reports -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["desk", "partner"])
def test_the_queue_is_for_administrators(workspace, people, who):
    client = logged_in(workspace, people[who])
    assert client.get("/admin/signalements").status_code == 403
    assert client.get("/admin/fraicheur").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(workspace):
    response = workspace.test_client().get("/admin/signalements")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_an_administrator_marks_a_report_fixed_with_a_note_audited(workspace, admin, people):
    slug = "mission-locale-remiremont-site"
    post_report(workspace.test_client(), slug, {**VALID, "contact": "jeanne@exemple.fr"})
    (report,) = reports_for(workspace, slug)
    queue = admin.get("/admin/signalements").get_data(as_text=True)
    text = text_of(main_content(queue))
    assert f"N° {report.id} – Mission locale – Remiremont : Le numéro de téléphone" in text
    assert VALID["message"] in text
    assert "jeanne@exemple.fr" in text

    prefix = f"r{report.id}"
    missing_note = admin.post(
        f"/admin/signalements/{report.id}",
        data={"csrf_token": csrf_in(queue), f"{prefix}-decision": "fixed", f"{prefix}-note": ""},
    )
    assert missing_note.status_code == 422
    assert "Indiquez ce qui a été fait" in text_of(missing_note.get_data(as_text=True))
    assert reports_for(workspace, slug)[0].status == "open"

    done = admin.post(
        f"/admin/signalements/{report.id}",
        data={
            "csrf_token": csrf_in(queue),
            f"{prefix}-decision": "fixed",
            f"{prefix}-note": "Numéro corrigé après appel à la mission locale.",
        },
    )
    assert done.status_code == 303
    assert done.headers["Location"] == "/admin/signalements"
    after = text_of(main_content(admin.get("/admin/signalements").get_data(as_text=True)))
    assert f"Signalement n° {report.id} (Mission locale – Remiremont) : corrigé." in after
    assert "Numéro corrigé après appel à la mission locale." in after

    (resolved,) = reports_for(workspace, slug)
    assert (resolved.status, resolved.resolution) == (
        "fixed",
        "Numéro corrigé après appel à la mission locale.",
    )
    assert resolved.resolved_at is not None and resolved.resolved_by_id is not None
    assert resolved.contact is None, "the form promises the address is erased"
    assert "jeanne@exemple.fr" not in admin.get("/admin/signalements").get_data(as_text=True)
    with workspace.app_context():
        (entry,) = audit.history("report", report.id)
        assert entry.actor_label == people["admin"]
        assert entry.changes["status"] == ["open", "fixed"]
        assert entry.changes["resolution"][1] == "Numéro corrigé après appel à la mission locale."

    # A second administrator on the same report: told, nothing changes.
    again = admin.post(
        f"/admin/signalements/{report.id}",
        data={
            "csrf_token": csrf_in(queue),
            f"{prefix}-decision": "rejected",
            f"{prefix}-note": "Doublon",
        },
        follow_redirects=True,
    )
    assert "était déjà traité (corrigé) : rien n'a été modifié" in text_of(
        again.get_data(as_text=True)
    )
    assert reports_for(workspace, slug)[0].status == "fixed"
    with workspace.app_context():
        assert len(audit.history("report", report.id)) == 1


def test_open_reports_come_first_oldest_first(workspace, admin):
    first = "mission-locale-saint-die-site"
    second = "conseiller-numerique-bruyeres-site"
    post_report(workspace.test_client(), first, {**VALID, "topic": "address"})
    post_report(workspace.test_client(), second, {**VALID, "topic": "closed"})
    text = text_of(main_content(admin.get("/admin/signalements").get_data(as_text=True)))
    to_do, done = text.split("Traités récemment")
    assert to_do.index("Mission locale – Saint-Dié-des-Vosges : L'adresse") < to_do.index(
        "Conseiller numérique – Bruyères : Le lieu a fermé ou déménagé"
    )
    assert "Mission locale – Saint-Dié-des-Vosges" not in done


def test_the_report_form_says_when_the_address_is_erased(workspace):
    form = workspace.test_client().get(f"/lieux/{BRUYERES}/signaler").get_data(as_text=True)
    assert "effacée dès que le signalement est traité" in text_of(main_content(form))


def test_purging_deletes_reports_resolved_over_a_year_ago_and_erases_leftover_addresses(
    workspace,
):
    now = datetime.now(UTC)
    with workspace.app_context():
        site = get_site("caf-vosges-epinal")

        def report(created_days: int, resolved_days: int | None, contact: str | None):
            row = ErrorReport(
                site_id=site.id,
                topic="other",
                message="Signalement pour la purge.",
                contact=contact,
                created_at=now - timedelta(days=created_days),
                status="open" if resolved_days is None else "fixed",
                resolved_at=None if resolved_days is None else now - timedelta(days=resolved_days),
                resolution=None if resolved_days is None else "Fait.",
            )
            db.session.add(row)
            return row

        old = report(500, 400, "vieux@exemple.fr")
        recent = report(40, 30, "recent@exemple.fr")  # resolved before addresses were erased
        waiting = report(500, None, "attend@exemple.fr")
        db.session.commit()
        ids = {name: r.id for name, r in (("old", old), ("recent", recent), ("open", waiting))}

    result = workspace.test_cli_runner().invoke(args=["reports", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 signalement(s) supprimé(s), 1 adresse(s) de contact effacée(s)." in result.output

    with workspace.app_context():
        assert db.session.get(ErrorReport, ids["old"]) is None
        assert db.session.get(ErrorReport, ids["recent"]).contact is None
        kept = db.session.get(ErrorReport, ids["open"])
        assert kept.contact == "attend@exemple.fr", "an open report still needs its answer"
        again = upkeep.purge_reports(now)
        assert (again.deleted, again.contacts_erased) == (0, 0)
        db.session.execute(delete(ErrorReport).where(ErrorReport.id.in_(list(ids.values()))))
        db.session.commit()

"""The directory administration as people use it: an administrator enters a Christmas closure
and a monthly permanence, a CAF agent fixes its own phone number, and nobody edits another
body's data. Every change leaves its audit entry, before → after."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html import unescape
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from proxiservices.domain.changes import closure_period
from proxiservices.domain.hours import PARIS, day_label
from proxiservices.domain.text import fold
from proxiservices.extensions import db
from proxiservices.models import AuditEntry, Body, Closure, Commune, Permanence, Site, User
from proxiservices.services import manage_edits as edits
from proxiservices.services.manage import HostRefused
from tests.plugins.accounts import csrf_in, logged_in, make_user
from tests.queries import count_queries
from tests.web.html import main_content, text_of, without_title
from tests.web.samples import read

CAF_SITE = "/gestion/lieux/caf-vosges-epinal"
CPAM_SITE = "/gestion/lieux/cpam-vosges-epinal"
MAIRIE_HOURS = "Mo-Fr 08:30-12:00,13:30-17:00; PH off"


@pytest.fixture(scope="module")
def people(workspace):
    accounts = {
        "admin": make_user(workspace, "admin"),
        "caf": make_user(workspace, "partner", body_slug="caf-vosges"),
        "cpam": make_user(workspace, "partner", body_slug="cpam-vosges"),
        "desk": make_user(workspace, "receptionist", commune_insee="88135"),
    }
    return SimpleNamespace(
        app=workspace,
        users=accounts,
        **{role: logged_in(workspace, user.email) for role, user in accounts.items()},
    )


def entries(app, object_type: str) -> list[SimpleNamespace]:
    def load():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == object_type).order_by(AuditEntry.id)
        )
        return [
            SimpleNamespace(
                actor=e.actor_label, action=e.action, changes=e.changes, object_id=e.object_id
            )
            for e in rows
        ]

    return read(app, load)


def site_row(app, slug: str) -> SimpleNamespace:
    def load():
        site = db.session.scalars(select(Site).where(Site.slug == slug)).one()
        return SimpleNamespace(
            id=site.id,
            phone=site.phone,
            opening_hours=site.opening_hours,
            edited_at=site.edited_at,
            coverage=sorted(c.area_code for c in site.coverage),
            closures=len(site.closures),
        )

    return read(app, load)


def post_form(client, url: str, fields: dict, page_url: str | None = None, **options):
    """POST with the token of the page, like the browser after a GET of the form."""
    token = csrf_in(client.get(page_url or url).text)
    return client.post(url, data={"csrf_token": token, **fields}, **options)


def site_fields(**changes) -> dict:
    fields = {
        "name": "CAF des Vosges – accueil d'Épinal",
        "address": "30 chemin la Belle au Bois Dormant",
        "postcode": "88000",
        "commune_insee": "88160",
        "latitude": "",
        "longitude": "",
        "phone": "",
        "email": "",
        "url": "",
        "opening_hours": MAIRIE_HOURS,
        "hours_note": "",
        "accessibility": "",
        "coverage": "88",
        "source": "",
        "verified_on": "",
        "note": "",
    }
    fields.update(changes)
    return fields


# --- hours: validated as typed, previewed over 14 days -----------------------------------


def test_hours_preview_shows_the_next_14_days_in_french(people, monkeypatch):
    import proxiservices.blueprints.manage as blueprint

    # A fixed Monday: the real clock could pass midnight between the page and the test.
    monkeypatch.setattr(blueprint, "now", lambda: datetime(2026, 11, 23, 10, 0, tzinfo=PARIS))
    response = people.caf.get(
        "/gestion/horaires/apercu",
        query_string={"opening_hours": MAIRIE_HOURS},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text  # a fragment for htmx
    rows = re.findall(r"<th scope=\"row\">([^<]+)</th><td>([^<]+)</td>", response.text)
    assert len(rows) == 14
    labels = [label for label, _ in rows]
    assert (labels[0], labels[-1]) == ("lundi 23 nov.", "dimanche 6 déc.")
    for label, text in rows:
        if label.startswith(("samedi", "dimanche")):
            assert text == "fermé"
        elif "jour férié" not in text:
            assert text == "8h30–12h, 13h30–17h"


def test_christmas_reads_closed_for_the_holiday(people, monkeypatch):
    import proxiservices.blueprints.manage as blueprint

    monkeypatch.setattr(blueprint, "now", lambda: datetime(2026, 12, 20, 10, 0, tzinfo=PARIS))
    response = people.caf.get(
        "/gestion/horaires/apercu",
        query_string={"opening_hours": MAIRIE_HOURS},
        headers={"HX-Request": "true"},
    )
    text = text_of(response.text)
    assert "lundi 21 déc. 8h30–12h, 13h30–17h" in text
    assert "vendredi 25 déc. fermé (jour férié)" in text
    assert "dimanche 20 déc. fermé" in text
    assert "samedi 2 janv." in text


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("Lu-Ve 8h30-12h", "Les jours s'écrivent en anglais : Mo Tu We Th Fr Sa Su."),
        ("Mo-Fr 08:30-12:00 13:30-17:00", "Deux plages du même jour se séparent par une virgule"),
        ("Mo-Fr 08:30-", "Les horaires sont incomplets"),
    ],
)
def test_hours_errors_are_explained_as_typed(people, expr, message):
    response = people.caf.get(
        "/gestion/horaires/apercu",
        query_string={"opening_hours": expr},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert message in text_of(response.text)
    assert "<table" not in response.text


def test_without_javascript_the_preview_is_a_page_of_its_own(people):
    response = people.caf.get("/gestion/horaires/apercu?opening_hours=Mo-Fr+9-12")
    assert response.status_code == 200
    main = text_of(main_content(response.text))
    assert "Vérifier des horaires" in main
    assert "Écrivez les minutes : 09:00-12:00, pas 9-12." in main


def test_the_hours_field_asks_for_the_preview_as_one_types(people):
    page = people.caf.get(f"{CAF_SITE}/modifier")
    assert page.status_code == 200
    field = re.search(r"<input[^>]*name=\"opening_hours\"[^>]*>", page.text).group(0)
    assert 'hx-get="/gestion/horaires/apercu"' in field
    assert 'hx-trigger="input changed delay:400ms"' in field
    assert 'hx-target="#opening_hours-preview"' in field
    assert "caf-vosges-epinal" in field  # the site's closures apply in the preview
    assert 'id="opening_hours-preview"' in page.text


def test_a_permanence_schedule_previews_its_next_dates(people, monkeypatch):
    import proxiservices.blueprints.manage as blueprint

    monkeypatch.setattr(blueprint, "now", lambda: datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    response = people.caf.get(
        "/gestion/horaires/apercu",
        query_string={"schedule": "Tu[1,3] 09:00-12:00"},
        headers={"HX-Request": "true"},
    )
    items = re.findall(r"<li>([^<]+)</li>", response.text)
    assert items[:3] == [
        "mardi 1er déc. : 9h–12h",
        "mardi 15 déc. : 9h–12h",
        "mardi 5 janv. : 9h–12h",
    ]


# --- a partner fixes its own phone number ---------------------------------------------------


def test_a_partner_fixes_its_own_phone_number(people):
    page = people.caf.get("/gestion/organismes/caf-vosges/modifier")
    assert page.status_code == 200
    assert 'name="name"' not in page.text  # contact fields only
    response = post_form(
        people.caf,
        "/gestion/organismes/caf-vosges/modifier",
        {"phone": "03 29 00 32 30", "website": "https://www.caf.fr", "email": ""},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/gestion/organismes/caf-vosges"

    def body():
        found = db.session.scalars(select(Body).where(Body.slug == "caf-vosges")).one()
        return found.phone, found.website, found.edited_at

    phone, website, edited_at = read(people.app, body)
    assert (phone, website) == ("03 29 00 32 30", "https://www.caf.fr")
    assert edited_at is not None
    last = entries(people.app, "body")[-1]
    assert last.actor == people.users["caf"].email
    assert last.action == "update"
    assert last.changes["phone"] == ["32 30", "03 29 00 32 30"]
    assert "website" in last.changes
    history = text_of(main_content(people.caf.get("/gestion/organismes/caf-vosges").text))
    assert "Historique des modifications" in history
    assert "téléphone : 32 30 → 03 29 00 32 30" in history
    assert people.users["caf"].email in history
    public = people.caf.get("/organismes/caf-vosges")
    assert "03 29 00 32 30" in public.text


def test_a_partner_cannot_rename_its_body(people):
    before = read(
        people.app,
        lambda: db.session.scalars(select(Body.name).where(Body.slug == "caf-vosges")).one(),
    )
    response = post_form(
        people.caf,
        "/gestion/organismes/caf-vosges/modifier",
        {"name": "CAF pirate", "phone": "03 29 00 32 30", "website": "", "email": ""},
    )
    assert response.status_code == 303  # the name is simply not a field of its form
    after = read(
        people.app,
        lambda: db.session.scalars(select(Body.name).where(Body.slug == "caf-vosges")).one(),
    )
    assert after == before == "CAF des Vosges"


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        CPAM_SITE,
        f"{CPAM_SITE}/modifier",
        f"{CPAM_SITE}/fermetures/nouvelle",
        "/gestion/organismes/cpam-vosges",
        "/gestion/organismes/cpam-vosges/modifier",
        "/gestion/organismes/cpam-vosges/permanences/nouvelle",
    ],
)
def test_a_partner_cannot_open_another_bodys_pages(people, url):
    response = people.caf.get(url)
    assert response.status_code == 403
    assert "n'est pas le vôtre" in text_of(response.text)


def test_a_partner_cannot_edit_another_bodys_site(people):
    before = site_row(people.app, "cpam-vosges-epinal")
    audit_before = len(entries(people.app, "site"))
    token = csrf_in(people.caf.get("/gestion").text)
    response = people.caf.post(
        f"{CPAM_SITE}/modifier",
        data={"csrf_token": token, **site_fields(name="CPAM", phone="01 02 03 04 05")},
    )
    assert response.status_code == 403
    assert "CPAM des Vosges" in text_of(response.text)
    assert site_row(people.app, "cpam-vosges-epinal") == before
    assert len(entries(people.app, "site")) == audit_before
    deleted = people.caf.post(f"{CPAM_SITE}/supprimer", data={"csrf_token": token})
    assert deleted.status_code == 403
    assert site_row(people.app, "cpam-vosges-epinal") == before


def test_a_partner_cannot_touch_another_bodys_permanence(people):
    cpam_permanence = make_permanence(people.app, "cpam-vosges", "caf-vosges-epinal")
    token = csrf_in(people.caf.get("/gestion").text)
    url = f"/gestion/permanences/{cpam_permanence}"
    assert people.caf.get(url).status_code == 403
    edit = people.caf.post(
        url,
        data={"csrf_token": token, "host_site_id": "1", "schedule": "Mo 09:00-10:00"},
    )
    assert edit.status_code == 403
    removed = people.caf.post(f"{url}/supprimer", data={"csrf_token": token})
    assert removed.status_code == 403
    schedule = read(people.app, lambda: db.session.get(Permanence, cpam_permanence).schedule)
    assert schedule == "We 14:00-16:00"
    # Hosted at the CAF's own site, yet shown there without an edit link for the CAF.
    page = people.caf.get(CAF_SITE).text
    assert "CPAM des Vosges" in page
    assert url not in page


def test_unknown_ids_are_404(people):
    assert people.admin.get("/gestion/lieux/lieu-qui-n-existe-pas").status_code == 404
    assert people.admin.get("/gestion/permanences/999999").status_code == 404
    assert people.admin.get(f"{CAF_SITE}/fermetures/999999").status_code == 404
    assert people.admin.get("/gestion/organismes/inconnu/modifier").status_code == 404


def test_a_desk_has_no_access(people):
    response = people.desk.get("/gestion")
    assert response.status_code == 403


def test_posts_need_their_csrf_token(people):
    before = site_row(people.app, "caf-vosges-epinal")
    response = people.caf.post(f"{CAF_SITE}/modifier", data=site_fields(phone="03 29 11 11 11"))
    assert response.status_code == 400
    assert "Le formulaire a expiré" in text_of(response.text)
    assert site_row(people.app, "caf-vosges-epinal") == before


# --- sites: bad input is refused whole, in French --------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"opening_hours": "Lu-Ve 9h-12h"}, "opening_hours", "Les jours s'écrivent en anglais"),
        ({"commune_insee": "99999"}, "commune_insee", "Commune inconnue : « 99999 »"),
        ({"coverage": "88 12345 200042000"}, "coverage", "Zone inconnue : 12345."),
        ({"phone": "appelez-nous"}, "phone", "Numéro non reconnu"),
        ({"latitude": "48,17"}, "longitude", "Indiquez la latitude et la longitude ensemble"),
        ({"url": "www.caf.fr"}, "url", "elle commence par https://"),
    ],
)
def test_bad_site_input_is_refused_with_a_french_message(people, changes, field, message):
    before = site_row(people.app, "caf-vosges-epinal")
    audit_before = len(entries(people.app, "site"))
    response = post_form(people.caf, f"{CAF_SITE}/modifier", site_fields(**changes))
    assert response.status_code == 422
    assert response.headers["HX-Push-Url"] == "false"
    found = re.search(rf'id="{field}-error">(.*?)</p>', response.text, re.S)
    assert found, f"no error beside {field}"
    assert message in text_of(found.group(1))
    assert "Le formulaire contient" in response.text
    typed = next(iter(changes.values()))
    assert f'value="{typed}"' in response.text or typed in response.text  # kept as typed
    assert site_row(people.app, "caf-vosges-epinal") == before
    assert len(entries(people.app, "site")) == audit_before


def test_preview_button_shows_the_14_days_without_saving(people):
    before = site_row(people.app, "caf-vosges-epinal")
    response = post_form(
        people.caf,
        f"{CAF_SITE}/modifier",
        {**site_fields(opening_hours="Mo-Fr 09:00-12:00"), "action": "preview"},
    )
    assert response.status_code == 200
    assert "9h–12h" in text_of(response.text)
    assert site_row(people.app, "caf-vosges-epinal") == before
    invalid = post_form(
        people.caf,
        f"{CAF_SITE}/modifier",
        {**site_fields(opening_hours="Mo-Fr 9-12"), "action": "preview"},
    )
    assert invalid.status_code == 422
    assert "Écrivez les minutes" in text_of(invalid.text)


def test_a_partner_sets_its_sites_hours_and_coverage(people):
    before = site_row(people.app, "caf-vosges-epinal")
    response = post_form(
        people.caf,
        f"{CAF_SITE}/modifier",
        site_fields(opening_hours=MAIRIE_HOURS, coverage="88, 88135"),
    )
    assert response.status_code == 303
    assert response.headers["Location"] == CAF_SITE
    row = site_row(people.app, "caf-vosges-epinal")
    assert row.opening_hours == MAIRIE_HOURS
    assert row.coverage == ["88", "88135"]
    assert row.edited_at is not None
    last = entries(people.app, "site")[-1]
    assert last.changes["opening_hours"] == [None, MAIRIE_HOURS]
    assert last.changes["coverage"] == [before.coverage, ["88", "88135"]]
    page = text_of(main_content(people.caf.get(CAF_SITE).text))
    assert f"horaires : (vide) → {MAIRIE_HOURS}" in page
    assert f"communes servies : {', '.join(before.coverage) or '(vide)'} → 88, 88135" in page
    assert "Docelles" in page and "Vosges" in page


# --- closures ---------------------------------------------------------------------------------


def test_an_administrator_enters_a_christmas_closure(people):
    year = datetime.now(PARIS).year + 1
    url = f"{CAF_SITE}/fermetures/nouvelle"
    response = post_form(
        people.admin,
        url,
        {
            "kind": "closed",
            "starts_at": f"24/12/{year}",
            "ends_at": f"26/12/{year}",
            "message": "Fermeture de Noël",
            "opening_hours": "",
        },
    )
    assert response.status_code == 303, text_of(response.text)[:500]

    def closure():
        site = db.session.scalars(select(Site).where(Site.slug == "caf-vosges-epinal")).one()
        c = site.closures[-1]
        return c.kind, c.starts_at, c.ends_at, c.message, c.id

    kind, starts, ends, message, closure_id = read(people.app, closure)
    assert (kind, message) == ("closed", "Fermeture de Noël")
    assert starts == datetime(year, 12, 24)
    assert ends == datetime(year, 12, 27)  # the 26th included
    last = entries(people.app, "closure")[-1]
    assert last.action == "create"
    assert last.object_id.endswith(f"/{closure_id}")
    assert last.changes["message"] == [None, "Fermeture de Noël"]
    page = text_of(main_content(people.admin.get(CAF_SITE).text))
    assert "Fermeture de Noël" in page
    assert f"{closure_period(datetime(year, 12, 24), datetime(year, 12, 27))} : Fermeture" in page
    assert f"au {day_label(date(year, 12, 26))} {year}" in page
    assert "création fermeture" in page  # in the site's history


def test_closures_list_coming_ones_and_archive_past_ones(people):
    today = datetime.now(PARIS).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    create_closure(
        people.app, today - timedelta(days=40), today - timedelta(days=38), "Inventaire passé"
    )
    create_closure(
        people.app, today + timedelta(days=3), today + timedelta(days=4), "Formation à venir"
    )
    page = people.caf.get(CAF_SITE).text
    archive = re.search(r'<details class="archive">(.*?)</details>', page, re.S).group(1)
    assert "Inventaire passé" in archive
    assert "Formation à venir" not in archive
    assert "Formation à venir" in page.split('<details class="archive">')[0]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"kind": "closed", "starts_at": "2030-01-10T12:00", "ends_at": "2030-01-10T08:00"},
            "ends_at",
            "La fin doit être après le début.",
        ),
        ({"kind": "closed", "starts_at": "demain", "ends_at": "2030-01-10T08:00"}, "starts_at",
         "Date et heure non reconnues"),
        ({"kind": "hours", "starts_at": "2030-01-10", "ends_at": "2030-01-12"}, "opening_hours",
         "Indiquez les horaires qui s'appliquent"),
        ({"kind": "hours", "starts_at": "2030-01-10", "ends_at": "2030-01-12",
          "opening_hours": "Mo-Fr 9h-12h"}, "opening_hours", "Les heures s'écrivent 08:30"),
        ({"kind": "message", "starts_at": "2030-01-10", "ends_at": "2030-01-12"}, "message",
         "Indiquez le message à afficher."),
    ],
)  # fmt: skip
def test_bad_closure_input_writes_nothing(people, fields, field, message):
    before = site_row(people.app, "caf-vosges-epinal").closures
    audit_before = len(entries(people.app, "closure"))
    response = post_form(people.caf, f"{CAF_SITE}/fermetures/nouvelle", fields)
    assert response.status_code == 422
    found = re.search(rf'id="{field}-error">(.*?)</p>', response.text, re.S)
    assert found and message in text_of(found.group(1))
    assert site_row(people.app, "caf-vosges-epinal").closures == before
    assert len(entries(people.app, "closure")) == audit_before


def test_editing_and_deleting_a_closure_is_audited(people):
    closure_id = create_closure(
        people.app, datetime(2031, 3, 2, 14, 0), datetime(2031, 3, 2, 17, 0), "Réunion"
    )
    url = f"{CAF_SITE}/fermetures/{closure_id}"
    page = people.caf.get(url)
    assert 'value="2031-03-02T14:00"' in page.text
    response = post_form(
        people.caf,
        url,
        {"kind": "closed", "starts_at": "2031-03-02T13:30", "ends_at": "2031-03-02T17:00",
         "message": "Réunion d'équipe"},
    )  # fmt: skip
    assert response.status_code == 303
    last = entries(people.app, "closure")[-1]
    assert last.action == "update"
    assert last.changes == {
        "starts_at": ["2031-03-02T14:00:00", "2031-03-02T13:30:00"],
        "message": ["Réunion", "Réunion d'équipe"],
    }
    history = text_of(main_content(people.caf.get(CAF_SITE).text))
    assert "début : 02/03/2031 14h00 → 02/03/2031 13h30" in history
    removed = post_form(people.caf, f"{url}/supprimer", {}, page_url=url)
    assert removed.status_code == 303
    assert read(people.app, lambda: db.session.get(Closure, closure_id)) is None
    assert entries(people.app, "closure")[-1].action == "delete"
    assert "suppression fermeture" in text_of(main_content(people.caf.get(CAF_SITE).text))


def test_closures_apply_in_the_preview_of_an_existing_site(people, monkeypatch):
    import proxiservices.blueprints.manage as blueprint

    create_closure(people.app, datetime(2032, 6, 8), datetime(2032, 6, 9), "Inventaire annuel")
    monkeypatch.setattr(blueprint, "now", lambda: datetime(2032, 6, 7, 9, 0, tzinfo=PARIS))
    response = people.caf.get(
        "/gestion/horaires/apercu",
        query_string={"opening_hours": MAIRIE_HOURS, "lieu": "caf-vosges-epinal"},
        headers={"HX-Request": "true"},
    )
    text = text_of(response.text)
    assert "mardi 8 juin fermé (Inventaire annuel)" in text
    assert "lundi 7 juin 8h30–12h, 13h30–17h" in text


# --- permanences --------------------------------------------------------------------------------


def test_an_administrator_adds_a_monthly_permanence_at_a_france_services(people):
    host_id = read(
        people.app,
        lambda: db.session.scalars(select(Site.id).where(Site.slug == "caf-vosges-epinal")).one(),
    )
    url = "/gestion/organismes/caf-vosges/permanences/nouvelle"
    form = people.admin.get(url)
    assert form.status_code == 200
    assert f'<option value="{host_id}"' in form.text
    response = post_form(
        people.admin,
        url,
        {"host_site_id": str(host_id), "schedule": "Tu[1,3] 09:00-12:00", "by_appointment": "y",
         "note": "Prendre rendez-vous au 32 30", "starts_on": "", "ends_on": "", "source": "",
         "verified_on": "01/12/2026"},
    )  # fmt: skip
    assert response.status_code == 303, text_of(response.text)[:600]
    last = entries(people.app, "permanence")[-1]
    assert last.action == "create"
    assert last.changes["schedule"] == [None, "Tu[1,3] 09:00-12:00"]
    assert last.changes["by_appointment"] == [None, True]
    assert last.changes["verified_on"] == [None, "2026-12-01"]
    body_page = text_of(main_content(people.admin.get("/gestion/organismes/caf-vosges").text))
    assert "Tu[1,3] 09:00-12:00 (sur rendez-vous)" in body_page
    assert "création permanence" in body_page
    site_page = text_of(main_content(people.admin.get(CAF_SITE).text))
    hosted = site_page.split("Permanences accueillies")[1]
    assert "CAF des Vosges – Tu[1,3] 09:00-12:00 (sur rendez-vous)" in hosted


def site_id_of(app, slug: str) -> int:
    return read(app, lambda: db.session.scalars(select(Site.id).where(Site.slug == slug)).one())


def test_a_partner_manages_its_own_permanences_at_the_usual_hosts(people):
    host_id = site_id_of(people.app, "france-services-bruyeres")
    url = "/gestion/organismes/caf-vosges/permanences/nouvelle"
    bad = post_form(people.caf, url, {"host_site_id": str(host_id), "schedule": "mardi 9h-12h"})
    assert bad.status_code == 422
    assert "Les jours s'écrivent en anglais" in text_of(bad.text)
    bad_dates = post_form(
        people.caf,
        url,
        {"host_site_id": str(host_id), "schedule": "We 09:00-12:00",
         "starts_on": "01/06/2031", "ends_on": "01/05/2031"},
    )  # fmt: skip
    assert bad_dates.status_code == 422
    assert "La date de fin doit être après la date de début." in text_of(bad_dates.text)
    count = read(people.app, lambda: db.session.scalar(select(func.count(Permanence.id))))
    ok = post_form(people.caf, url, {"host_site_id": str(host_id), "schedule": "We 09:00-12:00"})
    assert ok.status_code == 303
    assert read(people.app, lambda: db.session.scalar(select(func.count(Permanence.id)))) == (
        count + 1
    )
    assert entries(people.app, "permanence")[-1].actor == people.users["caf"].email


def host_options(page: str) -> dict[str, list[tuple[str, str]]]:
    """The host select's options by optgroup label: [(value, label), ...]."""
    select_html = re.search(r'<select[^>]*id="host_site_id".*?</select>', page, re.S).group(0)
    return {
        unescape(label): [
            (value, unescape(text))
            for value, text in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', group)
        ]
        for label, group in re.findall(
            r'<optgroup label="([^"]*)">(.*?)</optgroup>', select_html, re.S
        )
    }


def test_a_partner_is_offered_only_its_own_sites_and_the_usual_hosts(people):
    groups = host_options(
        people.caf.get("/gestion/organismes/caf-vosges/permanences/nouvelle").text
    )
    labels = list(groups)
    assert labels[0] == "Lieux de CAF des Vosges"
    assert "Caisse primaire d'assurance maladie (CPAM)" not in labels
    assert labels[-1] == "Mairie"  # the usual hosts in the order of HOST_KINDS
    offered = {value for options in groups.values() for value, _label in options}
    assert str(site_id_of(people.app, "cpam-vosges-epinal")) not in offered
    assert str(site_id_of(people.app, "caf-vosges-epinal")) in offered
    assert str(site_id_of(people.app, "france-services-bruyeres")) in offered
    mairies = [label for _value, label in groups["Mairie"]]
    assert len(mairies) > 400 and mairies[0].startswith("Ahéville – ")  # by commune name
    communes = [fold(label.split(" – ")[0]) for label in mairies]
    assert communes == sorted(communes)
    # The administrator chooses among every site, the other kinds after the usual hosts.
    everything = host_options(
        people.admin.get("/gestion/organismes/caf-vosges/permanences/nouvelle").text
    )
    assert "Caisse primaire d'assurance maladie (CPAM)" in everything
    assert next(iter(everything)) == "Lieux de CAF des Vosges"


def test_a_partner_cannot_hold_a_permanence_at_another_agency(people):
    cpam_site = site_id_of(people.app, "cpam-vosges-epinal")
    url = "/gestion/organismes/caf-vosges/permanences/nouvelle"
    count = read(people.app, lambda: db.session.scalar(select(func.count(Permanence.id))))
    refused = post_form(
        people.caf, url, {"host_site_id": str(cpam_site), "schedule": "We 09:00-12:00"}
    )
    assert refused.status_code == 422
    found = re.search(r'id="host_site_id-error">(.*?)</p>', refused.text, re.S)
    assert found and "Lieu d'accueil non proposé" in text_of(found.group(1))
    assert "une mairie, un CCAS ou une intercommunalité" in text_of(found.group(1))
    for value in ("abc", "99999999999999999999"):
        odd = post_form(people.caf, url, {"host_site_id": value, "schedule": "We 09:00-12:00"})
        assert odd.status_code == 422
        assert "Lieu d'accueil non proposé" in text_of(odd.text)
    assert read(people.app, lambda: db.session.scalar(select(func.count(Permanence.id)))) == count
    # The administrator places it there.
    placed = post_form(
        people.admin, url, {"host_site_id": str(cpam_site), "schedule": "We 09:00-12:00"}
    )
    assert placed.status_code == 303


def test_the_service_refuses_a_host_the_form_did_not_offer(people):
    """Behind the form too: a partner's body holds no permanence at another agency."""
    cpam_site = site_id_of(people.app, "cpam-vosges-epinal")

    def attempt(host_site_id: int) -> str:
        actor = db.session.get(User, people.users["caf"].id)
        body = db.session.scalars(select(Body).where(Body.slug == "caf-vosges")).one()
        values = {"schedule": "We 09:00-12:00", "by_appointment": False}
        try:
            edits.save_permanence(actor, body, None, values, host_site_id, datetime.now(PARIS))
        except HostRefused as refusal:
            db.session.rollback()
            return str(refusal)
        return "saved"

    assert "ne peut pas accueillir" in read(people.app, lambda: attempt(cpam_site))
    assert "Lieu d'accueil inconnu" in read(people.app, lambda: attempt(2**40))


def test_a_partner_keeps_the_host_an_administrator_chose(people):
    permanence_id = make_permanence(people.app, "caf-vosges", "cpam-vosges-epinal")
    url = f"/gestion/permanences/{permanence_id}"
    cpam_site = str(site_id_of(people.app, "cpam-vosges-epinal"))
    groups = host_options(people.caf.get(url).text)
    assert cpam_site in {value for options in groups.values() for value, _label in options}
    kept = post_form(people.caf, url, {"host_site_id": cpam_site, "schedule": "We 14:00-17:00"})
    assert kept.status_code == 303
    # Another agency's site is still refused to the partner.
    other = str(site_id_of(people.app, "prefecture-vosges-epinal"))
    moved = post_form(people.caf, url, {"host_site_id": other, "schedule": "We 14:00-17:00"})
    assert moved.status_code == 422


# --- dates outside 2000–2100 -----------------------------------------------------------------

YEAR_RANGE = "L'année doit être comprise entre 2000 et 2100."


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_on": "31/12/9999"}, "ends_on"),
        ({"starts_on": "31/12/9999"}, "starts_on"),
        ({"starts_on": "01/01/0001"}, "starts_on"),
        ({"starts_on": "1999-12-31"}, "starts_on"),
        ({"verified_on": "01/01/2101"}, "verified_on"),
    ],
)
def test_a_permanence_date_out_of_range_is_refused_beside_its_field(people, changes, field):
    host_id = site_id_of(people.app, "france-services-bruyeres")
    count = read(people.app, lambda: db.session.scalar(select(func.count(Permanence.id))))
    response = post_form(
        people.caf,
        "/gestion/organismes/caf-vosges/permanences/nouvelle",
        {"host_site_id": str(host_id), "schedule": "We 09:00-12:00", **changes},
    )
    assert response.status_code == 422
    found = re.search(rf'id="{field}-error">(.*?)</p>', response.text, re.S)
    assert found and YEAR_RANGE in text_of(found.group(1))
    assert f'value="{changes[field]}"' in response.text  # kept as typed
    assert read(people.app, lambda: db.session.scalar(select(func.count(Permanence.id)))) == count


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        ("01/01/0001", "2030-01-12", "starts_at"),
        ("2030-01-10", "31/12/9999", "ends_at"),  # a date alone: the end of that day
        ("2030-01-10", "9999-12-31T23:59", "ends_at"),
        ("1999-12-31 08:00", "2030-01-12", "starts_at"),
    ],
)
def test_a_closure_date_out_of_range_is_refused_beside_its_field(people, starts_at, ends_at, field):
    before = site_row(people.app, "caf-vosges-epinal").closures
    response = post_form(
        people.caf,
        f"{CAF_SITE}/fermetures/nouvelle",
        {"kind": "closed", "starts_at": starts_at, "ends_at": ends_at},
    )
    assert response.status_code == 422
    found = re.search(rf'id="{field}-error">(.*?)</p>', response.text, re.S)
    assert found and YEAR_RANGE in text_of(found.group(1))
    assert site_row(people.app, "caf-vosges-epinal").closures == before


def test_the_years_2000_and_2100_themselves_are_accepted(people):
    host_id = site_id_of(people.app, "france-services-bruyeres")
    response = post_form(
        people.caf,
        "/gestion/organismes/caf-vosges/permanences/nouvelle",
        {"host_site_id": str(host_id), "schedule": "We 09:00-12:00",
         "starts_on": "01/01/2000", "ends_on": "31/12/2100"},
    )  # fmt: skip
    assert response.status_code == 303
    closure = post_form(
        people.caf,
        f"{CAF_SITE}/fermetures/nouvelle",
        {"kind": "closed", "starts_at": "2100-12-30", "ends_at": "31/12/2100"},
    )
    assert closure.status_code == 303


HOST = "france-services-bruyeres"
PUBLIC_PAGES = (
    f"/lieux/{HOST}",
    "/organismes/caf-vosges",
    "/carte?commune=88078",
    "/orientation?need=aide-logement&commune=88078",
    "/api/v1/orientation?need=aide-logement&commune=88078",
)


@pytest.mark.parametrize(
    "row",
    [
        {"ends_on": date(9999, 12, 31)},
        {"starts_on": date(9999, 12, 31)},
        {"starts_on": date(1, 1, 1), "ends_on": date(1, 1, 1)},
        {"closure": (datetime(1, 1, 1), datetime(2030, 1, 1))},
        {"closure": (datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59))},
        {"closure": (datetime(9999, 12, 31), datetime(9999, 12, 31, 23, 59))},
    ],
    ids=["ends-9999", "starts-9999", "year-1", "closure-from-1", "closure-1-9999", "closure-9999"],
)
def test_a_bad_date_already_stored_does_not_break_public_pages(people, workspace, row):
    """Rows saved before the forms checked the year, or written by other tools."""

    def store():
        body = db.session.scalars(select(Body).where(Body.slug == "caf-vosges")).one()
        site = db.session.scalars(select(Site).where(Site.slug == HOST)).one()
        if "closure" in row:
            start, end = row["closure"]
            made = Closure(site_id=site.id, kind="closed", starts_at=start, ends_at=end,
                           message="Saisie erronée")  # fmt: skip
        else:
            made = Permanence(
                body_id=body.id, host_site_id=site.id, schedule="We 14:00-16:00", **row
            )
        db.session.add(made)
        db.session.commit()
        return type(made), made.id

    model, made_id = read(people.app, store)
    anonymous = workspace.test_client()
    try:
        for url in PUBLIC_PAGES:
            assert anonymous.get(url).status_code == 200, url
    finally:

        def remove():
            db.session.delete(db.session.get(model, made_id))
            db.session.commit()

        read(people.app, remove)


# --- very large ids: 404, not an integer overflow ----------------------------------------------


@pytest.mark.parametrize("number", [2**31, 10**20])
def test_ids_beyond_the_integer_range_are_404(people, number):
    assert people.admin.get(f"/gestion/permanences/{number}").status_code == 404
    assert people.admin.get(f"/admin/arbre/reponses/{number}/question").status_code == 404
    verified = post_form(
        people.admin, f"/admin/fraicheur/lieux/{number}/verifie", {}, page_url="/admin/fraicheur"
    )
    assert verified.status_code == 404
    resolved = post_form(
        people.admin, f"/admin/signalements/{number}", {}, page_url="/admin/signalements"
    )
    assert resolved.status_code == 404


# --- a site without coordinates stays on the map --------------------------------------------


def site_place(app, slug: str) -> tuple:
    def load():
        site = db.session.scalars(select(Site).where(Site.slug == slug)).one()
        return (site.latitude, site.longitude, site.position_approx)

    return read(app, load)


def commune_centre(app, insee: str) -> tuple:
    return read(
        app,
        lambda: tuple(
            db.session.execute(
                select(Commune.latitude, Commune.longitude).where(Commune.insee == insee)
            ).one()
        ),
    )


def test_a_site_saved_without_coordinates_is_placed_at_its_commune(people):
    made = post_form(
        people.admin,
        "/gestion/organismes/nouveau",
        {"name": "Étude notariale de Docelles", "kind_code": "NOTAIRE", "phone": "",
         "website": "", "email": "", "description": "", "source": "", "verified_on": "",
         "note": ""},
    )  # fmt: skip
    assert made.status_code == 303
    created = post_form(
        people.admin,
        "/gestion/organismes/etude-notariale-de-docelles/lieux/nouveau",
        site_fields(name="Étude notariale – Docelles", commune_insee="88135", postcode="88460",
                    coverage="88135"),
    )  # fmt: skip
    assert created.status_code == 303
    slug = "etude-notariale-docelles"
    centre = commune_centre(people.app, "88135")
    assert site_place(people.app, slug) == (*centre, True)
    listed = people.admin.get("/carte?commune=88135&kind=NOTAIRE").text
    assert "Étude notariale – Docelles" in text_of(listed)
    # Its form shows the coordinates empty, as they were left; saving it again keeps them so.
    form = people.admin.get(f"/gestion/lieux/{slug}/modifier").text
    assert re.search(r'<input[^>]*id="latitude"[^>]*value=""', form)
    # Typed coordinates are exact...
    fields = site_fields(name="Étude notariale – Docelles", commune_insee="88135",
                         postcode="88460", coverage="88135")  # fmt: skip
    moved = post_form(
        people.admin,
        f"/gestion/lieux/{slug}/modifier",
        {**fields, "latitude": "48,1478", "longitude": "6,6152"},
    )
    assert moved.status_code == 303
    assert site_place(people.app, slug) == (48.1478, 6.6152, False)
    # ... and emptied again, the site goes back to its commune's centre.
    cleared = post_form(people.admin, f"/gestion/lieux/{slug}/modifier", fields)
    assert cleared.status_code == 303
    assert site_place(people.app, slug) == (*centre, True)


# --- the index, the history, the public pages -------------------------------------------------


def test_the_administrators_index_searches_and_pages(people):
    page = people.admin.get("/gestion")
    assert page.status_code == 200
    text = text_of(main_content(page.text))
    assert "Page 1 / " in text
    found = people.admin.get("/gestion?q=epinal&type=MAIRIE")
    assert "Mairie d'Épinal" in text_of(found.text)
    assert "CAF des Vosges" not in text_of(found.text)
    assert people.admin.get("/gestion?type=INCONNU").status_code == 400
    assert people.admin.get("/gestion?page=abc").status_code == 400


def test_the_index_runs_a_constant_number_of_queries(people):
    first = count_queries(people.app, people.admin, "/gestion")
    second = count_queries(people.app, people.admin, "/gestion?page=3")
    assert first == second
    assert first <= 10


def test_a_partner_lands_on_its_own_body(people):
    page = people.caf.get("/gestion")
    assert page.status_code == 200
    text = text_of(main_content(page.text))
    assert "CAF des Vosges" in text
    assert "CAF des Vosges – accueil d'Épinal" in text
    assert "Ajouter un organisme" not in text
    assert people.caf.get("/gestion/historique").status_code == 403
    assert people.caf.get("/gestion/organismes/nouveau").status_code == 403


def test_the_latest_changes_are_listed_for_the_administrator(people):
    post_form(
        people.caf,
        "/gestion/organismes/caf-vosges/modifier",
        {"phone": "03 29 99 99 99", "website": "", "email": "accueil@caf.example.org"},
    )
    page = people.admin.get("/gestion/historique")
    assert page.status_code == 200
    text = text_of(main_content(page.text))
    assert "courriel : (vide) → accueil@caf.example.org" in text
    assert "modification organisme – CAF des Vosges" in text


def test_the_fragment_and_the_page_give_the_same_markup(people):
    people.caf.get("/gestion")  # shows, and so clears, the messages of earlier tests
    page = people.caf.get(CAF_SITE)
    fragment = people.caf.get(CAF_SITE, headers={"HX-Request": "true"})
    assert without_title(fragment.text).strip() == main_content(page.text).strip()


def test_modifier_links_on_public_pages_only_for_those_allowed(people, workspace):
    anonymous = workspace.test_client()
    for client, shown in ((people.caf, True), (people.cpam, False), (anonymous, False)):
        site_page = client.get("/lieux/caf-vosges-epinal").text
        body_page = client.get("/organismes/caf-vosges").text
        assert (CAF_SITE + "/modifier" in site_page) is shown
        assert ("/gestion/organismes/caf-vosges" in body_page) is shown


def test_an_administrator_creates_a_body_and_a_site(people):
    response = post_form(
        people.admin,
        "/gestion/organismes/nouveau",
        {"name": "Point Justice de Bruyères", "kind_code": "POINT_JUSTICE", "phone": "",
         "website": "", "email": "", "description": "", "source": "", "verified_on": "",
         "note": ""},
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"] == "/gestion/organismes/point-justice-de-bruyeres"
    created = post_form(
        people.admin,
        "/gestion/organismes/point-justice-de-bruyeres/lieux/nouveau",
        site_fields(name="Point Justice – mairie de Bruyères", commune_insee="88078",
                    postcode="88600", coverage="200042000", latitude="48,2079",
                    longitude="6,7195"),
    )  # fmt: skip
    assert created.status_code == 303
    row = site_row(people.app, "point-justice-mairie-de-bruyeres")
    assert row.coverage == ["200042000"]
    assert entries(people.app, "site")[-1].action == "create"
    removed = post_form(
        people.admin,
        "/gestion/lieux/point-justice-mairie-de-bruyeres/supprimer",
        {},
        page_url="/gestion/lieux/point-justice-mairie-de-bruyeres",
    )
    assert removed.status_code == 303
    assert entries(people.app, "site")[-1].action == "delete"


def test_a_site_still_in_use_is_not_deleted(people):
    response = post_form(people.admin, "/gestion/lieux/mairie-88135/supprimer", {},
                         page_url="/gestion/lieux/mairie-88135")  # fmt: skip
    assert response.status_code == 409
    assert "Ce lieu ne peut pas être supprimé" in text_of(response.text)
    assert site_row(people.app, "mairie-88135").id


# --- helpers that write directly ---------------------------------------------------------------


def make_permanence(app, body_slug: str, site_slug: str) -> int:
    def make():
        body = db.session.scalars(select(Body).where(Body.slug == body_slug)).one()
        site = db.session.scalars(select(Site).where(Site.slug == site_slug)).one()
        permanence = Permanence(body_id=body.id, host_site_id=site.id, schedule="We 14:00-16:00")
        db.session.add(permanence)
        db.session.commit()
        return permanence.id

    return read(app, make)


def create_closure(app, start: datetime, end: datetime, message: str) -> int:
    def make():
        site = db.session.scalars(select(Site).where(Site.slug == "caf-vosges-epinal")).one()
        closure = Closure(site_id=site.id, kind="closed", starts_at=start, ends_at=end,
                          message=message)  # fmt: skip
        db.session.add(closure)
        db.session.commit()
        return closure.id

    return read(app, make)

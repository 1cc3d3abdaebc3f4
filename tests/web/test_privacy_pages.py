"""The personal data pages: the public notice, and the administrators' lookup, export and
erasure of one resident's data (POST only, CSRF, audited, refused to everyone else)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from proxiservices.domain import lifecycle, retention
from proxiservices.domain.residents import format_phone
from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, AuditEntry, User
from proxiservices.services import audit
from proxiservices.services import requests as service
from proxiservices.services.directory import get_body
from proxiservices.services.needs import get_need
from proxiservices.web import fr_datetime
from tests.plugins.accounts import csrf_token, logged_in, make_user
from tests.web.html import main_content, text_of

PAGE = "/admin/donnees-personnelles"
EXPORT = PAGE + "/export"
ERASE = PAGE + "/effacer"


@pytest.fixture(scope="module")
def world(workspace):
    """An administrator, the other roles, and a desk that sends requests to the CAF."""
    app = workspace
    users = {
        "admin": make_user(app, "admin"),
        "desk": make_user(app, "receptionist", commune_insee="88078"),
        "partner": make_user(app, "partner", body_slug="caf-vosges"),
        "elected": make_user(app, "elected", territory_code="88"),
    }
    clients = {role: logged_in(app, user.email) for role, user in users.items()}
    return SimpleNamespace(
        app=app,
        users=users,
        clients=clients,
        tokens={role: csrf_token(c, "/") for role, c in clients.items()},
    )


def new_resident(world, *, ended: bool) -> SimpleNamespace:
    """A resident with one request to the CAF, ended (closed) or still open."""
    tag = uuid.uuid4().hex[:8]
    contact = service.ResidentContact(
        name=f"Paulette Vérif {tag}",
        phone=f"07{int(tag, 16) % 10**8:08d}",
        email=f"Paulette.{tag}@Example.net",
        channel="email",
        message=f"Message confidentiel {tag}",
    )
    at = datetime.now(UTC) - timedelta(days=40)
    with world.app.app_context():
        desk = db.session.get(User, world.users["desk"].id)
        request = service.submit_request(
            actor=desk,
            need=get_need("aide-logement"),
            commune=desk.site.commune,
            body=get_body("caf-vosges"),
            contact=contact,
            at=at,
        )
        caf = db.session.get(User, world.users["partner"].id)
        service.apply_action(request, lifecycle.TAKE, actor=caf, at=at + timedelta(hours=1))
        if ended:
            service.apply_action(request, lifecycle.CLOSE, actor=caf, at=at + timedelta(days=2))
        request_id = request.id
        db.session.remove()
    return SimpleNamespace(id=request_id, contact=contact, reference=f"D-{request_id:06d}")


def stored(world, request_id: int) -> AppointmentRequest:
    with world.app.app_context():
        request = db.session.get(AppointmentRequest, request_id)
        db.session.expunge(request)
        db.session.remove()
    return request


def last_audit(world, action: str) -> AuditEntry | None:
    with world.app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
        ).first()
        if entry is not None:
            db.session.expunge(entry)
        db.session.remove()
    return entry


def post(world, url, data, role="admin"):
    return world.clients[role].post(url, data={**data, "csrf_token": world.tokens[role]})


# --- the public notice -------------------------------------------------------------------


def test_the_public_page_says_what_is_kept_why_and_how_long(workspace, monkeypatch):
    client = workspace.test_client()
    monkeypatch.setitem(workspace.config, "RETENTION_MONTHS", 18)
    page = text_of(main_content(client.get("/donnees-personnelles").get_data(as_text=True)))
    for words in (
        "nom, votre téléphone et/ou votre e-mail",
        "mission de service public",
        "conservée 18 mois",
        "Aucun traceur",
        "cookie de session",
        "CNIL",
        "rectifier",
        "opposer",
        "organisme destinataire",
        "30 jours",
    ):
        assert words in page, words
    # Contacts not configured: the page says they must be set.
    assert "réglage PROXISERVICES_DPO_CONTACT" in page
    assert "réglage PROXISERVICES_DATA_CONTROLLER" in page
    monkeypatch.setitem(workspace.config, "DPO_CONTACT", "dpo@vosges.fr")
    monkeypatch.setitem(workspace.config, "DATA_CONTROLLER", "Conseil départemental des Vosges")
    page = text_of(main_content(client.get("/donnees-personnelles").get_data(as_text=True)))
    assert "dpo@vosges.fr" in page and "Conseil départemental des Vosges" in page
    assert "PROXISERVICES_DPO_CONTACT" not in page


def test_every_page_footer_and_the_consent_text_link_to_it(world):
    home = world.app.test_client().get("/").get_data(as_text=True)
    assert 'href="/donnees-personnelles"' in home.split("<footer", 1)[1]
    form = world.clients["desk"].get("/demandes/nouvelle?need=aide-logement&commune=88078")
    consent = form.get_data(as_text=True).split('class="consent', 1)[1].split("</fieldset>")[0]
    assert 'href="/donnees-personnelles"' in consent


def test_the_admin_hub_links_to_the_page(world):
    hub = world.clients["admin"].get("/admin").get_data(as_text=True)
    assert f'href="{PAGE}"' in hub


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["desk", "partner", "elected"])
@pytest.mark.parametrize("url", [PAGE, EXPORT, ERASE])
def test_only_administrators_get_in(world, role, url):
    resident = new_resident(world, ended=False) if url == ERASE else None
    email = resident.contact.email if resident else "x@example.net"
    data = {"email": email, "confirm": "y", "expected": str(resident.id) if resident else ""}
    response = world.clients[role].get(url) if url == PAGE else post(world, url, data, role=role)
    assert response.status_code == 403
    assert "Votre rôle ne donne pas accès à cette page." in text_of(response.get_data(as_text=True))
    if resident:
        assert stored(world, resident.id).anonymised_at is None


def test_anonymous_visitors_are_sent_to_the_login_page(world):
    client = world.app.test_client()
    response = client.get(PAGE)
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    token = csrf_token(client)
    response = client.post(EXPORT, data={"email": "x@example.net", "csrf_token": token})
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


# --- lookup, export, erasure -----------------------------------------------------------------


def test_the_lookup_lists_the_residents_requests_without_putting_them_in_the_url(world):
    resident = new_resident(world, ended=True)
    page = world.clients["admin"].get(PAGE)
    assert page.status_code == 200
    assert '<form method="post"' in page.get_data(as_text=True)
    response = post(world, PAGE, {"email": resident.contact.email.lower()})
    assert response.status_code == 200
    text = text_of(main_content(response.get_data(as_text=True)))
    assert resident.reference in text and resident.contact.name in text
    assert "1 demande trouvée" in text and "prévue le" in text
    by_phone = post(world, PAGE, {"phone": format_phone(resident.contact.phone)})
    assert resident.reference in text_of(by_phone.get_data(as_text=True))


def test_an_open_request_shows_when_it_will_be_anonymised_without_activity(world):
    resident = new_resident(world, ended=False)
    taken = stored(world, resident.id).status_changed_at  # its last activity
    planned = retention.months_after(
        taken, retention.parse_months(world.app.config["RETENTION_MONTHS"])
    )
    response = post(world, PAGE, {"email": resident.contact.email})
    text = text_of(main_content(response.get_data(as_text=True)))
    assert resident.reference in text
    assert f"prévue le {fr_datetime(planned, 'd MMMM y')} si la demande reste sans activité" in text
    export = json.loads(post(world, EXPORT, {"email": resident.contact.email}).get_data())
    (request,) = export["demandes"]
    assert request["terminee_le"] is None
    assert request["anonymisation_prevue_le"] == planned.isoformat()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Indiquez l'adresse e-mail ou le numéro de téléphone de l'usager."),
        ({"email": "pas une adresse"}, "Adresse e-mail non reconnue"),
        ({"phone": "123"}, "Numéro de téléphone non reconnu"),
        ({"email": "a" * 5000 + "@example.net"}, "254 caractères au plus."),
    ],
)
@pytest.mark.parametrize("url", [PAGE, EXPORT, ERASE])
def test_bad_lookup_keys_get_a_french_message_and_a_422(world, url, data, message):
    response = post(world, url, data)
    assert response.status_code == 422
    assert message in text_of(response.get_data(as_text=True))


def test_the_export_is_a_json_download_with_everything_and_is_audited(world):
    resident = new_resident(world, ended=True)
    response = post(world, EXPORT, {"email": resident.contact.email})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="donnees-usager-')
    assert "Paulette" not in disposition and response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    (request,) = data["demandes"]
    assert request["reference"] == resident.reference
    assert request["usager"]["email"] == resident.contact.email
    assert request["usager"]["message"] == resident.contact.message
    assert [h["statut"] for h in request["historique"]][-1] == "traitée"
    assert request["courriels"], "the e-mails about the request are part of the export"
    entry = last_audit(world, audit.EXPORT)
    assert entry.object_id == resident.reference
    assert entry.actor_id == world.users["admin"].id
    assert resident.contact.email.lower() not in str(entry.changes).lower() + entry.object_label


def test_erasing_needs_the_confirmation(world):
    resident = new_resident(world, ended=False)
    response = post(world, ERASE, {"email": resident.contact.email, "expected": str(resident.id)})
    assert response.status_code == 422
    text = text_of(response.get_data(as_text=True))
    assert "Cochez la case pour confirmer l'effacement." in text
    assert resident.reference in text  # the list stays on screen
    request = stored(world, resident.id)
    assert request.anonymised_at is None and request.status == lifecycle.IN_PROGRESS


def test_erasing_anonymises_cancels_and_audits(world):
    resident = new_resident(world, ended=False)
    listed = post(world, PAGE, {"phone": resident.contact.phone}).get_data(as_text=True)
    assert f'name="expected" value="{resident.id}"' in listed
    assert "1 demande en cours sera annulée" in text_of(listed)
    response = post(
        world,
        ERASE,
        {"phone": resident.contact.phone, "expected": str(resident.id), "confirm": "y"},
    )
    assert response.status_code == 303 and response.headers["Location"] == PAGE
    request = stored(world, resident.id)
    assert request.anonymised_at is not None
    assert request.resident_name == retention.ANONYMOUS_NAME
    assert request.resident_email is None and request.message is None
    assert request.status == lifecycle.CANCELLED
    after = world.clients["admin"].get(PAGE).get_data(as_text=True)
    notice = text_of(main_content(after))
    assert f"Données personnelles effacées de 1 demande(s) : {resident.reference}" in notice
    assert resident.contact.name not in after and resident.contact.email not in after
    entry = last_audit(world, audit.ERASE)
    assert entry.object_type == "resident" and entry.object_id == resident.reference
    assert entry.actor_id == world.users["admin"].id
    assert entry.changes["demandes en cours annulées"] == [0, 1]
    written = entry.object_label + json.dumps(entry.changes, ensure_ascii=False)
    assert resident.contact.phone not in written and "Paulette" not in written
    # The request's own pages show the anonymised request.
    detail = world.clients["admin"].get(f"/demandes/{resident.id}").get_data(as_text=True)
    assert retention.ANONYMOUS_NAME in detail and resident.contact.name not in detail
    # Nothing is left to find.
    again = post(world, PAGE, {"phone": resident.contact.phone})
    assert "0 demande trouvée" in text_of(again.get_data(as_text=True))


def test_erasing_a_list_that_changed_erases_nothing(world):
    resident = new_resident(world, ended=True)
    response = post(
        world,
        ERASE,
        {"email": resident.contact.email, "expected": f"{resident.id},999999", "confirm": "y"},
    )
    assert response.status_code == 409
    assert "ont changé depuis l'affichage" in text_of(response.get_data(as_text=True))
    assert stored(world, resident.id).anonymised_at is None
    garbage = post(
        world, ERASE, {"email": resident.contact.email, "expected": "1;drop", "confirm": "y"}
    )
    assert garbage.status_code == 409
    assert stored(world, resident.id).anonymised_at is None

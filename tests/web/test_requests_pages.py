"""The request pages as people use them: a Bruyères desk sends to the CAF, the CAF answers."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, OutboxMessage
from tests.plugins.accounts import csrf_in, logged_in, make_user
from tests.web.html import main_content, normalise, text_of, without_title

NEW_URL = "/demandes/nouvelle?need=aide-logement&commune=88078"


@pytest.fixture(scope="module")
def accounts(workspace):
    return {
        "desk": make_user(workspace, "receptionist", commune_insee="88078").email,
        "other_desk": make_user(workspace, "receptionist", commune_insee="88160").email,
        "caf": make_user(workspace, "partner", body_slug="caf-vosges").email,
        "cpam": make_user(workspace, "partner", body_slug="cpam-vosges").email,
        "elected": make_user(workspace, "elected", territory_code="88078").email,
    }


def send(client, expect=None, **fields):
    page = client.get(NEW_URL)
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_in(page.text),
        "body": re.search(r'name="body"[^>]*value="(\d+)"', page.text).group(1),
        "resident_name": f"Jeanne Usager {uuid.uuid4().hex[:4]}",
        "phone": "06" + "".join(str(random.randint(0, 9)) for _ in range(8)),
        "email": "",
        "channel": "phone",
        "time_slots": ["morning"],
        "message": "Première demande d'aide au logement.",
        "consent": "y",
    }
    data.update(fields)
    response = client.post(NEW_URL, data=data)
    if expect:
        assert response.status_code == expect, text_of(response.text)[:2000]
    return response


def last_request(app) -> SimpleNamespace:
    """The newest request, read back as plain values."""
    with app.app_context():
        request = db.session.scalars(
            select(AppointmentRequest).order_by(AppointmentRequest.id.desc())
        ).first()
        return SimpleNamespace(
            id=request.id,
            reference=request.reference,
            status=request.status,
            body_slug=request.body.slug,
            commune_insee=request.commune_insee,
        )


def count_requests(app) -> int:
    with app.app_context():
        return db.session.query(AppointmentRequest).count()


def test_the_result_page_offers_the_request_to_a_logged_in_desk(workspace, accounts):
    anonymous = workspace.test_client().get("/orientation?need=aide-logement&commune=88078")
    assert "se connecter" in anonymous.text
    assert "/demandes/nouvelle" not in anonymous.text
    desk = logged_in(workspace, accounts["desk"])
    page = desk.get("/orientation?need=aide-logement&commune=88078")
    assert "/demandes/nouvelle?need=aide-logement&amp;commune=88078" in page.text


def test_the_form_proposes_the_caf_first(workspace, accounts):
    page = logged_in(workspace, accounts["desk"]).get(NEW_URL)
    assert page.status_code == 200
    first = re.search(r'name="body"[^>]*value="\d+"[^>]*>\s*<label[^>]*>([^<]+)<', page.text)
    assert first.group(1) == "CAF des Vosges"
    assert "checked" in re.search(r'<input[^>]*name="body"[^>]*>', page.text).group(0)


def test_errors_are_french_next_to_the_fields_and_nothing_typed_is_lost(workspace, accounts):
    desk = logged_in(workspace, accounts["desk"])
    before = count_requests(workspace)
    response = send(desk, phone="12", email="pas-une-adresse", consent="", message="Mon texte")
    assert response.status_code == 422
    text = text_of(response.text)
    assert "Numéro de téléphone non reconnu" in text
    assert "Adresse e-mail non reconnue" in text
    assert "Sans l'accord de l'usager" in text
    assert 'value="pas-une-adresse"' in response.text and "Mon texte" in response.text
    assert 'aria-invalid="true"' in response.text
    assert count_requests(workspace) == before


def test_at_least_one_way_to_reach_the_resident(workspace, accounts):
    response = send(logged_in(workspace, accounts["desk"]), phone="", email="")
    assert response.status_code == 422
    assert "au moins un moyen de joindre" in text_of(response.text)


def test_bruyeres_to_caf_scheduled_and_seen_by_the_desk(workspace, accounts):
    desk = logged_in(workspace, accounts["desk"])
    response = send(desk, email="jeanne@example.org")
    assert response.status_code == 303
    sent = last_request(workspace)
    assert response.headers["Location"].endswith(f"/demandes/{sent.id}")
    assert sent.body_slug == "caf-vosges" and sent.commune_insee == "88078"

    caf = logged_in(workspace, accounts["caf"])
    inbox = caf.get("/partenaire/demandes")
    assert sent.reference in inbox.text
    detail = caf.get(f"/partenaire/demandes/{sent.id}")
    assert "Première demande" in detail.text and "Première demande" in detail.text
    day = (datetime.now(UTC) + timedelta(days=7)).date()
    scheduled = caf.post(
        f"/partenaire/demandes/{sent.id}/schedule",
        data={
            "schedule-csrf_token": csrf_in(detail.text),
            "schedule-day": day.isoformat(),
            "schedule-time": "10:30",
            "schedule-mode": "site",
            "schedule-place": "CAF des Vosges, Épinal",
        },
    )
    assert scheduled.status_code == 303, text_of(scheduled.text)

    follow = desk.get(f"/demandes/{sent.id}")
    text = text_of(follow.text)
    assert "rendez-vous fixé" in text
    assert "10h30" in text and "CAF des Vosges, Épinal" in text
    desk_list = text_of(desk.get("/demandes").text)
    assert sent.reference in desk_list and "rendez-vous fixé" in desk_list

    with workspace.app_context():
        kinds = db.session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.request_id == sent.id)
        ).all()
    assert sorted(kinds) == ["new_request", "resident", "status_changed"]


def test_htmx_gets_fragments_and_the_same_markup(workspace, accounts):
    desk = logged_in(workspace, accounts["desk"])
    full = desk.get("/demandes")
    fragment = desk.get("/demandes", headers={"HX-Request": "true"})
    assert "<html" in full.text and "<html" not in fragment.text
    assert normalise(without_title(fragment.text)) == normalise(main_content(full.text))


def test_a_refusal_needs_its_reason_and_keeps_the_page(workspace, accounts):
    send(logged_in(workspace, accounts["desk"]), expect=303)
    sent = last_request(workspace)
    caf = logged_in(workspace, accounts["caf"])
    detail = caf.get(f"/partenaire/demandes/{sent.id}")
    empty = caf.post(
        f"/partenaire/demandes/{sent.id}/refuse",
        data={"refuse-csrf_token": csrf_in(detail.text), "refuse-comment": ""},
    )
    assert empty.status_code == 422 and "Indiquez le motif" in text_of(empty.text)
    done = caf.post(
        f"/partenaire/demandes/{sent.id}/refuse",
        data={"refuse-csrf_token": csrf_in(detail.text), "refuse-comment": "Dossier MSA"},
    )
    assert done.status_code == 303
    again = caf.post(
        f"/partenaire/demandes/{sent.id}/take",
        data={"take-csrf_token": csrf_in(detail.text)},
    )
    assert again.status_code == 409 and "Action impossible" in text_of(again.text)
    assert "Dossier MSA" in text_of(
        logged_in(workspace, accounts["desk"]).get(f"/demandes/{sent.id}").text
    )


def test_another_body_or_desk_gets_404_by_guessing_ids(workspace, accounts):
    send(logged_in(workspace, accounts["desk"]), expect=303)
    sent = last_request(workspace)
    cpam = logged_in(workspace, accounts["cpam"])
    assert cpam.get(f"/partenaire/demandes/{sent.id}").status_code == 404
    page = cpam.get("/partenaire/demandes")
    assert sent.reference not in page.text
    token = csrf_in(page.text)
    for action in ("take", "refuse", "close"):
        response = cpam.post(
            f"/partenaire/demandes/{sent.id}/{action}",
            data={f"{action}-csrf_token": token, f"{action}-comment": "x"},
        )
        assert response.status_code == 404
    other_desk = logged_in(workspace, accounts["other_desk"])
    assert other_desk.get(f"/demandes/{sent.id}").status_code == 404
    assert last_request(workspace).status == "submitted"


def test_the_desk_cancels_with_a_reason_and_prints_a_confirmation(workspace, accounts):
    desk = logged_in(workspace, accounts["desk"])
    send(desk, expect=303)
    sent = last_request(workspace)
    page = desk.get(f"/demandes/{sent.id}")
    response = desk.post(
        f"/demandes/{sent.id}/annuler",
        data={"csrf_token": csrf_in(page.text), "comment": "L'usager a trouvé la réponse"},
    )
    assert response.status_code == 303
    assert last_request(workspace).status == "cancelled"
    printed = desk.get(f"/demandes/{sent.id}/confirmation")
    assert printed.status_code == 200
    assert sent.reference in printed.text and "annulée" in printed.text


def test_a_likely_duplicate_is_flagged_before_sending(workspace, accounts):
    desk = logged_in(workspace, accounts["desk"])
    send(desk, expect=303, resident_name="Paul Doublon", phone="0699000001")
    first = last_request(workspace)
    warned = send(desk, resident_name="Paul Doublon", phone="0699000001")
    assert warned.status_code == 422
    assert "Demande probablement en double" in text_of(warned.text)
    assert first.reference in warned.text
    assert last_request(workspace).id == first.id
    confirmed = send(desk, resident_name="Paul Doublon", phone="0699000001", confirm_duplicate="y")
    assert confirmed.status_code == 303
    assert last_request(workspace).id != first.id


def test_inbox_filters_by_status_and_age(workspace, accounts):
    caf = logged_in(workspace, accounts["caf"])
    assert caf.get("/partenaire/demandes?statut=toutes&age=3").status_code == 200
    assert caf.get("/partenaire/demandes?statut=nimporte").status_code == 400
    assert caf.get("/partenaire/demandes?age=abc").status_code == 400


def test_absurd_ids_and_dates_get_4xx_not_500(workspace, accounts):
    desk = logged_in(workspace, accounts["desk"])
    caf = logged_in(workspace, accounts["caf"])
    huge = 10**20
    assert desk.get(f"/demandes/{huge}").status_code == 404
    assert caf.get(f"/partenaire/demandes/{huge}").status_code == 404
    send(desk, expect=303)
    sent = last_request(workspace)
    detail = caf.get(f"/partenaire/demandes/{sent.id}").text
    for day in ("9999-12-31", "0001-01-01", "2026-02-30", "demain"):
        response = caf.post(
            f"/partenaire/demandes/{sent.id}/schedule",
            data={
                "schedule-csrf_token": csrf_in(detail),
                "schedule-day": day,
                "schedule-time": "10:00",
                "schedule-mode": "phone",
            },
        )
        assert response.status_code == 422, day
    assert last_request(workspace).status == "viewed"

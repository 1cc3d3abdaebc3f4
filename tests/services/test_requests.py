"""Requests to partners, through the services: lifecycle, history, e-mails queued, access."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from proxiservices.domain import lifecycle
from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, OutboxMessage, User
from proxiservices.services import requests as service
from proxiservices.services.directory import get_body
from proxiservices.services.needs import get_need
from proxiservices.services.orientation import orient
from tests.plugins.accounts import make_user

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def app(workspace):
    with workspace.app_context():
        yield workspace
        db.session.rollback()


def user(role: str, **attachment):
    return make_user(current_app, role, **attachment)


def contact(**changes) -> service.ResidentContact:
    values = dict(
        name=f"Usager {uuid.uuid4().hex[:6]}",
        phone="0612345678",
        email=None,
        channel="phone",
        time_slots=["morning"],
    )
    values.update(changes)
    return service.ResidentContact(**values)


def messages_for(request_id: int) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.request_id == request_id)
    return list(db.session.scalars(stmt.order_by(OutboxMessage.id)))


@pytest.fixture(scope="module")
def people_ids(workspace):
    """Accounts are made once per module: hashing passwords with scrypt is slow on purpose."""
    with workspace.app_context():
        people = dict(
            desk=user("receptionist", commune_insee="88078"),
            colleague=user("receptionist", commune_insee="88078"),
            other_desk=user("receptionist", commune_insee="88160"),
            caf=user("partner", body_slug="caf-vosges"),
            cpam=user("partner", body_slug="cpam-vosges"),
            elected=user("elected", territory_code="88"),
            admin=user("admin"),
        )
        ids = {key: u.id for key, u in people.items()}
        db.session.remove()
    return ids


@pytest.fixture
def people(app, people_ids):
    return {key: db.session.get(User, uid) for key, uid in people_ids.items()}


def submit(people, at=AT, actor="desk", body="caf-vosges", need="aide-logement", **changes):
    return service.submit_request(
        actor=people[actor],
        need=get_need(need),
        commune=people["desk"].site.commune,
        body=get_body(body),
        contact=contact(**changes),
        at=at,
    )


def test_the_caf_is_offered_for_housing_benefit_in_bruyeres(people):
    answer = orient("aide-logement", "88078", AT)
    targets = service.request_targets(answer)
    assert targets[0].slug == "caf-vosges"


def test_submitting_saves_history_consent_and_the_partner_email(people):
    request = submit(people)
    assert request.status == lifecycle.SUBMITTED
    assert request.desk.slug == "mairie-88078"
    assert request.consent_by == people["desk"] and request.consent_at == AT
    assert [(e.action, e.to_status) for e in request.events] == [("submit", "submitted")]
    (mail,) = messages_for(request.id)
    assert mail.kind == "new_request"
    assert people["caf"].email in mail.recipient_list
    assert request.resident_name not in mail.body and "0612345678" not in mail.body


def test_full_lifecycle_with_history_and_notifications(people):
    request = submit(people, email="usager@example.org")
    caf = people["caf"]
    service.mark_viewed(request, caf, AT + timedelta(hours=1))
    service.apply_action(request, lifecycle.TAKE, actor=caf, at=AT + timedelta(hours=2))
    appointment = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    service.apply_action(
        request,
        lifecycle.SCHEDULE,
        actor=caf,
        at=AT + timedelta(hours=3),
        details=service.ActionInput(scheduled_at=appointment, mode="phone"),
    )
    assert request.status == lifecycle.SCHEDULED
    assert request.scheduled_at == appointment
    service.apply_action(request, lifecycle.CLOSE, actor=caf, at=AT + timedelta(days=8))
    steps = [(e.from_status, e.to_status, e.actor) for e in request.events]
    assert steps == [
        (None, "submitted", people["desk"]),
        ("submitted", "viewed", caf),
        ("viewed", "in_progress", caf),
        ("in_progress", "scheduled", caf),
        ("scheduled", "closed", caf),
    ]
    mails = messages_for(request.id)
    # Viewing is not announced; every other change goes to the desk, decisions to the resident.
    assert [m.kind for m in mails] == [
        "new_request",
        "status_changed",
        "resident",
        "status_changed",
        "resident",
        "status_changed",
    ]
    for mail in mails:
        if mail.kind == "status_changed":
            assert mail.recipient_list[0] == people["desk"].email
            assert people["colleague"].email in mail.recipient_list
            assert people["other_desk"].email not in mail.recipient_list
        if mail.kind == "resident":
            assert mail.recipient_list == ["usager@example.org"]
    assert "rendez-vous" in mails[4].body.lower() and "8 décembre" in mails[4].body


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("closed", lifecycle.TAKE),
        ("refused", lifecycle.SCHEDULE),
        ("cancelled", lifecycle.CANCEL),
        ("submitted", lifecycle.CLOSE),
    ],
)
def test_an_invalid_transition_is_refused_and_changes_nothing(people, status, action):
    request = submit(people)
    request.status = status
    db.session.commit()
    actor = people["desk"] if action == lifecycle.CANCEL else people["caf"]
    with pytest.raises(lifecycle.TransitionError, match="Action impossible"):
        service.apply_action(
            request, action, actor=actor, at=AT, details=service.ActionInput(comment="motif")
        )
    db.session.rollback()
    assert len(request.events) == 1


def test_refusing_needs_a_reason(people):
    request = submit(people)
    with pytest.raises(service.RequestError, match="motif"):
        service.apply_action(request, lifecycle.REFUSE, actor=people["caf"], at=AT)
    service.apply_action(
        request,
        lifecycle.REFUSE,
        actor=people["caf"],
        at=AT,
        details=service.ActionInput(comment="Hors de notre compétence"),
    )
    assert request.status == "refused" and request.reason == "Hors de notre compétence"


def test_scheduling_in_the_past_or_without_place_is_refused(people):
    request = submit(people)
    caf = people["caf"]
    with pytest.raises(service.RequestError, match="à venir"):
        service.apply_action(
            request,
            lifecycle.SCHEDULE,
            actor=caf,
            at=AT,
            details=service.ActionInput(scheduled_at=AT - timedelta(days=1), mode="phone"),
        )
    with pytest.raises(service.RequestError, match="lieu"):
        service.apply_action(
            request,
            lifecycle.SCHEDULE,
            actor=caf,
            at=AT,
            details=service.ActionInput(scheduled_at=AT + timedelta(days=1), mode="site"),
        )
    assert request.status == "submitted"


def test_redirecting_creates_a_linked_request_for_the_other_body(people):
    request = submit(people, email="usager@example.org")
    service.apply_action(
        request,
        lifecycle.REDIRECT,
        actor=people["caf"],
        at=AT + timedelta(hours=1),
        details=service.ActionInput(
            comment="Relève de l'assurance maladie", target_body=get_body("cpam-vosges")
        ),
    )
    assert request.status == "redirected"
    (new,) = request.redirected_to
    assert new.body.slug == "cpam-vosges" and new.status == "submitted"
    assert new.redirected_from == request
    assert new.resident_name == request.resident_name
    assert new.desk == request.desk and new.sender == people["desk"]
    assert "Relève de l'assurance maladie" in new.events[0].comment
    assert [m.kind for m in messages_for(new.id)] == ["new_request"]
    assert people["cpam"].email in messages_for(new.id)[0].recipient_list
    assert service.get_request_for_partner(people["cpam"], new.id) == new
    with pytest.raises(service.NotAllowed):
        service.get_request_for_partner(people["cpam"], request.id)


def test_the_desk_cancels_with_a_reason_and_the_partner_cannot(people):
    request = submit(people)
    with pytest.raises(service.NotAllowed):
        service.apply_action(
            request,
            lifecycle.CANCEL,
            actor=people["caf"],
            at=AT,
            details=service.ActionInput(comment="x"),
        )
    service.apply_action(
        request,
        lifecycle.CANCEL,
        actor=people["colleague"],
        at=AT,
        details=service.ActionInput(comment="L'usager a trouvé la réponse"),
    )
    assert request.status == "cancelled"


def test_only_the_own_body_and_the_own_desk_see_a_request(people):
    request = submit(people)
    assert service.get_request_for_partner(people["caf"], request.id) == request
    assert service.get_request_for_desk(people["colleague"], request.id) == request
    assert service.get_request_for_partner(people["admin"], request.id) == request
    for actor, getter in [
        (people["cpam"], service.get_request_for_partner),
        (people["other_desk"], service.get_request_for_desk),
        (people["elected"], service.get_request_for_partner),
        (people["elected"], service.get_request_for_desk),
        (people["desk"], service.get_request_for_partner),
        (people["caf"], service.get_request_for_desk),
    ]:
        with pytest.raises(service.NotAllowed):
            getter(actor, request.id)
    with pytest.raises(service.NotAllowed):
        service.apply_action(request, lifecycle.TAKE, actor=people["cpam"], at=AT)
    assert request.id in [r.id for r in service.list_inbox(people["caf"], AT)]
    assert request.id not in [r.id for r in service.list_inbox(people["cpam"], AT)]
    assert request.id not in [r.id for r in service.list_desk_requests(people["other_desk"], AT)]


def test_a_partner_or_elected_cannot_send(people):
    for role in ("caf", "elected"):
        with pytest.raises(service.NotAllowed):
            submit(people, actor=role)


def test_a_body_nobody_reads_cannot_receive_and_nothing_is_saved(people):
    """The request, its history and its e-mail are one transaction."""
    count = db.session.query(AppointmentRequest).count()
    with pytest.raises(service.RequestError, match="ne reçoit pas encore"):
        submit(people, body="msa-lorraine")
    db.session.rollback()
    assert db.session.query(AppointmentRequest).count() == count


def test_duplicates_are_found_by_phone_email_or_name_within_seven_days(people):
    first = submit(people, phone="0699887766")
    need = get_need("aide-logement")
    assert first in service.find_duplicates(need, contact(phone="0699887766"), AT)
    assert first in service.find_duplicates(
        need, contact(name=first.resident_name.upper(), phone=None, email="x@example.org"), AT
    )
    assert first not in service.find_duplicates(
        need, contact(phone="0699887766"), AT + timedelta(days=8)
    )
    assert first not in service.find_duplicates(get_need("rsa"), contact(phone="0699887766"), AT)


def test_reminders_on_day_3_and_10_then_expiry_at_30_days(people):
    start = datetime(2030, 1, 6, 9, 0, tzinfo=UTC)  # apart from the other tests' requests
    request = submit(people, at=start)
    answered = submit(people, at=start)
    service.apply_action(answered, lifecycle.TAKE, actor=people["caf"], at=start)

    def remind(days: float):
        return service.send_reminders(start + timedelta(days=days))

    assert request.id not in remind(2).reminded
    assert request.id in remind(3).reminded
    assert request.id not in remind(4).reminded
    assert request.id in remind(10).reminded
    assert request.id not in remind(11).reminded
    report = remind(30)
    assert request.id in report.expired and answered.id not in report.expired
    db.session.refresh(request)
    assert request.status == "expired"
    assert request.events[-1].actor is None
    kinds = [m.kind for m in messages_for(request.id)]
    assert kinds == ["new_request", "reminder", "reminder", "status_changed"]


def test_a_request_for_digital_help_goes_to_the_conseiller_numerique(people):
    advisor = user("partner", body_slug="conseiller-numerique-bruyeres")
    answer = orient("creer-email", "88078", AT)
    targets = service.request_targets(answer)
    assert targets[0].slug == "conseiller-numerique-bruyeres"
    request = submit(people, body=targets[0].slug, need="creer-email")
    assert service.get_request_for_partner(advisor, request.id) == request

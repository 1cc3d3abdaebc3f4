"""Personal data through the services: the retention purge (`flask purge`), and the
administrators' export and erasure of one resident's data."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from flask import current_app
from sqlalchemy import event as sql_event
from sqlalchemy import func, select

from proxiservices.domain import lifecycle, retention
from proxiservices.domain import statistics as st
from proxiservices.extensions import db
from proxiservices.models import (
    ActivityEvent,
    AppointmentRequest,
    AuditEntry,
    OutboxAttempt,
    OutboxMessage,
    RequestEvent,
    User,
)
from proxiservices.services import audit, dashboard, privacy
from proxiservices.services import requests as service
from proxiservices.services.directory import get_body
from proxiservices.services.needs import get_need
from tests.plugins.accounts import make_user

AT = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
MONTH = timedelta(days=31)
PERIOD = st.Period(st.CUSTOM, date(2024, 1, 1), date(2026, 11, 22))


def unique_contact(**changes) -> service.ResidentContact:
    tag = uuid.uuid4().hex[:8]
    values = dict(
        name=f"Mme Usagère {tag}",
        phone=f"06{int(tag, 16) % 10**8:08d}",
        email=f"usagere.{tag}@example.net",
        channel="email",
        time_slots=["morning"],
        availability=f"Pas le mercredi ({tag})",
        message=f"Mon dossier {tag} est bloqué, je suis joignable chez ma fille.",
    )
    values.update(changes)
    return service.ResidentContact(**values)


def send(people, contact, at) -> AppointmentRequest:
    desk = people["desk"]
    return service.submit_request(
        actor=desk,
        need=get_need("aide-logement"),
        commune=desk.site.commune,
        body=get_body("caf-vosges"),
        contact=contact,
        at=at,
    )


def act(request, action, actor, at, comment=None):
    details = service.ActionInput(comment=comment)
    return service.apply_action(request, action, actor=actor, at=at, details=details)


def make_request(people, submitted, ended=None, end_action=lifecycle.CLOSE, contact=None):
    """A request taken in charge (the resident is e-mailed), then ended if `ended` is given,
    with comments that name the resident, as people write them."""
    contact = contact or unique_contact()
    request = send(people, contact, submitted)
    caf = people["caf"]
    act(request, lifecycle.TAKE, caf, submitted + timedelta(hours=5), f"Rappeler {contact.name}")
    if ended is not None:
        actor = people["desk"] if end_action == lifecycle.CANCEL else caf
        act(request, end_action, actor, ended, f"Vu {contact.name} au {contact.phone}")
    return SimpleNamespace(id=request.id, contact=contact)


def schedule(request_id, people, at, appointment, place):
    """The partner fixes an appointment on site, the place naming the resident's street."""
    request = db.session.get(AppointmentRequest, request_id)
    details = service.ActionInput(scheduled_at=appointment, mode="site", place=place)
    service.apply_action(request, lifecycle.SCHEDULE, actor=people["caf"], at=at, details=details)


def traces(request_id: int, contact: service.ResidentContact) -> list[str]:
    """Every column of the request, its history and its e-mails that still holds any of the
    resident's details or a comment naming the resident."""
    details = [contact.name, contact.phone, contact.email, contact.message, contact.availability]
    found = []
    request = db.session.get(AppointmentRequest, request_id)
    for column in AppointmentRequest.__table__.columns:
        value = str(getattr(request, column.key))
        found += [f"request.{column.key}" for d in details if d and d in value]
    events = db.session.scalars(select(RequestEvent).where(RequestEvent.request_id == request_id))
    for event in events:
        found += [f"event.comment {event.id}" for d in details if d in (event.comment or "")]
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.request_id == request_id)
    ).all()
    for message in messages:
        text = " ".join(
            [message.recipients, message.subject, message.body, message.last_error or ""]
        )
        found += [f"mail {message.id}" for d in details if d.lower() in text.lower()]
        for attempt in message.attempt_log:
            found += [f"attempt {attempt.id}" for d in details if d in (attempt.error or "")]
    return found


@pytest.fixture(scope="module")
def people_ids(workspace):
    with workspace.app_context():
        people = dict(
            desk=make_user(current_app, "receptionist", commune_insee="88078"),
            caf=make_user(current_app, "partner", body_slug="caf-vosges"),
            cpam=make_user(current_app, "partner", body_slug="cpam-vosges"),
            admin=make_user(current_app, "admin"),
        )
        ids = {key: u.id for key, u in people.items()}
        db.session.remove()
    return ids


@pytest.fixture
def app(workspace):
    with workspace.app_context():
        yield workspace
        db.session.rollback()


@pytest.fixture
def people(app, people_ids):
    return {key: db.session.get(User, uid) for key, uid in people_ids.items()}


def board() -> dashboard.Dashboard:
    return dashboard.build_dashboard(dashboard.EVERYTHING, PERIOD, AT, (3, 10))


def state_of(request_ids) -> list[tuple]:
    """What the statistics and the desks may read of these requests."""
    rows = db.session.execute(
        select(
            AppointmentRequest.id,
            AppointmentRequest.status,
            AppointmentRequest.body_id,
            AppointmentRequest.need_id,
            AppointmentRequest.commune_insee,
            AppointmentRequest.desk_site_id,
            AppointmentRequest.created_at,
            AppointmentRequest.status_changed_at,
        ).where(AppointmentRequest.id.in_(request_ids))
    )
    return sorted(tuple(r) for r in rows)


def request_events() -> list[tuple]:
    rows = db.session.execute(
        select(
            ActivityEvent.id,
            ActivityEvent.body_id,
            ActivityEvent.from_status,
            ActivityEvent.to_status,
            ActivityEvent.elapsed_seconds,
        ).where(ActivityEvent.kind == "request")
    )
    return sorted(tuple(r) for r in rows)


@pytest.fixture(scope="module")
def purged(workspace, people_ids):
    """Six requests ended 13 months ago (enough for the dashboard to show their delays),
    one ended 11 months ago; open requests left without activity for 13 or 11 months, or
    older but with a recent line of history or a recent or coming appointment; e-mails in
    every state; then a dry run and one purge, with the dashboard read before and after."""
    with workspace.app_context():
        people = {key: db.session.get(User, uid) for key, uid in people_ids.items()}
        old = [
            make_request(
                people,
                AT - 14 * MONTH + timedelta(days=i),
                AT - 13 * MONTH + timedelta(days=i, hours=i),
                end_action=action,
            )
            for i, action in enumerate([lifecycle.CLOSE] * 4 + [lifecycle.REFUSE, lifecycle.CANCEL])
        ]
        recent = make_request(people, AT - 12 * MONTH, AT - 11 * MONTH)
        # Taken in charge (the resident is e-mailed), then nothing for 13 months.
        idle = make_request(people, AT - 13 * MONTH - timedelta(hours=6))
        idle_recent = make_request(people, AT - 11 * MONTH - timedelta(hours=6))
        # A line of history after its last change of status: no action writes one today,
        # but an import or a comment would, and it is activity.
        commented = make_request(people, AT - 20 * MONTH)
        db.session.add(
            RequestEvent(
                request_id=commented.id,
                actor_id=people["caf"].id,
                action="comment",
                from_status=lifecycle.IN_PROGRESS,
                to_status=lifecycle.IN_PROGRESS,
                at=AT - MONTH,
                comment="Pièces toujours attendues",
            )
        )
        db.session.commit()
        # Appointments fixed 14 months ago: 13 months ago (long past), a month ago, to come.
        scheduled = {}
        for key, appointment in [
            ("old", AT - 13 * MONTH),
            ("recent", AT - MONTH),
            ("coming", AT + MONTH),
        ]:
            made = make_request(people, AT - 15 * MONTH)
            schedule(made.id, people, AT - 14 * MONTH, appointment, f"Chez {made.contact.name}")
            scheduled[key] = made
        # The first old request's e-mails: one sent, one failed after an SMTP refusal that
        # quotes the address, the rest still pending.
        first = old[0]
        messages = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.request_id == first.id)
            .order_by(OutboxMessage.id)
        ).all()
        assert len(messages) >= 3
        messages[0].status, messages[0].sent_at = "sent", AT - 13 * MONTH
        messages[1].status, messages[1].last_error = "sent", f"550 {first.contact.email}"
        messages[1].sent_at = AT - 13 * MONTH
        db.session.add(
            OutboxAttempt(
                message=messages[1],
                at=AT - 13 * MONTH,
                worker="test",
                outcome="failed",
                error=f"refusé : {first.contact.email}",
            )
        )
        messages[2].status = "failed"
        db.session.commit()
        kept_open = [idle_recent, commented, scheduled["recent"], scheduled["coming"]]
        ids = [r.id for r in [*old, recent, idle, scheduled["old"], *kept_open]]
        before = SimpleNamespace(
            board=board(),
            state=state_of(ids),
            events=request_events(),
            traces=traces(first.id, first.contact),
            idle_traces=traces(idle.id, idle.contact),
        )
        dry_run = privacy.purge(AT, dry_run=True)
        report = privacy.purge(AT, batch_size=4)
        after = SimpleNamespace(board=board(), state=state_of(ids), events=request_events())
        db.session.remove()
    return SimpleNamespace(
        old=old,
        recent=recent,
        idle=[idle, scheduled["old"]],
        kept_open=kept_open,
        before=before,
        after=after,
        dry_run=dry_run,
        report=report,
    )


def test_the_purge_anonymises_requests_ended_13_months_ago(app, purged):
    assert purged.report.anonymised == 8  # with the two open ones idle for 13 months
    assert purged.report.batches == 2
    assert purged.before.traces, "the check below would prove nothing"
    for old in purged.old:
        request = db.session.get(AppointmentRequest, old.id)
        assert request.anonymised_at == AT
        assert request.resident_name == retention.ANONYMOUS_NAME
        assert request.resident_phone is request.resident_email is request.message is None
        assert request.availability is None
        assert traces(old.id, old.contact) == []
        comments = {e.comment for e in request.events}
        assert comments <= {None, retention.ERASED_TEXT}
        assert retention.ERASED_TEXT in comments
    refused = db.session.get(AppointmentRequest, purged.old[4].id)
    assert refused.status == lifecycle.REFUSED and refused.reason == retention.ERASED_TEXT


def test_the_purge_anonymises_open_requests_without_activity_for_13_months(app, purged):
    """Left in progress, or with an appointment 13 months past, by a partner that never
    closed them: anonymised like ended requests, and expired by the application, so that
    nobody works on (and writes into) a request nobody can answer any more."""
    assert purged.before.idle_traces, "the check below would prove nothing"
    assert purged.report.anonymised_open == 2
    in_progress, scheduled = (db.session.get(AppointmentRequest, r.id) for r in purged.idle)
    for made, request, was in zip(
        purged.idle, (in_progress, scheduled), lifecycle.OPEN[2:], strict=True
    ):
        assert (request.status, request.status_changed_at) == (lifecycle.EXPIRED, AT)
        last = max(request.events, key=lambda e: (e.at, e.id))
        assert (last.action, last.actor_id, last.from_status, last.to_status, last.at) == (
            lifecycle.EXPIRE,
            None,
            was,
            lifecycle.EXPIRED,
            AT,
        )
        assert last.comment == privacy.IDLE_REASON.format(retention="12 mois (1 an)")
        assert request.anonymised_at == AT
        assert request.resident_name == retention.ANONYMOUS_NAME
        assert request.resident_phone is request.resident_email is request.message is None
        assert traces(made.id, made.contact) == []
        earlier = {e.comment for e in request.events if e is not last}
        assert earlier <= {None, retention.ERASED_TEXT}
        messages = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.request_id == made.id)
        ).all()
        assert all(m.body == retention.ERASED_MAIL for m in messages)
    assert scheduled.scheduled_place == retention.ERASED_TEXT
    assert scheduled.scheduled_at == AT - 13 * MONTH  # the dates stay, for the statistics
    unsent = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.request_id.in_([r.id for r in purged.idle]),
            OutboxMessage.status.in_(("pending", "failed")),
        )
    )
    assert unsent == 0


def test_the_purge_keeps_requests_ended_or_active_within_11_months(app, purged):
    """Ended 11 months ago; open but idle for 11 months, or older with a line of history a
    month ago, an appointment a month ago or one still to come."""
    for kept in (purged.recent, *purged.kept_open):
        request = db.session.get(AppointmentRequest, kept.id)
        assert request.anonymised_at is None
        assert request.resident_name == kept.contact.name
        assert request.resident_email == kept.contact.email
        assert request.message == kept.contact.message
        assert traces(kept.id, kept.contact)
    statuses = [db.session.get(AppointmentRequest, r.id).status for r in purged.kept_open]
    assert statuses == [lifecycle.IN_PROGRESS] * 2 + [lifecycle.SCHEDULED] * 2


def test_the_dry_run_counts_ended_and_idle_open_requests(app, purged):
    assert (purged.dry_run.due, purged.dry_run.due_open) == (8, 2)
    assert (purged.dry_run.anonymised, purged.dry_run.batches) == (0, 0)


def test_the_statistics_are_identical_after_the_purge_but_for_the_two_expired(app, purged):
    caf = next(r for r in purged.before.board.tables["organismes"].rows if "CAF" in r.label)
    assert caf.cells[0].number >= 6 and caf.cells[3].number is not None, "delays shown"
    before, after = purged.before.board, purged.after.board
    assert {k: t for k, t in after.tables.items() if k != "organismes"} == {
        k: t for k, t in before.tables.items() if k != "organismes"
    }
    # Received requests and delays unchanged; two fewer requests in progress today.
    in_progress = 5  # "En cours aujourd'hui"
    rows = zip(before.tables["organismes"].rows, after.tables["organismes"].rows, strict=True)
    for old, new in rows:
        assert (new.label, new.cells[:in_progress]) == (old.label, old.cells[:in_progress])
    before_total = before.tables["organismes"].total.cells[in_progress]
    after_total = after.tables["organismes"].total.cells[in_progress]
    assert (before_total.number, after_total.hidden) == (6, "small")  # 4: under 5, hidden
    idle = {r.id for r in purged.idle}
    assert [r for r in purged.after.state if r[0] not in idle] == [
        r for r in purged.before.state if r[0] not in idle
    ]
    assert [r[1] for r in purged.after.state if r[0] in idle] == [lifecycle.EXPIRED] * 2
    added = [e for e in purged.after.events if e not in purged.before.events]
    assert set(purged.before.events) <= set(purged.after.events)
    assert sorted((e[2], e[3]) for e in added) == [
        (lifecycle.IN_PROGRESS, lifecycle.EXPIRED),
        (lifecycle.SCHEDULED, lifecycle.EXPIRED),
    ]


def test_the_mails_are_scrubbed_and_the_unsent_ones_deleted(app, purged):
    first = purged.old[0]
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.request_id == first.id)
        .order_by(OutboxMessage.id)  # PostgreSQL returns updated rows in no fixed order
    ).all()
    assert [m.status for m in messages] == ["sent", "sent"]
    for message in messages:
        assert message.body == retention.ERASED_MAIL and message.recipients == ""
        assert message.subject  # no personal data there: kept for the operators
    (attempt,) = messages[1].attempt_log
    assert (
        attempt.error == retention.ERASED_TEXT and messages[1].last_error == retention.ERASED_TEXT
    )
    pending = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.request_id.in_([r.id for r in purged.old]),
            OutboxMessage.status.in_(("pending", "failed")),
        )
    )
    assert pending == 0
    assert purged.report.mails_scrubbed == 2 and purged.report.mails_deleted > 0


def test_the_purge_is_idempotent_and_audited(app, purged):
    ids = [r.id for r in [*purged.old, purged.recent, *purged.idle, *purged.kept_open]]
    columns = [c for c in AppointmentRequest.__table__.columns]
    before = sorted(db.session.execute(select(*columns).where(AppointmentRequest.id.in_(ids))))
    again = privacy.purge(AT + timedelta(hours=1))
    assert (again.due, again.anonymised) == (0, 0)
    db.session.expire_all()
    after = sorted(db.session.execute(select(*columns).where(AppointmentRequest.id.in_(ids))))
    assert after == before
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "purge").order_by(AuditEntry.id)
    ).first()
    assert entry.action == audit.ERASE and entry.actor_label == "commande"
    assert entry.changes["demandes anonymisées"] == [0, 8]
    assert entry.changes["dont demandes en cours sans activité"] == [0, 2]
    assert "dernière activité d'une demande restée en cours" in entry.object_label


def test_the_retention_setting_and_a_dry_run(app, purged, monkeypatch):
    monkeypatch.setitem(current_app.config, "RETENTION_MONTHS", 10)
    report = privacy.purge(AT, dry_run=True)
    # Ended 11 months ago, and open without activity for 11 months.
    assert (report.months, report.due, report.due_open, report.anonymised) == (10, 2, 1, 0)
    assert db.session.get(AppointmentRequest, purged.recent.id).anonymised_at is None
    assert db.session.get(AppointmentRequest, purged.kept_open[0].id).anonymised_at is None
    monkeypatch.setitem(current_app.config, "RETENTION_MONTHS", "douze")
    with pytest.raises(ValueError):
        privacy.purge(AT, dry_run=True)


class _Tomorrow(datetime):
    """The command's clock, the day after AT: the module's other requests (made around AT)
    stay as due or not due as the tests above left them, whatever today's date."""

    @classmethod
    def now(cls, tz=None):
        return (AT + timedelta(days=1)).astimezone(tz)


def test_flask_purge_prints_a_french_summary(workspace, people_ids, monkeypatch):
    monkeypatch.setattr("proxiservices.commands.privacy.datetime", _Tomorrow)
    with workspace.app_context():
        people = {key: db.session.get(User, uid) for key, uid in people_ids.items()}
        made = make_request(people, AT - 30 * MONTH, AT - 25 * MONTH)
        idle = make_request(people, AT - 25 * MONTH)  # in progress since
        db.session.remove()
    runner = workspace.test_cli_runner()
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Simulation : 2 demande(s) à anonymiser, dont 1 restée(s) en cours" in dry.output
    assert "12 mois (1 an) après la fin de la demande" in dry.output
    done = runner.invoke(args=["purge"])
    assert done.exit_code == 0, done.output
    assert "2 demande(s) anonymisée(s), dont 1 restée(s) en cours" in done.output
    assert "en 1 lot(s)" in done.output
    assert "Les statistiques sont inchangées, à ces 1 expiration(s) près." in done.output
    again = runner.invoke(args=["purge"])
    assert "Aucune demande à anonymiser." in again.output
    with workspace.app_context():
        assert db.session.get(AppointmentRequest, made.id).anonymised_at is not None
        assert db.session.get(AppointmentRequest, idle.id).status == lifecycle.EXPIRED
        db.session.remove()


def purge_statements(people, epoch: datetime, pairs: int) -> tuple[int, privacy.PurgeReport]:
    """The SQL statements of a purge of `pairs` ended and `pairs` idle open requests, made
    decades before every other request of the module so that the purge sees only them."""
    for i in range(pairs):
        make_request(people, epoch + timedelta(hours=i), epoch + timedelta(days=1, hours=i))
        make_request(people, epoch + timedelta(days=2, hours=i))
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sql_event.listen(db.engine, "before_cursor_execute", record)
    try:
        report = privacy.purge(epoch + 14 * MONTH, batch_size=100)
    finally:
        sql_event.remove(db.engine, "before_cursor_execute", record)
    return len(statements), report


def test_the_purge_runs_the_same_queries_for_two_requests_or_ten(people):
    few, small = purge_statements(people, AT - 50 * 12 * MONTH, 1)
    many, large = purge_statements(people, AT - 40 * 12 * MONTH, 5)
    assert (small.anonymised, small.anonymised_open, small.batches) == (2, 1, 1)
    assert (large.anonymised, large.anonymised_open, large.batches) == (10, 5, 1)
    assert many == few


# --- rights of access and erasure ---------------------------------------------------------


def test_the_resident_is_found_by_email_in_any_case_or_by_phone(people):
    contact = unique_contact()
    first = make_request(people, AT - 2 * MONTH, AT - MONTH, contact=contact)
    second = make_request(people, AT - timedelta(days=3), contact=contact)
    other = make_request(people, AT - timedelta(days=3))
    by_email = privacy.find_requests(privacy.parse_resident(contact.email.upper(), None))
    by_phone = privacy.find_requests(privacy.parse_resident("", "+33 " + contact.phone[1:]))
    assert [r.id for r in by_email] == [r.id for r in by_phone] == [first.id, second.id]
    assert other.id not in [r.id for r in by_email]


@pytest.mark.parametrize(
    ("email", "phone", "message"),
    [
        ("", "  ", "Indiquez l'adresse e-mail ou le numéro"),
        ("pas-une-adresse", "", "Adresse e-mail non reconnue"),
        ("", "12 34", "Numéro de téléphone non reconnu"),
    ],
)
def test_lookup_keys_are_checked(email, phone, message):
    with pytest.raises(privacy.PrivacyError, match=message):
        privacy.parse_resident(email, phone)


def test_the_export_holds_everything_about_the_resident(people):
    contact = unique_contact()
    made = make_request(people, AT - 2 * MONTH, AT - MONTH, contact=contact)
    data = privacy.export_resident(people["admin"], privacy.Resident(contact.email, None), AT)
    (request,) = data["demandes"]
    assert request["reference"] == f"D-{made.id:06d}"
    assert request["usager"]["nom"] == contact.name
    assert request["usager"]["message"] == contact.message
    assert request["usager"]["telephone"] == contact.phone
    assert [h["statut"] for h in request["historique"]] == ["envoyée", "prise en charge", "traitée"]
    assert f"Rappeler {contact.name}" in [h["commentaire"] for h in request["historique"]]
    resident_mail = next(m for m in request["courriels"] if m["a"] == "l'usager")
    assert resident_mail["adresse"] == contact.email
    assert request["anonymisation_prevue_le"].startswith("2027-10-23")
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == audit.EXPORT and entry.actor_id == people["admin"].id
    assert not [d for d in (contact.email, contact.phone, contact.name) if d in str(entry.__dict__)]


def test_erasure_anonymises_at_once_and_cancels_open_requests(people):
    contact = unique_contact()
    ended = make_request(people, AT - 2 * MONTH, AT - MONTH, contact=contact)
    still_open = make_request(people, AT - timedelta(days=2), contact=contact)
    events_before = len(request_events())
    admin = people["admin"]
    report = privacy.erase_resident(
        admin, privacy.Resident(None, contact.phone), AT, {ended.id, still_open.id}
    )
    assert report.references == [f"D-{ended.id:06d}", f"D-{still_open.id:06d}"]
    assert report.cancelled == [f"D-{still_open.id:06d}"]
    for made in (ended, still_open):
        request = db.session.get(AppointmentRequest, made.id)
        assert request.anonymised_at == AT
        assert traces(made.id, made.contact) == []
    cancelled = db.session.get(AppointmentRequest, still_open.id)
    assert cancelled.status == lifecycle.CANCELLED and cancelled.status_changed_at == AT
    last = cancelled.events[-1]
    assert (last.action, last.actor_id, last.comment) == (
        lifecycle.CANCEL,
        admin.id,
        privacy.ERASURE_REASON,
    )
    # The desk is told by the usual e-mail, which holds nothing personal; the statistics
    # count the cancellation.
    mail = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.request_id == still_open.id, OutboxMessage.kind == "status_changed")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert mail.status == "pending" and people["desk"].email in mail.recipient_list
    assert privacy.ERASURE_REASON in mail.body
    assert len(request_events()) == events_before + 1
    # Audited: who, when, how many, never whom.
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == audit.ERASE).order_by(AuditEntry.id.desc())
    ).first()
    assert entry.object_type == "resident" and entry.actor_id == admin.id and entry.at == AT
    assert entry.changes["demandes anonymisées"] == [0, 2]
    assert entry.changes["demandes en cours annulées"] == [0, 1]
    written = " ".join([entry.object_id, entry.object_label, str(entry.changes)])
    assert not [d for d in (contact.email, contact.phone, contact.name) if d in written]
    # Nothing left to find, and erasing again finds nothing.
    assert privacy.find_requests(privacy.Resident(contact.email, contact.phone)) == []
    again = privacy.erase_resident(admin, privacy.Resident(contact.email, None), AT)
    assert again.references == []


def test_erasure_refuses_when_the_list_changed(people):
    contact = unique_contact()
    made = make_request(people, AT - timedelta(days=2), contact=contact)
    make_request(people, AT - timedelta(days=1), contact=contact)
    with pytest.raises(privacy.ListChanged):
        privacy.erase_resident(
            people["admin"], privacy.Resident(contact.email, None), AT, {made.id}
        )
    db.session.rollback()
    request = db.session.get(AppointmentRequest, made.id)
    assert request.anonymised_at is None and request.status == lifecycle.IN_PROGRESS


def test_a_redirected_copy_is_erased_with_the_original(people):
    """Redirecting copies the resident's details into a new request: both are found."""
    contact = unique_contact()
    made = make_request(people, AT - timedelta(days=5), contact=contact)
    request = db.session.get(AppointmentRequest, made.id)
    service.apply_action(
        request,
        lifecycle.REDIRECT,
        actor=people["caf"],
        at=AT - timedelta(days=4),
        details=service.ActionInput(comment="Plutôt la CPAM", target_body=get_body("cpam-vosges")),
    )
    found = privacy.find_requests(privacy.Resident(contact.email, None))
    assert len(found) == 2


def test_an_error_report_address_is_exported_and_erased(people):
    """ "Signaler une erreur" keeps an optional answer address: it is the resident's too."""
    from proxiservices.models import ErrorReport, Site

    contact = unique_contact()
    site = db.session.scalars(select(Site).order_by(Site.id).limit(1)).one()
    report = ErrorReport(
        site_id=site.id,
        topic="phone",
        message="Le numéro ne répond plus.",
        contact=contact.email.upper(),
        created_at=AT - MONTH,
    )
    db.session.add(report)
    db.session.commit()
    resident = privacy.Resident(contact.email, None)

    data = privacy.export_resident(people["admin"], resident, AT)
    assert data["demandes"] == []
    assert [r["message"] for r in data["signalements_d_erreur"]] == ["Le numéro ne répond plus."]

    erased = privacy.erase_resident(people["admin"], resident, AT, confirmed_ids=set())
    assert (erased.references, erased.reports_cleared) == ([], 1)
    db.session.expire_all()
    assert db.session.get(ErrorReport, report.id).contact is None
    assert privacy.export_resident(people["admin"], resident, AT)["signalements_d_erreur"] == []

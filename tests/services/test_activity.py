"""Anonymous events written by construction: each request transition has its twin, with
no comment and nothing of the resident; visits keep their channel and desk."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from proxiservices.domain import lifecycle
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import ActivityCount, ActivityEvent, User
from proxiservices.services import activity
from proxiservices.services import requests as service
from proxiservices.services.directory import get_body
from proxiservices.services.needs import get_need
from tests.plugins.accounts import make_user

SENT = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)


@pytest.fixture
def people(workspace):
    desk = make_user(workspace, "receptionist", commune_insee="88078")
    partner = make_user(workspace, "partner", body_slug="caf-vosges")
    with workspace.app_context():
        db.session.execute(delete(ActivityEvent))
        db.session.execute(delete(ActivityCount))
        db.session.commit()
        yield db.session.get(User, desk.id), db.session.get(User, partner.id)
        db.session.rollback()
        db.session.execute(delete(ActivityEvent))
        db.session.execute(delete(ActivityCount))
        db.session.commit()


def test_each_transition_writes_an_anonymous_event(people):
    desk, partner = people
    request = service.submit_request(
        actor=desk,
        need=get_need("aide-logement"),
        commune=desk.site.commune,
        body=get_body("caf-vosges"),
        contact=service.ResidentContact(
            name="Odile Secret", phone="0612345678", email="odile@example.net", channel="phone"
        ),
        at=SENT,
    )
    service.mark_viewed(request, partner, SENT + timedelta(hours=5))
    service.apply_action(
        request,
        lifecycle.TAKE,
        actor=partner,
        at=SENT + timedelta(days=2),
        details=service.ActionInput(comment="Je rappelle Odile demain"),
    )
    events = db.session.scalars(select(ActivityEvent).order_by(ActivityEvent.id)).all()
    assert [(e.from_status, e.to_status, e.elapsed_seconds) for e in events] == [
        (None, "submitted", 0),
        ("submitted", "viewed", 5 * 3600),
        ("viewed", "in_progress", 2 * 86400),
    ]
    for event in events:
        assert event.kind == "request"
        assert event.body_id == request.body_id and event.commune_insee == "88078"
        assert event.need_id == request.need_id and event.desk_site_id == desk.site_id
        assert event.occurred_on == event.occurred_at.astimezone(PARIS).date()
        values = " ".join(str(getattr(event, c.key)) for c in ActivityEvent.__table__.columns)
        assert "Odile" not in values and "0612345678" not in values


def test_a_visit_keeps_its_channel_desk_and_paris_day(people):
    desk, _partner = people
    late = datetime(2026, 3, 31, 23, 30, tzinfo=PARIS)  # 21:30 UTC: still 31 March in Paris
    event = activity.record_visit(
        get_need("aide-logement"), "88078", "desk", late, desk_site_id=desk.site_id
    )
    assert event.occurred_on.isoformat() == "2026-03-31"
    public = activity.record_visit(
        get_need("aide-logement"), "88078", "public", late, desk_site_id=desk.site_id
    )
    assert public.desk_site_id is None  # no desk behind an anonymous page
    with pytest.raises(ValueError):
        activity.record_visit(get_need("aide-logement"), "88078", "fax", late)


def test_only_the_desk_of_a_visit_sets_its_outcome(people, workspace):
    desk, partner = people
    event = activity.record_visit(
        get_need("aide-logement"), "88078", "desk", SENT, desk_site_id=desk.site_id
    )
    assert activity.set_outcome(desk, event.id, "autonomous").outcome == "autonomous"
    assert activity.set_outcome(desk, event.id, "oriented").outcome == "oriented"
    with pytest.raises(activity.ActivityError):
        activity.set_outcome(desk, event.id, "ravi")
    other = db.session.get(User, make_user(workspace, "receptionist", commune_insee="88160").id)
    with pytest.raises(LookupError):
        activity.set_outcome(other, event.id, "autonomous")
    with pytest.raises(LookupError):
        activity.set_outcome(partner, event.id, "autonomous")


def _counts() -> dict[tuple, int]:
    rows = db.session.execute(
        select(
            ActivityCount.grain,
            ActivityCount.day,
            ActivityCount.area_code,
            ActivityCount.key,
            ActivityCount.n,
        )
    ).all()
    return {(g, d, a, k): n for g, d, a, k, n in rows if n}


def test_counts_kept_on_write_equal_counts_rebuilt_from_events(people):
    desk, _ = people
    housing, papers = get_need("aide-logement"), get_need("cni-passeport-demande")
    # Around midnight at the end of a month, Paris time: 31 March and 1 April.
    late = datetime(2026, 3, 31, 23, 50, tzinfo=PARIS)
    visits = [
        activity.record_visit(housing, "88078", "desk", late, desk_site_id=desk.site_id),
        activity.record_visit(housing, "88078", "desk", late, desk_site_id=desk.site_id),
        activity.record_visit(
            papers,
            "88135",
            "desk",
            late + timedelta(minutes=20),
            desk_site_id=desk.site_id,
            outcome="oriented",
        ),
        activity.record_visit(papers, "88160", "public", late),
        activity.record_visit(housing, "88160", "api", late + timedelta(days=3)),
    ]
    activity.set_outcome(desk, visits[0].id, "autonomous")
    activity.set_outcome(desk, visits[0].id, "accompanied")  # changed afterwards
    activity.set_outcome(desk, visits[2].id, "autonomous")
    kept = _counts()
    # A commune, its EPCI (CC Bruyères-Vallons des Vosges), the département, everywhere.
    day, month = late.date(), late.date().replace(day=1)
    for area in ("88078", "200042000", "88", "*"):
        assert kept[("day", day, area, "desk")] == 2
        assert kept[("month", month, area, "outcome:accompanied")] == 1
        assert ("day", day, area, "outcome:autonomous") not in kept
    assert kept[("month", month, "88", "desk")] == 2
    assert kept[("day", day + timedelta(days=1), "88", "desk")] == 1  # 00:10 on 1 April
    assert kept[("month", day + timedelta(days=1), "88", "outcome:autonomous")] == 1
    assert kept[("month", month, "*", "channel:public")] == 1
    assert ("day", day, "88160", "desk") not in kept  # public and API are no desk visits
    activity.rebuild_counts()
    assert _counts() == kept


def test_rebuild_counts_command_counts_events_loaded_in_bulk(people, workspace):
    need = get_need("aide-logement")
    at = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)
    db.session.add(
        ActivityEvent(
            kind="visit",
            occurred_at=at,
            occurred_on=at.date(),
            channel="desk",
            need_id=need.id,
            theme_id=need.theme_id,
            commune_insee="88078",
            found_via="tree",
        )
    )
    db.session.commit()
    assert _counts() == {}
    result = workspace.test_cli_runner().invoke(args=["activity", "rebuild-counts"])
    assert result.exit_code == 0, result.output
    assert "Comptes recalculés" in result.output
    assert _counts()[("month", date(2026, 5, 1), "88", "desk")] == 1

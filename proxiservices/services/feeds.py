"""Feeds other tools subscribe to: the Atom feed of a commune's alerts, and the iCalendar
feeds of a site's or a body's permanences and ateliers.

URLs are passed in by the caller (the blueprint knows the host); nothing here reads the
request. Permanences are written as one event per occurrence over the next 90 days, worked
out from their OSM schedule with holidays and the host site's closures applied (an
occurrence a closure touches is left out whole, as on the result page): exact, and
readable by every calendar client (no RRULE to translate from `Tu[1,3]`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from xml.etree import ElementTree as ET

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from proxiservices.domain import hours
from proxiservices.domain.icalendar import Event, calendar, safe_uri
from proxiservices.domain.permanences import day_after
from proxiservices.extensions import db
from proxiservices.models import Atelier, Body, Commune, Permanence, Site
from proxiservices.services import alerts as alert_service
from proxiservices.services import ateliers as atelier_service

ATOM = "http://www.w3.org/2005/Atom"
CALENDAR_DAYS = 90
# The date part of tag: URIs (RFC 4151): when the naming authority took these names.
TAG_DATE = "2026"
# Characters XML 1.0 forbids (2.2): C0 controls but tab and line ends, surrogates, U+FFFE/F.
# One of them in a title (a pasted Word line break is \x0b) and no reader opens the feed.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedLinks:
    """Absolute URLs the feeds print, built by the web layer."""

    host: str  # naming authority of tag: URIs and iCalendar UIDs
    self_url: str
    page_url: str
    site_url: Callable[[Site], str] | None = None


def xml_text(value: str) -> str:
    """Text as XML may carry it: the characters it forbids are dropped."""
    return NOT_XML.sub("", value)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _paris(naive: datetime) -> datetime:
    return naive.replace(tzinfo=hours.PARIS)


def _period(start: datetime, end: datetime) -> str:
    fmt = "%d/%m/%Y %H:%M"
    return f"du {start.strftime(fmt)} au {end.strftime(fmt)}"


def alerts_atom(commune: Commune, at: datetime, links: FeedLinks) -> bytes:
    """Atom 1.0 feed of the alerts that run now or start within the week for a commune
    (its own, its EPCI's, its département's)."""
    ET.register_namespace("", ATOM)
    shown = alert_service.list_for_commune(commune, at)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(
            parent, f"{{{ATOM}}}{tag}", {k: xml_text(v) for k, v in attrs.items()}
        )
        if text is not None:
            element.text = xml_text(text)
        return element

    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "fr"})
    sub(feed, "id", f"tag:{links.host},{TAG_DATE}:communes/{commune.insee}/alertes")
    sub(feed, "title", f"Alertes locales – {commune.name}")
    sub(
        feed,
        "subtitle",
        "Travaux, coupures, services fermés : commune, intercommunalité, département.",
    )
    updated = max((s.alert.updated_at for s in shown), default=None) or at
    sub(feed, "updated", _rfc3339(updated))
    sub(feed, "link", rel="self", type="application/atom+xml", href=links.self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=links.page_url)
    author = sub(feed, "author")
    sub(author, "name", "Proxiservices")
    sub(feed, "generator", "Proxiservices")
    for item in shown:
        alert = item.alert
        entry = sub(feed, "entry")
        sub(entry, "id", f"tag:{links.host},{TAG_DATE}:alertes/{alert.id}")
        sub(entry, "title", f"{item.severity_label} – {alert.title}")
        sub(entry, "updated", _rfc3339(alert.updated_at))
        sub(entry, "published", _rfc3339(alert.created_at))
        sub(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{links.page_url}#alerte-{alert.id}",
        )
        sub(entry, "category", term=alert.category, label=item.category_label)
        summary = (
            f"{item.category_label} ({item.severity_label}), {item.area_name}, "
            f"{_period(alert.starts_at, alert.ends_at)}."
        )
        if item.body_kind is not None:
            summary += f" Concerne : {item.body_kind.label}."
        if alert.message:
            summary += f" {alert.message}"
        sub(entry, "summary", summary, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _address(site: Site) -> str:
    parts = [site.name]
    if site.address:
        parts.append(site.address)
    parts.append(f"{site.postcode or ''} {site.commune.name}".strip())
    return ", ".join(parts)


def _window(at: datetime) -> tuple[datetime, datetime]:
    """From midnight today (an occurrence under way keeps its real start, hence its UID)."""
    today = at.astimezone(hours.PARIS).date()
    start = datetime.combine(today, time(0), hours.PARIS)
    return start, datetime.combine(today + timedelta(days=CALENDAR_DAYS), time(0), hours.PARIS)


def _clip(start: datetime, end: datetime, first: date | None, last: date | None):
    if first is not None:
        start = max(start, datetime.combine(first, time(0), hours.PARIS))
    # The last day of the calendar (a typed "31/12/9999") means no end.
    if last is not None and (after := day_after(last)) is not None:
        end = min(end, datetime.combine(after, time(0), hours.PARIS))
    return start, end


def permanence_events(
    permanences: Iterable[Permanence], at: datetime, links: FeedLinks
) -> list[Event]:
    """One event per occurrence in the next 90 days, within the permanence's validity,
    holidays left out. An occurrence touching a closure of the host site is left out
    whole, as the orientation does (domain.permanences.next_occurrences): the body's agent
    does not come to a closed building for the hour left."""
    window = _window(at)
    events = []
    for permanence in permanences:
        site = permanence.host_site
        start, end = _clip(*window, permanence.starts_on, permanence.ends_on)
        if start >= end:
            continue
        closed = [
            (_paris(c.starts_at), _paris(c.ends_at)) for c in site.closures if c.kind == "closed"
        ]
        summary = f"Permanence {permanence.body.name}"
        if permanence.by_appointment:
            summary += " (sur rendez-vous)"
        details = [f"{permanence.body.name} à {site.name}.", f"Horaires : {permanence.schedule}"]
        if permanence.by_appointment:
            details.append("Sur rendez-vous.")
        if permanence.note:
            details.append(permanence.note)
        for begin, finish in hours.open_intervals(permanence.schedule, start, end):
            if any(shut < finish and begin < reopen for shut, reopen in closed):
                continue
            stamp = begin.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            events.append(
                Event(
                    uid=f"permanence-{permanence.id}-{stamp}@{links.host}",
                    start=begin,
                    end=finish,
                    summary=summary,
                    description="\n".join(details),
                    location=_address(site),
                    url=links.site_url(site) if links.site_url else None,
                    categories=("Permanence",),
                )
            )
    return events


def atelier_events(ateliers: Iterable[Atelier], links: FeedLinks) -> list[Event]:
    events = []
    for atelier in ateliers:
        details = [f"Thème : {atelier.theme}"]
        if atelier.description:
            details.append(atelier.description)
        if atelier.places:
            details.append(f"Places : {atelier.places}")
        if atelier.signup:
            details.append(f"Inscription : {atelier.signup}")
        if atelier.signup_url:
            details.append(f"S'inscrire en ligne : {atelier.signup_url}")
        events.append(
            Event(
                uid=f"atelier-{atelier.id}@{links.host}",
                start=_paris(atelier.starts_at),
                end=_paris(atelier.ends_at),
                summary=f"Atelier : {atelier.title}",
                description="\n".join(details),
                location=_address(atelier.site),
                url=safe_uri(atelier.signup_url)
                or (links.site_url(atelier.site) if links.site_url else None),
                categories=("Atelier", atelier.theme),
            )
        )
    return events


def _permanences(*conditions) -> list[Permanence]:
    stmt = (
        select(Permanence)
        .where(*conditions)
        .options(
            joinedload(Permanence.body),
            joinedload(Permanence.host_site).joinedload(Site.commune),
            joinedload(Permanence.host_site).selectinload(Site.closures),
        )
        .order_by(Permanence.id)
    )
    return list(db.session.scalars(stmt).unique())


def _sorted(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.start.astimezone(UTC), e.uid))


def unreadable_schedules(permanences: Iterable[Permanence]) -> str | None:
    """The calendar's word on permanences whose stored schedule cannot be read: they have
    no event, and the subscriber is told "horaires à vérifier" rather than nothing."""
    names = [
        f"Permanence {p.body.name} à {p.host_site.name} : horaires à vérifier."
        for p in permanences
        if hours.validate(p.schedule) is not None
    ]
    return " ".join(names) or None


def site_calendar(site: Site, at: datetime, links: FeedLinks) -> str:
    """The permanences a site hosts and its ateliers."""
    permanences = _permanences(Permanence.host_site_id == site.id)
    events = permanence_events(permanences, at, links)
    events += atelier_events(atelier_service.list_coming_at_site(site, at, limit=500), links)
    return calendar(
        f"{site.name} – permanences et ateliers",
        _sorted(events),
        at,
        unreadable_schedules(permanences),
    )


def body_calendar(body: Body, at: datetime, links: FeedLinks) -> str:
    """The body's permanences wherever they are held, and the ateliers it organises or
    that take place at its sites."""
    permanences = _permanences(Permanence.body_id == body.id)
    events = permanence_events(permanences, at, links)
    events += atelier_events(atelier_service.list_coming_for_body(body, at), links)
    return calendar(
        f"{body.name} – permanences et ateliers",
        _sorted(events),
        at,
        unreadable_schedules(permanences),
    )

"""Freshness loop: sites not verified for a while, error reports from the field, and the
results of the link checker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from proxiservices.domain import links
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import Body, BodyKind, ErrorReport, LinkCheck, Need, Site, User
from proxiservices.models.upkeep import REPORT_FIXED, REPORT_OPEN, REPORT_REJECTED
from proxiservices.services import audit

STALE_MONTHS = 6
STALE_PAGE_SIZE = 50

REPORT_TOPICS = {
    "phone": "Le numéro de téléphone",
    "address": "L'adresse",
    "hours": "Les horaires",
    "closed": "Le lieu a fermé ou déménagé",
    "other": "Autre chose",
}
REPORT_STATUS_LABELS = {
    REPORT_OPEN: "à traiter",
    REPORT_FIXED: "corrigé",
    REPORT_REJECTED: "rejeté",
}
# Abuse without a rate-limiter: a site gets at most this many reports an hour; more is
# refused (429) until the hour has passed. The application-wide ceiling only stops a flood
# over many sites: set low, one person could use it up and silence every genuine report.
REPORTS_PER_SITE_PER_HOUR = 5
REPORTS_PER_HOUR = 500
# Resolved reports are deleted after this long (the reporter's address is erased as soon as
# the report is resolved); `flask reports purge` does it.
REPORT_RETENTION_DAYS = 365
REPORTS_SHOWN = 100


class UpkeepError(Exception):
    """A refused action, with its French message."""


class TooManyReports(UpkeepError):
    pass


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


# --- stale sites --------------------------------------------------------------------------


def stale_cutoff(today: date, months: int = STALE_MONTHS) -> date:
    """The same day `months` months earlier (the last day of a shorter month)."""
    month_index = today.year * 12 + today.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(today.day, (next_month - timedelta(days=1)).day))


def _is_stale(cutoff: date):
    return (Site.verified_on.is_(None)) | (Site.verified_on < cutoff)


def count_stale_by_kind(cutoff: date) -> list[tuple[BodyKind, int]]:
    """Stale sites per body kind, in the usual order of kinds."""
    stmt = (
        select(BodyKind, func.count(Site.id))
        .join(Body, Body.kind_code == BodyKind.code)
        .join(Site, Site.body_id == Body.id)
        .where(_is_stale(cutoff))
        .group_by(BodyKind.code)
        .order_by(BodyKind.position, BodyKind.code)
    )
    return [(kind, count) for kind, count in db.session.execute(stmt)]


def list_stale_sites(
    cutoff: date, kind_code: str | None = None, page: int = 1, per_page: int = STALE_PAGE_SIZE
) -> list[Site]:
    """One page of stale sites, never verified first, then the oldest verification."""
    stmt = (
        select(Site)
        .join(Body, Site.body_id == Body.id)
        .where(_is_stale(cutoff))
        .options(joinedload(Site.body).joinedload(Body.kind), joinedload(Site.commune))
        .order_by(Site.verified_on.asc().nulls_first(), Site.name, Site.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    if kind_code:
        stmt = stmt.where(Body.kind_code == kind_code)
    return list(db.session.scalars(stmt))


def get_site_by_id(site_id: int) -> Site | None:
    return db.session.get(Site, site_id)


def mark_site_verified(site: Site, actor: User, at: datetime) -> None:
    """An administrator checked the site's details today: dated, audited, and kept from
    being overwritten by the next seeding."""
    before = audit.snapshot(site, ["verified_on"])
    site.verified_on = at.astimezone(PARIS).date()
    site.edited_at = _naive_utc(at)
    audit.record(
        actor,
        "site",
        site.id,
        site.name,
        audit.UPDATE,
        before,
        audit.snapshot(site, ["verified_on"]),
        at=at,
    )
    db.session.commit()


# --- error reports ------------------------------------------------------------------------


def submit_report(
    site: Site,
    topic: str,
    message: str,
    contact: str | None,
    reporter: User | None,
    at: datetime,
) -> ErrorReport:
    """File a report on a site, unless the site or the application got too many this hour."""
    if topic not in REPORT_TOPICS:
        raise UpkeepError("Sujet du signalement inconnu.")
    since = at - timedelta(hours=1)
    recent = select(func.count(ErrorReport.id)).where(ErrorReport.created_at >= since)
    if db.session.scalar(recent.where(ErrorReport.site_id == site.id)) >= (
        REPORTS_PER_SITE_PER_HOUR
    ):
        raise TooManyReports(
            "Ce lieu a déjà reçu plusieurs signalements dans l'heure : ils seront lus. "
            "Réessayez plus tard si le vôtre apporte autre chose."
        )
    if db.session.scalar(recent) >= REPORTS_PER_HOUR:
        raise TooManyReports(
            "Trop de signalements ont été envoyés dans l'heure. Réessayez dans un moment."
        )
    report = ErrorReport(
        site_id=site.id,
        topic=topic,
        message=message,
        contact=contact or None,
        reporter_id=reporter.id if reporter is not None else None,
        created_at=at,
        status=REPORT_OPEN,
    )
    db.session.add(report)
    db.session.commit()
    return report


@dataclass
class ReportQueue:
    open: list[ErrorReport]
    resolved: list[ErrorReport]
    open_count: int
    people: dict[int, User] = field(default_factory=dict)  # reporters and resolvers by id


def report_queue(shown: int = REPORTS_SHOWN) -> ReportQueue:
    """Open reports first (oldest first: they have waited longest), then the latest
    resolved ones."""
    base = select(ErrorReport).options(
        joinedload(ErrorReport.site).joinedload(Site.body),
        joinedload(ErrorReport.site, Site.commune),
    )
    open_reports = list(
        db.session.scalars(
            base.where(ErrorReport.status == REPORT_OPEN)
            .order_by(ErrorReport.created_at, ErrorReport.id)
            .limit(shown)
        )
    )
    resolved = list(
        db.session.scalars(
            base.where(ErrorReport.status != REPORT_OPEN)
            .order_by(ErrorReport.resolved_at.desc(), ErrorReport.id.desc())
            .limit(shown)
        )
    )
    ids = {
        i
        for r in open_reports + resolved
        for i in (r.reporter_id, r.resolved_by_id)
        if i is not None
    }
    people = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    )
    return ReportQueue(open_reports, resolved, count_open_reports(), people)


def count_open_reports() -> int:
    stmt = select(func.count(ErrorReport.id)).where(ErrorReport.status == REPORT_OPEN)
    return db.session.scalar(stmt) or 0


def get_report(report_id: int) -> ErrorReport | None:
    return db.session.get(ErrorReport, report_id)


def resolve_report(
    report: ErrorReport, decision: str, note: str, actor: User, at: datetime
) -> None:
    """Close a report as fixed or rejected, with the note that says what was done. The
    reporter's address served to answer them: it is erased now, as the form promises."""
    if decision not in (REPORT_FIXED, REPORT_REJECTED):
        raise UpkeepError("Décision inconnue : « corrigé » ou « rejeté » attendu.")
    if report.status != REPORT_OPEN:
        raise UpkeepError(
            f"Ce signalement est déjà traité ({REPORT_STATUS_LABELS[report.status]})."
        )
    fields = ["status", "resolution", "resolved_at"]
    before = audit.snapshot(report, fields)
    report.status = decision
    report.resolution = note
    report.resolved_at = at
    report.resolved_by_id = actor.id
    report.contact = None
    audit.record(
        actor,
        "report",
        report.id,
        f"Signalement n° {report.id} – {report.site.name}",
        audit.UPDATE,
        before,
        audit.snapshot(report, fields),
        at=at,
    )
    db.session.commit()


@dataclass
class ReportPurge:
    deleted: int
    contacts_erased: int


def purge_reports(at: datetime, days: int = REPORT_RETENTION_DAYS) -> ReportPurge:
    """Delete the reports resolved more than `days` ago, and erase the address left on any
    other resolved report (those resolved before addresses were erased at once). Open
    reports are kept, whatever their age: they still wait for an answer."""
    resolved = ErrorReport.status != REPORT_OPEN
    plain = {"synchronize_session": False}  # the commit below expires the session anyway
    old = db.session.execute(
        delete(ErrorReport).where(resolved, ErrorReport.resolved_at < at - timedelta(days=days)),
        execution_options=plain,
    ).rowcount
    erased = db.session.execute(
        update(ErrorReport).where(resolved, ErrorReport.contact.is_not(None)).values(contact=None),
        execution_options=plain,
    ).rowcount
    db.session.commit()
    return ReportPurge(old or 0, erased or 0)


# --- links --------------------------------------------------------------------------------


def collect_directory_links() -> dict[str, list[links.Usage]]:
    """Every address the directory and the tree show, with where (three queries)."""
    sites = db.session.execute(
        select(Site.slug, Site.name, Site.url).where(Site.url.is_not(None)).order_by(Site.name)
    )
    bodies = db.session.execute(
        select(Body.slug, Body.name, Body.website)
        .where(Body.website.is_not(None))
        .order_by(Body.name)
    )
    needs = db.session.execute(
        select(
            Need.slug,
            Need.title,
            Need.origin,
            Need.online_url,
            Need.notice_url,
            Need.source_url,
            Need.online_services,
        ).order_by(Need.origin.desc(), Need.slug)
    )
    return links.collect_links(sites, bodies, needs)


@dataclass
class DeadLink:
    url: str
    check: LinkCheck
    usages: list[links.Usage]


@dataclass
class LinkSummary:
    checked_at: datetime | None
    checked: int
    dead: list[DeadLink]


def link_summary() -> LinkSummary:
    """The last check: when, how many addresses, and the dead ones still in use."""
    checked_at, checked = db.session.execute(
        select(func.max(LinkCheck.checked_at), func.count(LinkCheck.id))
    ).one()
    rows = list(
        db.session.scalars(select(LinkCheck).where(LinkCheck.ok.is_(False)).order_by(LinkCheck.url))
    )
    used = collect_directory_links() if rows else {}
    dead = [DeadLink(r.url, r, used[r.url]) for r in rows if r.url in used]
    if checked_at is not None and checked_at.tzinfo is None:
        checked_at = checked_at.replace(tzinfo=UTC)
    return LinkSummary(checked_at, checked or 0, dead)


def dead_urls() -> set[str]:
    return set(db.session.scalars(select(LinkCheck.url).where(LinkCheck.ok.is_(False))))


def store_link_results(
    results: list[links.LinkResult], at: datetime, keep_only: set[str] | None = None
) -> int:
    """Upsert one row per address; with `keep_only`, rows of addresses no longer used are
    removed. Addresses longer than the column are not stored: the count is returned."""
    existing = {row.url: row for row in db.session.scalars(select(LinkCheck))}
    too_long = 0
    for result in results:
        if len(result.url) > LinkCheck.url.type.length:
            too_long += 1
            continue
        row = existing.get(result.url)
        if row is None:
            row = LinkCheck(url=result.url)
            db.session.add(row)
            existing[result.url] = row
        row.checked_at = at
        row.ok = result.ok
        row.status_code = result.status_code
        row.error = result.reason[:300] if result.reason else None
    if keep_only is not None:
        for url, row in existing.items():
            if url not in keep_only:
                db.session.delete(row)
    db.session.commit()
    return too_long


@dataclass
class LinkCheckReport:
    results: list[links.LinkResult]
    usages: dict[str, list[links.Usage]]
    not_stored: int

    @property
    def dead(self) -> list[links.LinkResult]:
        return [r for r in self.results if not r.ok]


def run_link_check(
    timeout: float, concurrency: int, only_dead: bool, agent: str, at: datetime
) -> LinkCheckReport:
    """Try every address in use (or only those dead last time) and store what was found.
    A full check forgets the addresses no longer in use."""
    usages = collect_directory_links()
    urls = list(usages)
    if only_dead:
        previously_dead = dead_urls()
        urls = [url for url in urls if url in previously_dead]
    results = links.check_links(urls, timeout, concurrency, agent)
    not_stored = store_link_results(results, at, keep_only=None if only_dead else set(usages))
    return LinkCheckReport(results, usages, not_stored)


def list_open_reports(limit: int) -> list[ErrorReport]:
    """The latest open reports, for the freshness dashboard."""
    stmt = (
        select(ErrorReport)
        .where(ErrorReport.status == REPORT_OPEN)
        .options(joinedload(ErrorReport.site))
        .order_by(ErrorReport.created_at.desc(), ErrorReport.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))

"""The life of a request to a partner, as a table: (status, action) -> new status."""

from __future__ import annotations

from datetime import datetime, timedelta

from proxiservices.domain.hours import PARIS

SUBMITTED = "submitted"
VIEWED = "viewed"
IN_PROGRESS = "in_progress"
SCHEDULED = "scheduled"
CLOSED = "closed"
REFUSED = "refused"
REDIRECTED = "redirected"
CANCELLED = "cancelled"
EXPIRED = "expired"

STATUS_LABELS = {
    SUBMITTED: "envoyée",
    VIEWED: "lue par le partenaire",
    IN_PROGRESS: "prise en charge",
    SCHEDULED: "rendez-vous fixé",
    CLOSED: "traitée",
    REFUSED: "refusée",
    REDIRECTED: "réorientée",
    CANCELLED: "annulée",
    EXPIRED: "expirée sans réponse",
}
OPEN = (SUBMITTED, VIEWED, IN_PROGRESS, SCHEDULED)
# Still waiting for a first answer from the partner: reminded, then expired.
UNANSWERED = (SUBMITTED, VIEWED)

VIEW = "view"
TAKE = "take"
SCHEDULE = "schedule"
CLOSE = "close"
REFUSE = "refuse"
REDIRECT = "redirect"
CANCEL = "cancel"
EXPIRE = "expire"

ACTION_LABELS = {
    VIEW: "Ouverte par le partenaire",
    TAKE: "Prendre en charge",
    SCHEDULE: "Fixer un rendez-vous",
    CLOSE: "Clore (demande traitée)",
    REFUSE: "Refuser",
    REDIRECT: "Réorienter vers un autre organisme",
    CANCEL: "Annuler la demande",
    EXPIRE: "Expirée faute de réponse",
}

TRANSITIONS: dict[tuple[str, str], str] = {
    (SUBMITTED, VIEW): VIEWED,
    (SUBMITTED, TAKE): IN_PROGRESS,
    (VIEWED, TAKE): IN_PROGRESS,
    (SUBMITTED, SCHEDULE): SCHEDULED,
    (VIEWED, SCHEDULE): SCHEDULED,
    (IN_PROGRESS, SCHEDULE): SCHEDULED,
    (SCHEDULED, SCHEDULE): SCHEDULED,  # a new date replaces the old one
    (VIEWED, CLOSE): CLOSED,
    (IN_PROGRESS, CLOSE): CLOSED,
    (SCHEDULED, CLOSE): CLOSED,
    **{(status, REFUSE): REFUSED for status in OPEN},
    **{(status, REDIRECT): REDIRECTED for status in OPEN},
    **{(status, CANCEL): CANCELLED for status in OPEN},
    # The daily job expires unanswered requests; the personal-data purge also expires open
    # ones left without any activity for the retention period (services/privacy.py).
    **{(status, EXPIRE): EXPIRED for status in OPEN},
}

PARTNER = "partner"
DESK = "desk"
SYSTEM = "system"
# Who may take each action: the partner body, the sending desk, or the application itself.
ACTORS = {
    VIEW: PARTNER,
    TAKE: PARTNER,
    SCHEDULE: PARTNER,
    CLOSE: PARTNER,
    REFUSE: PARTNER,
    REDIRECT: PARTNER,
    CANCEL: DESK,
    EXPIRE: SYSTEM,
}
REASON_REQUIRED = frozenset({REFUSE, CANCEL, REDIRECT})
# The decisions the resident is told about (by e-mail when one was given).
RESIDENT_TOLD = frozenset({TAKE, SCHEDULE, REFUSE, REDIRECT})


class TransitionError(ValueError):
    """An action the request's status does not allow; the message is shown as is."""


def next_status(status: str, action: str) -> str:
    """The status after `action`, or TransitionError with a French explanation."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        label = STATUS_LABELS.get(status, status)
        verb = ACTION_LABELS.get(action, action).lower()
        raise TransitionError(
            f"Action impossible : « {verb} » n'est pas possible pour une demande {label}."
        ) from None


def available_actions(status: str, actor: str) -> list[str]:
    """The actions `actor` (partner, desk, system) may take now, in a stable order."""
    return [
        action
        for action in ACTION_LABELS
        if ACTORS[action] == actor and (status, action) in TRANSITIONS and action != VIEW
    ]


def is_open(status: str) -> bool:
    return status in OPEN


def age_in_days(since: datetime, at: datetime) -> int:
    """Whole calendar days in Paris between two instants (the desk counts days, not hours)."""
    return (at.astimezone(PARIS).date() - since.astimezone(PARIS).date()).days


def reminder_due(
    created_at: datetime, at: datetime, reminders_sent: int, reminder_days: tuple[int, ...]
) -> bool:
    """True when an unanswered request has reached the next reminder day (3, then 10)."""
    if reminders_sent >= len(reminder_days):
        return False
    return age_in_days(created_at, at) >= reminder_days[reminders_sent]


def overdue(
    status: str, created_at: datetime, at: datetime, reminder_days: tuple[int, ...]
) -> bool:
    """Unanswered by the first reminder day: the desk and the partner should notice it."""
    return status in UNANSWERED and age_in_days(created_at, at) >= reminder_days[0]


def expiry_due(created_at: datetime, at: datetime, expiry_days: int) -> bool:
    return at - created_at >= timedelta(days=expiry_days)


def parse_reminder_days(value: str | tuple[int, ...]) -> tuple[int, ...]:
    """ "3,10" -> (3, 10): the setting as it comes from the environment."""
    if isinstance(value, tuple):
        return value
    days = tuple(sorted(int(part) for part in str(value).split(",") if part.strip()))
    if not days or days[0] < 1:
        raise ValueError("reminder days must be positive integers, e.g. 3,10")
    return days


SCHEDULE_MODES = {"site": "sur place", "phone": "par téléphone", "video": "en visioconférence"}

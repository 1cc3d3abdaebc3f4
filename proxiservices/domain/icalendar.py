"""iCalendar (RFC 5545) written by hand: a calendar of single events, times in UTC.

Written here rather than with a library because the feeds need five properties: escaping
(3.3.11), line folding at 75 octets (3.1) and CRLF line ends are the whole difficulty.
Times are written in UTC (`...Z`, form 2 of 3.3.5), so no VTIMEZONE is needed and no
calendar client can misread the DST changes. `read_events` parses our own output back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

CRLF = "\r\n"
LINE_OCTETS = 75
PRODID = "-//Proxiservices//Permanences et ateliers//FR"
# Control characters a TEXT value may not hold (3.3.11: tab is allowed, line ends are
# escaped); a CR or LF written raw would end the property and let the rest forge others.
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A URI or a UID has no whitespace and no control character at all.
URI_BREAKERS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Event:
    """One VEVENT; `start` and `end` are aware datetimes (any zone)."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str = ""
    url: str | None = None
    categories: tuple[str, ...] = ()


def escape_text(value: str) -> str:
    """TEXT value escaping: backslash, semicolon, comma and newlines (RFC 5545 3.3.11);
    other control characters are dropped."""
    value = TEXT_CONTROLS.sub("", value)
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def unescape_text(value: str) -> str:
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append("\n" if following in "nN" else following)
        else:
            out.append(char)
    return "".join(out)


def safe_uri(value: str | None) -> str | None:
    """A URI as written (URIs are not escaped), or None when it holds whitespace or a
    control character: such an address is broken, and written raw it would end the line."""
    if not value or URI_BREAKERS.search(value):
        return None
    return value


def safe_uid(value: str) -> str:
    """A UID is ours (kind-id@host), written raw: whitespace and controls are dropped."""
    return URI_BREAKERS.sub("", value)


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, continuation lines starting
    with one space; never inside a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = [], 0, LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, LINE_OCTETS - 1  # the leading space counts
        current.append(char)
        size += width
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def format_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("iCalendar times need an aware datetime")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(event: Event, stamp: datetime) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{safe_uid(event.uid)}",
        f"DTSTAMP:{format_utc(stamp)}",
        f"DTSTART:{format_utc(event.start)}",
        f"DTEND:{format_utc(event.end)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if url := safe_uri(event.url):
        lines.append(f"URL:{url}")
    if event.categories:
        lines.append("CATEGORIES:" + ",".join(escape_text(c) for c in event.categories))
    lines.append("END:VEVENT")
    return lines


def calendar(
    name: str, events: Iterable[Event], stamp: datetime, description: str | None = None
) -> str:
    """A whole VCALENDAR; `stamp` is when it was generated (DTSTAMP of every event).
    `description`: what the subscriber should know about the calendar as a whole (RFC 7986
    DESCRIPTION, and X-WR-CALDESC, which more clients show)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:Europe/Paris",
    ]
    if description:
        lines += [
            f"DESCRIPTION:{escape_text(description)}",
            f"X-WR-CALDESC:{escape_text(description)}",
        ]
    for event in events:
        lines.extend(_event_lines(event, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def unfold(text: str) -> list[str]:
    """Content lines of a calendar, continuation lines joined back."""
    lines: list[str] = []
    for raw in text.split(CRLF):
        if raw.startswith((" ", "\t")) and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def _parse_utc(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def read_events(text: str) -> list[dict[str, object]]:
    """The VEVENTs of a calendar as {property: value}: times as aware datetimes, text
    unescaped. Enough to read back what `calendar` writes (no parameters, no RRULE)."""
    events: list[dict[str, object]] = []
    current: dict[str, object] | None = None
    for line in unfold(text):
        name, _, value = line.partition(":")
        name = name.split(";", 1)[0].upper()
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT" and current is not None:
            events.append(current)
            current = None
        elif current is not None:
            if name in ("DTSTART", "DTEND", "DTSTAMP"):
                current[name] = _parse_utc(value)
            elif name in ("UID", "URL"):
                current[name] = value
            else:
                current[name] = unescape_text(value)
    return events

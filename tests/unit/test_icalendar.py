"""The hand-written iCalendar: escaping, folding at 75 octets, CRLF, UTC times, read back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from proxiservices.domain.hours import PARIS
from proxiservices.domain.icalendar import (
    CRLF,
    Event,
    calendar,
    escape_text,
    fold,
    format_utc,
    read_events,
    unescape_text,
    unfold,
)

STAMP = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("CAF, MSA; CPAM", "CAF\\, MSA\\; CPAM"),
        ("C:\\dossier", "C:\\\\dossier"),
        ("ligne 1\nligne 2", "ligne 1\\nligne 2"),
        ("ligne 1\r\nligne 2", "ligne 1\\nligne 2"),
        ("Rien à échapper : « ici »", "Rien à échapper : « ici »"),
    ],
)
def test_text_is_escaped_and_read_back(text, escaped):
    assert escape_text(text) == escaped
    assert unescape_text(escaped) == text.replace("\r\n", "\n")


def test_a_short_line_is_not_folded():
    assert fold("SUMMARY:Atelier") == "SUMMARY:Atelier"


def test_long_lines_fold_at_75_octets_without_cutting_a_character():
    line = "DESCRIPTION:" + "é" * 100 + "x" * 30
    folded = fold(line)
    pieces = folded.split(CRLF)
    assert len(pieces) > 1
    assert all(len(p.encode("utf-8")) <= 75 for p in pieces)
    assert all(p.startswith(" ") for p in pieces[1:])
    # Every piece is valid UTF-8 on its own: no character was cut in two.
    for p in pieces:
        p.encode("utf-8").decode("utf-8")
    assert unfold(folded + CRLF) == [line]


def test_exactly_75_octets_stays_on_one_line():
    line = "X" * 75
    assert fold(line) == line
    assert fold(line + "Y") == line + CRLF + " Y"


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2026, 12, 1, 9, 0), "20261201T080000Z"),  # winter: UTC+1
        (datetime(2026, 7, 7, 9, 0), "20260707T070000Z"),  # summer: UTC+2
        (datetime(2026, 3, 29, 3, 30), "20260329T013000Z"),  # just after the spring change
    ],
)
def test_times_are_written_in_utc(local, utc):
    assert format_utc(local.replace(tzinfo=PARIS)) == utc


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        format_utc(datetime(2026, 12, 1, 9, 0))


def test_a_calendar_is_crlf_folded_and_reads_back():
    event = Event(
        uid="permanence-3-20261201T080000Z@proxiservices",
        start=datetime(2026, 12, 1, 9, 0, tzinfo=PARIS),
        end=datetime(2026, 12, 1, 12, 0, tzinfo=PARIS),
        summary="Permanence CAF des Vosges, sur rendez-vous; salle 2",
        description="Apporter : pièce d'identité\nattestation; numéro allocataire. " * 3,
        location="France services de Bruyères, 2 rue Thiers, 88600 Bruyères",
        url="https://example.org/lieux/fs-bruyeres",
        categories=("Permanence",),
    )
    text = calendar("Agenda, France services", [event], STAMP)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace(CRLF, "")
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split(CRLF))
    assert "X-WR-CALNAME:Agenda\\, France services" in unfold(text)

    (read,) = read_events(text)
    assert read["UID"] == event.uid
    assert read["DTSTART"] == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert read["DTEND"] == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert read["DTSTAMP"] == STAMP
    assert read["SUMMARY"] == event.summary
    assert read["DESCRIPTION"] == event.description
    assert read["LOCATION"] == event.location
    assert read["URL"] == event.url
    assert read["CATEGORIES"] == "Permanence"


def test_an_empty_calendar_is_still_valid():
    lines = unfold(calendar("Vide", [], STAMP))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    assert read_events(calendar("Vide", [], STAMP)) == []


FORGED = (
    "\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged@example.org\r\nDTSTART:20261224T090000Z\r\n"
    "DTEND:20261224T100000Z\r\nSUMMARY:Mairie fermée : venez à la fausse adresse"
)


def one_event(**overrides) -> Event:
    fields = dict(
        uid="atelier-7@proxiservices",
        start=datetime(2026, 12, 1, 9, 0, tzinfo=PARIS),
        end=datetime(2026, 12, 1, 12, 0, tzinfo=PARIS),
        summary="Atelier : courriel",
    )
    return Event(**{**fields, **overrides})


def no_raw_line_break(text: str) -> bool:
    return "\r" not in text.replace(CRLF, "") and "\n" not in text.replace(CRLF, "")


@pytest.mark.parametrize("field", ["url", "uid"])
def test_a_line_break_in_a_raw_value_cannot_forge_an_event(field):
    value = {"url": "https://ex.fr/a", "uid": "atelier-7@proxiservices"}[field] + FORGED
    text = calendar("Agenda", [one_event(**{field: value})], STAMP)
    assert no_raw_line_break(text)
    (read,) = read_events(text)  # one event, not two
    assert "forged@example.org" not in [line.partition(":")[2] for line in unfold(text)]
    assert not any(line.startswith("SUMMARY:Mairie fermée") for line in unfold(text))
    if field == "url":
        assert "URL" not in read  # a broken address is left out, not written raw
    else:
        assert "\r" not in read["UID"] and " " not in read["UID"]


@pytest.mark.parametrize("url", ["https://ex.fr/a b", "https://ex.fr/\ta", "https://ex.fr/\x00"])
def test_an_address_with_whitespace_or_controls_is_left_out(url):
    (read,) = read_events(calendar("Agenda", [one_event(url=url)], STAMP))
    assert "URL" not in read


def test_control_characters_are_dropped_from_text_values():
    summary = "Atelier\x0b courriel\x00\x1f\x7f\tdébutants"
    assert escape_text(summary) == "Atelier courriel\tdébutants"
    text = calendar("Agenda\x0c", [one_event(summary=summary, description="a\rb\x1bc")], STAMP)
    assert no_raw_line_break(text)
    assert not any(0x00 <= ord(c) < 0x20 and c not in "\t\r\n" for c in text)
    (read,) = read_events(text)
    assert read["SUMMARY"] == "Atelier courriel\tdébutants"
    assert read["DESCRIPTION"] == "a\nbc"

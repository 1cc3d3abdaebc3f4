"""The resident screen's rules: pairing codes, the desk's state as stored, the ETag, and
the plain-language sentences."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from proxiservices.domain import screen as rules
from proxiservices.domain.places import PLACE_LABELS, RESIDENCE
from proxiservices.domain.screen import PARIS, ScreenState


def test_codes_use_the_unambiguous_alphabet_only():
    codes = {rules.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == rules.CODE_LENGTH
        assert set(code) <= set(rules.ALPHABET)
    assert not set(rules.ALPHABET) & set("0O1IL2Z5S8BG6")


def test_codes_come_from_the_choice_given():
    seeded = random.Random(4)
    assert rules.new_code(seeded.choice) == rules.new_code(random.Random(4).choice)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("K7M4PX", "K7M4PX"),
        ("k7m 4px", "K7M4PX"),
        (" K7M-4PX ", "K7M4PX"),
        ("k7m.4px", "K7M4PX"),
        ("K7M4P", None),  # too short
        ("K7M4PXA", None),  # too long
        ("K0M4PX", None),  # 0 is not in the alphabet
        ("", None),
        (None, None),
        ("K7M4PX" * 20, None),
    ],
)
def test_typed_codes_are_normalised(typed, code):
    assert rules.normalise_code(typed) == code


def test_codes_are_shown_in_two_groups():
    assert rules.show_code("K7M4PX") == "K7M 4PX"


def test_what_the_database_keeps_depends_on_the_secret():
    assert rules.keyed_hash("K7M4PX", "a") != rules.keyed_hash("K7M4PX", "b")
    assert rules.keyed_hash("K7M4PX", "a") == rules.keyed_hash("K7M4PX", "a")
    assert "K7M4PX" not in rules.keyed_hash("K7M4PX", "a")


@pytest.mark.parametrize(
    ("at", "end"),
    [
        (datetime(2026, 11, 23, 9, 30, tzinfo=PARIS), datetime(2026, 11, 24, 0, 0, tzinfo=PARIS)),
        # 23h30 UTC on 23 November is already 24 November in Paris.
        (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), datetime(2026, 11, 25, 0, 0, tzinfo=PARIS)),
        # The night summer time ends: midnight is still midnight.
        (datetime(2026, 10, 24, 20, 0, tzinfo=PARIS), datetime(2026, 10, 25, 0, 0, tzinfo=PARIS)),
    ],
)
def test_a_pairing_ends_at_midnight_paris_time(at, end):
    assert rules.end_of_day(at) == end


@pytest.mark.parametrize(
    ("state", "encoded"),
    [
        (ScreenState(), "home"),
        (rules.state("home", commune="88078"), "home|commune=88078"),
        (
            rules.state("result", need="aide-logement", commune="88078"),
            "result|commune=88078|need=aide-logement",
        ),
        (rules.state("question", question="identite"), "question|question=identite"),
        (
            rules.state("search", needs=["carte-identite", "sp-F2088"]),
            "search|needs=carte-identite,sp-F2088",
        ),
        (rules.state("commune", need="aide-logement"), "commune|need=aide-logement"),
    ],
)
def test_states_are_stored_as_short_strings_and_read_back(state, encoded):
    assert state.encode() == encoded
    assert rules.decode(encoded) == state


@pytest.mark.parametrize(
    "ids",
    [
        {"commune": "Paris"},
        {"need": "jeanne matricielle"},  # spaces: not a slug
        {"need": "x" * 200},
        {"question": "a|b=c"},
        {"needs": ["ok-slug", "pas un slug", "a,b"]},
    ],
)
def test_anything_that_is_not_an_identifier_is_dropped(ids):
    state = rules.state("result", **ids)
    encoded = state.encode()
    for value in ids.values():
        for item in value if isinstance(value, list) else [value]:
            if " " in item or "|" in item or "," in item or len(item) > 120 or item == "Paris":
                assert item not in encoded
    assert rules.decode(encoded) == state


def test_search_states_keep_a_few_needs():
    state = rules.state("search", needs=[f"need-{i}" for i in range(20)])
    assert len(state.needs) == rules.MAX_SEARCH_NEEDS


@pytest.mark.parametrize("stored", [None, "", "nonsense", "result|need", "|||", "home|x=y"])
def test_an_unreadable_state_is_the_welcome(stored):
    assert rules.decode(stored).kind in (rules.HOME, rules.RESULT)
    assert rules.decode(stored).need is None


def test_the_etag_changes_with_the_version_the_desk_and_every_few_minutes():
    at = datetime(2026, 11, 23, 10, 1, tzinfo=PARIS)
    same = rules.etag(3, 7, at)
    assert rules.etag(3, 7, at + timedelta(minutes=1)) == same
    assert rules.etag(3, 8, at) != same
    assert rules.etag(4, 7, at) != same
    assert rules.etag(3, 7, at + timedelta(minutes=rules.ETAG_MINUTES)) != same


MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("status", "sentences"),
    [
        (
            dict(known=True, open_now=True, closes_at=MONDAY.replace(hour=12), next_opening=None),
            ["C'est ouvert maintenant.", "Ça ferme à 12\u00a0h."],
        ),
        (
            dict(
                known=True,
                open_now=False,
                closes_at=None,
                next_opening=MONDAY.replace(hour=13, minute=30),
            ),
            ["C'est fermé maintenant.", "Ça ouvre aujourd'hui à 13\u00a0h\u00a030."],
        ),
        (
            dict(
                known=True,
                open_now=False,
                closes_at=None,
                next_opening=MONDAY + timedelta(days=1, hours=-1),
            ),
            ["C'est fermé maintenant.", "Ça ouvre demain à 9\u00a0h."],
        ),
        (
            dict(
                known=True,
                open_now=False,
                closes_at=None,
                next_opening=MONDAY + timedelta(days=3),
            ),
            ["C'est fermé maintenant.", "Ça ouvre jeudi à 10\u00a0h."],
        ),
        (
            dict(
                known=True,
                open_now=False,
                closes_at=None,
                next_opening=MONDAY + timedelta(days=10),
            ),
            ["C'est fermé maintenant.", "Ça ouvre jeudi 03/12 à 10\u00a0h."],
        ),
        (
            dict(known=False, open_now=None, closes_at=None, next_opening=None),
            ["Les horaires ne sont pas connus. Demandez à l'agent."],
        ),
    ],
)
def test_opening_hours_in_short_sentences(status, sentences):
    assert rules.opening_sentences(**status, closed_for=False, at=MONDAY) == sentences


def test_an_exceptional_closure_says_so():
    said = rules.opening_sentences(
        known=True, open_now=False, closes_at=None, next_opening=None, closed_for=True, at=MONDAY
    )
    assert said == ["C'est fermé exceptionnellement."]


@pytest.mark.parametrize(
    ("facts", "pictogram", "first"),
    [
        (dict(place_name="CAF d'Épinal", online_only=False, online_url=True), "walk",
         "Allez à : CAF d'Épinal."),
        (dict(place_name=None, online_only=True, online_url=True), "online",
         "Cette démarche se fait sur internet."),
        (dict(place_name="ANTS", online_only=True, online_url=True), "online",
         "Cette démarche se fait sur internet."),
        (dict(place_name=None, online_only=False, online_url=False, request_possible=True),
         "phone", "L'agent peut demander à l'organisme de vous contacter."),
        (dict(place_name=None, online_only=False, online_url=False), "help",
         "L'agent vous explique la suite."),
    ],
)  # fmt: skip
def test_the_next_step(facts, pictogram, first):
    defaults = dict(has_documents=True, request_possible=False, help_place="France services")
    step = rules.next_step(**{**defaults, **facts})
    assert step.pictogram == pictogram
    assert step.sentences[0] == first
    assert all(len(s) < 80 for s in step.sentences), "short sentences"


def test_every_kind_has_its_words():
    assert set(rules.HEADINGS) == set(rules.KINDS) == set(rules.INTRODUCTIONS)


def test_needs_answered_elsewhere_say_where_instead_of_the_residents_town_hall():
    assert set(rules.ELSEWHERE) == set(PLACE_LABELS) - {RESIDENCE}
    assert rules.elsewhere(RESIDENCE) == ()
    step = rules.next_step(
        place_name="Mairie de Docelles",
        online_only=False,
        online_url=True,
        has_documents=True,
        request_possible=False,
        help_place=None,
        place="equipped",
    )
    assert step.sentences[0] == rules.elsewhere("equipped")[0]
    assert "Docelles" not in " ".join(step.sentences)

"""Ids in URLs: one converter bounds them for every route, so a number no row can have (0,
or beyond PostgreSQL's integer) is a 404 before any view or query runs, never a 500."""

from __future__ import annotations

import pytest

from proxiservices.domain.ids import ROW_ID_MAX
from tests.plugins.accounts import csrf_token, logged_in, make_user
from tests.web.html import main_content, text_of

NO_PAGE = "Cette adresse ne correspond à aucune page"  # the 404 of a URL no route matches
OUT_OF_RANGE = ["0", str(ROW_ID_MAX + 1), str(2**63), "9" * 30]


@pytest.fixture(scope="module")
def admin(seeded_app):
    return logged_in(seeded_app, make_user(seeded_app, "admin").email)


def page_text(response) -> str:
    return text_of(main_content(response.get_data(as_text=True)))


@pytest.mark.parametrize(
    ("url", "missing"),
    [
        ("/demandes/{}", "Demande introuvable."),
        ("/gestion/alertes/{}", "Alerte introuvable."),
        ("/gestion/permanences/{}", "Permanence introuvable."),
        ("/admin/arbre/reponses/{}/question", "Réponse introuvable."),
    ],
)
def test_an_id_out_of_range_matches_no_route(admin, url, missing):
    # The largest id still reaches the view, which looks for it and says what is missing...
    largest = admin.get(url.format(ROW_ID_MAX))
    assert largest.status_code == 404
    assert missing in page_text(largest)
    # ...one more, or zero, matches no route: the view never runs.
    for number in OUT_OF_RANGE:
        response = admin.get(url.format(number))
        assert response.status_code == 404, number
        assert NO_PAGE in page_text(response), number


def test_a_posted_id_out_of_range_matches_no_route_either(admin):
    token = csrf_token(admin, "/tableau-de-bord")
    url = "/tableau-de-bord/partages/{}/revoquer"
    largest = admin.post(url.format(ROW_ID_MAX), data={"csrf_token": token})
    assert largest.status_code == 404
    assert "Lien de partage introuvable." in page_text(largest)  # the view's own answer
    for number in OUT_OF_RANGE:
        response = admin.post(url.format(number), data={"csrf_token": token})
        assert response.status_code == 404, number
        assert NO_PAGE in page_text(response), number


def test_digits_other_than_ascii_are_no_id(admin):
    """ "٣" is a digit to Python's \\d and int() reads it as 3: not to the converter."""
    assert NO_PAGE in page_text(admin.get("/gestion/alertes/%D9%A3"))

"""Settings come from the environment under the names of the operations contract."""

import pytest

from proxiservices.config import load


@pytest.mark.parametrize(
    ("environ", "key", "expected"),
    [
        ({}, "SQLALCHEMY_DATABASE_URI", "sqlite:////srv/inst/proxiservices.sqlite3"),
        (
            {"DATABASE_URL": "postgres://u@h/db"},
            "SQLALCHEMY_DATABASE_URI",
            "postgresql+psycopg://u@h/db",
        ),
        (
            {"DATABASE_URL": "postgresql://u@h/db"},
            "SQLALCHEMY_DATABASE_URI",
            "postgresql+psycopg://u@h/db",
        ),
        ({"SECRET_KEY": "s3cret"}, "SECRET_KEY", "s3cret"),
        ({"MAIL_PORT": "2525"}, "MAIL_PORT", 2525),
        ({"PROXISERVICES_MAX_SITES": "7"}, "MAX_SITES", 7),
        ({"PROXISERVICES_SESSION_COOKIE_SECURE": "true"}, "SESSION_COOKIE_SECURE", True),
        ({}, "ENV", "development"),
        ({"PROXISERVICES_ENV": "production"}, "ENV", "production"),
        ({}, "PROXY_COUNT", 0),
        ({"PROXISERVICES_PROXY_COUNT": "2"}, "PROXY_COUNT", 2),
        ({}, "HSTS", False),
        ({"PROXISERVICES_HSTS": "oui"}, "HSTS", True),
        ({"PROXISERVICES_ACTIVITY_BUFFER_SECONDS": "0.5"}, "ACTIVITY_BUFFER_SECONDS", 0.5),
        ({"PROXISERVICES_DIRECTORY_CHECK_SECONDS": " 3 "}, "DIRECTORY_CHECK_SECONDS", 3.0),
    ],
)
def test_environment_overrides_defaults(environ, key, expected):
    assert load("/srv/inst", environ)[key] == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Docelles", "de Docelles"),
        ("Épinal", "d'Épinal"),
        ("Uriménil", "d'Uriménil"),
        ("Le Thillot", "du Thillot"),
        ("Les Forges", "des Forges"),
        ("La Bresse", "de La Bresse"),
        ("Hymont", "de Hymont"),
    ],
)
def test_french_elision_before_commune_names(name, expected):
    from proxiservices.web import de

    assert de(name) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"PROXISERVICES_MAX_SITES": "sept"},
            "PROXISERVICES_MAX_SITES doit être un nombre entier, pas 'sept'.",
        ),
        ({"MAIL_PORT": "25.5"}, "MAIL_PORT doit être un nombre entier, pas '25.5'."),
        (
            {"PROXISERVICES_ACTIVITY_BUFFER_SECONDS": "2s"},
            "PROXISERVICES_ACTIVITY_BUFFER_SECONDS doit être un nombre (par exemple 0.5)",
        ),
    ],
)
def test_a_number_that_does_not_read_stops_with_a_message_naming_the_variable(environ, message):
    with pytest.raises(RuntimeError) as caught:
        load("/srv/inst", environ)
    assert message in str(caught.value)

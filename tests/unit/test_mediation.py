"""The lieux de médiation numérique schema: reading, every check and its message, writing."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from proxiservices.domain.hours import validate as validate_hours
from proxiservices.domain.mediation import (
    FIELDS,
    MAX_BYTES,
    MAX_LENGTHS,
    UNKNOWN_PIVOT,
    WHOLE_ROW,
    CommuneRef,
    FileError,
    SiteRecord,
    check_file,
    check_row,
    decode,
    read_rows,
    slug_for,
    split_urls,
    split_values,
    spreadsheet_safe,
    to_row,
    unescape_cell,
    write_csv,
)
from proxiservices.models import Body, Site

COMMUNES = {
    "88135": CommuneRef("88135", "Docelles", ("88460",)),
    "88078": CommuneRef("88078", "Bruyères", ("88600",)),
}
GOOD = {
    "id": "cnfs-1",
    "pivot": "12345678901234",
    "nom": "Espace numérique",
    "commune": "Docelles",
    "code_postal": "88460",
    "code_insee": "88135",
    "adresse": "2 rue de la Gare",
    "date_maj": "2026-11-02",
}


def errors_of(**changes: str) -> list[tuple[str, str]]:
    place, errors = check_row(2, {**GOOD, **changes}, COMMUNES)
    assert (place is None) == bool(errors)
    return [(e.field, e.message) for e in errors]


def test_a_good_row_becomes_a_place_in_our_terms():
    place, errors = check_row(
        7,
        {
            **GOOD,
            "complement_adresse": "Salle du haut",
            "latitude": "48.145",
            "longitude": "6.61",
            "telephone": "+33329000001",
            "courriels": "a@docelles.example.fr|B@Docelles.Example.fr",
            "site_web": "https://docelles.example.fr",
            "horaires": "Tu,Th 09:00-12:00; PH off",
            "dispositif_programmes_nationaux": "Conseillers numériques",
            "structure_parente": "Mairie de Docelles",
        },
        COMMUNES,
    )
    assert errors == []
    assert place.line == 7
    assert place.slug == "cnfs-1"
    assert place.address == "2 rue de la Gare, Salle du haut"
    assert place.phone == "03 29 00 00 01"
    assert place.email == "a@docelles.example.fr"
    assert place.extra_emails == ("B@docelles.example.fr",)
    assert (place.latitude, place.longitude) == (48.145, 6.61)
    assert place.opening_hours == "Tu,Th 09:00-12:00; PH off"
    assert place.programmes == ("Conseillers numériques",)
    assert place.parent == "Mairie de Docelles"
    assert place.updated_on == date(2026, 11, 2)


def test_the_commune_is_found_by_name_when_the_insee_code_is_missing():
    place, errors = check_row(
        2, {**GOOD, "code_insee": "", "commune": "BRUYERES", "code_postal": "88600"}, COMMUNES
    )
    assert errors == []
    assert place.commune_insee == "88078"


@pytest.mark.parametrize(
    "name", ["id", "pivot", "nom", "commune", "code_postal", "adresse", "date_maj"]
)
def test_every_required_field_is_named_when_empty(name):
    assert (name, "Champ obligatoire vide.") in errors_of(**{name: ""})


HOURS_MESSAGE = validate_hours("Mardi 9h-12h")

MESSAGES = [
    ({"id": "!!!"}, "id", "L'identifiant doit contenir au moins une lettre ou un chiffre."),
    ({"id": "x" * 101}, "id", "L'identifiant est trop long (100 caractères au plus)."),
    (
        {"pivot": "123"},
        "pivot",
        "« 123 » n'est ni un SIRET (14 chiffres) ni un numéro RNA (W suivi de 9 caractères).",
    ),
    ({"nom": "n" * 201}, "nom", "Le nom est trop long (200 caractères au plus)."),
    (
        {"code_postal": "8846"},
        "code_postal",
        "Code postal « 8846 » invalide : 5 chiffres attendus.",
    ),
    (
        {"code_postal": "88000"},
        "code_postal",
        "Le code postal 88000 n'est pas celui de Docelles (88460).",
    ),
    ({"code_insee": "8813"}, "code_insee", "Code INSEE « 8813 » invalide : 5 caractères attendus."),
    (
        {"code_insee": "75056"},
        "code_insee",
        "Code INSEE « 75056 » inconnu : ce n'est pas une commune connue de Proxiservices.",
    ),
    (
        {"code_insee": "", "commune": "Nulle-Part"},
        "commune",
        "Commune « Nulle-Part » introuvable : indiquez son code INSEE.",
    ),
    ({"adresse": "a" * 301}, "adresse", "L'adresse est trop longue (300 caractères au plus)."),
    (
        {"latitude": "48,1", "longitude": "6.6"},
        "latitude",
        "« 48,1 » n'est pas un nombre (séparateur décimal : le point).",
    ),
    (
        {"latitude": "91", "longitude": "6.6"},
        "latitude",
        "Latitude 91 hors limites (entre -90 et 90).",
    ),
    (
        {"latitude": "48.1", "longitude": "-181"},
        "longitude",
        "Longitude -181 hors limites (entre -180 et 180).",
    ),
    (
        {"latitude": "48.1"},
        "longitude",
        "Latitude et longitude vont ensemble : indiquez les deux ou aucune.",
    ),
    (
        {"telephone": "12 34"},
        "telephone",
        "Numéro « 12 34 » invalide : un numéro français à 10 chiffres est attendu "
        "(ex. +33329000000 ou 03 29 00 00 00).",
    ),
    (
        {"courriels": "ok@example.fr|pas-un-courriel"},
        "courriels",
        "Adresse e-mail « pas-un-courriel » invalide.",
    ),
    (
        {"site_web": "www.example.fr"},
        "site_web",
        "Adresse web « www.example.fr » invalide : elle doit commencer par https://.",
    ),
    (
        {"fiche_acces_libre": "acceslibre"},
        "fiche_acces_libre",
        "Adresse web « acceslibre » invalide : elle doit commencer par https://.",
    ),
    (
        {"prise_rdv": "ftp://rdv.example.fr"},
        "prise_rdv",
        "Adresse web « ftp://rdv.example.fr » invalide : elle doit commencer par https://.",
    ),
    ({"horaires": "Mardi 9h-12h"}, "horaires", HOURS_MESSAGE),
    (
        {"presentation_resume": "r" * 281},
        "presentation_resume",
        "Le résumé dépasse 280 caractères.",
    ),
    (
        {"services": "Aide aux démarches administratives|Cuisine"},
        "services",
        "Valeur « Cuisine » inconnue du schéma pour ce champ.",
    ),
    ({"typologie": "MAIRIE"}, "typologie", "Valeur « MAIRIE » inconnue du schéma pour ce champ."),
    (
        {"dispositif_programmes_nationaux": "France services"},
        "dispositif_programmes_nationaux",
        "Valeur « France services » inconnue du schéma pour ce champ.",
    ),
    (
        {"horaires": "; ".join(["Mo 09:00-12:00"] * 40)},
        "horaires",
        "Les horaires sont trop longs (500 caractères au plus).",
    ),
    ({"source": "s" * 501}, "source", "La source est trop longue (500 caractères au plus)."),
    (
        {"structure_parente": "p" * 201},
        "structure_parente",
        "Le nom de la structure parente est trop long (200 caractères au plus).",
    ),
    ({"telephone": "0" * 41}, "telephone", "Le numéro est trop long (40 caractères au plus)."),
    (
        {"courriels": "a" * 190 + "@docelles.example.fr"},
        "courriels",
        f"Adresse e-mail « {'a' * 59}… » trop longue (200 caractères au plus).",
    ),
    (
        {"site_web": "https://example.fr/" + "p" * 490},
        "site_web",
        "Adresse web « https://example.fr/pppppppppppppppppppppppppppppppppppppppp… » "
        "trop longue (500 caractères au plus).",
    ),
    (
        {"date_maj": "02/11/2026"},
        "date_maj",
        "Date « 02/11/2026 » invalide : format AAAA-MM-JJ attendu.",
    ),
    (
        {"date_maj": "2026-02-30"},
        "date_maj",
        "Date « 2026-02-30 » invalide : format AAAA-MM-JJ attendu.",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    MESSAGES,
    ids=[m[1] + "-" + str(i) for i, m in enumerate(MESSAGES)],
)
def test_each_check_gives_its_french_message(changes, field, message):
    assert (field, message) in errors_of(**changes)


def test_the_length_limits_are_those_of_the_columns():
    columns = {
        "nom": Site.name,
        "adresse": Site.address,
        "telephone": Site.phone,
        "courriels": Site.email,
        "site_web": Site.url,
        "horaires": Site.opening_hours,
        "source": Site.source,
        "structure_parente": Body.name,
    }
    assert {name: column.type.length for name, column in columns.items()} == MAX_LENGTHS


def test_values_at_the_limit_are_accepted():
    place, errors = check_row(
        2,
        {**GOOD, "nom": "n" * 200, "source": "s" * 500, "structure_parente": "p" * 200},
        COMMUNES,
    )
    assert errors == []
    assert (len(place.name), len(place.source)) == (200, 500)


def test_the_hours_message_is_the_parser_s_french_explanation():
    assert HOURS_MESSAGE.startswith("Horaires non reconnus")
    assert "Mo Tu We Th Fr Sa Su" in HOURS_MESSAGE


def test_a_rna_number_and_a_spaced_siret_are_pivots():
    assert errors_of(pivot="W881234567") == []
    assert errors_of(pivot="123 456 789 01234") == []


def test_several_errors_of_one_row_are_all_reported():
    fields = [f for f, _ in errors_of(code_postal="x", telephone="1", horaires="Mardi")]
    assert fields == ["code_postal", "telephone", "horaires"]


def header_and(
    *rows: str, header: str = "id,pivot,nom,commune,code_postal,code_insee,adresse,date_maj"
) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


ROW = "cnfs-1,12345678901234,Espace,Docelles,88460,88135,2 rue de la Gare,2026-11-02"


def test_errors_carry_spreadsheet_line_numbers_and_duplicate_ids_are_refused():
    data = header_and(ROW, ROW.replace("88460", "8846"), "", ROW.replace("Espace", "Autre"))
    checked = check_file(data, COMMUNES)
    assert checked.rows == 3
    assert [(e.line, e.field) for e in checked.errors] == [(3, "id"), (3, "code_postal"), (5, "id")]
    assert "déjà vu ligne 2" in checked.errors[-1].message
    assert not checked.ok


def test_bom_semicolons_and_crlf_are_read():
    text = "\ufeff" + "\r\n".join(
        ["id;pivot;nom;commune;code_postal;code_insee;adresse;date_maj", ROW.replace(",", ";"), ""]
    )
    checked = check_file(text.encode("utf-8"), COMMUNES)
    assert checked.errors == []
    assert checked.places[0].address == "2 rue de la Gare"


def test_a_row_with_the_wrong_number_of_cells_is_reported_on_its_line():
    checked = check_file(header_and(ROW, ROW + ",en trop"), COMMUNES)
    assert [(e.line, e.field) for e in checked.errors] == [(3, WHOLE_ROW)]
    assert checked.errors[0].message.startswith("9 colonnes au lieu de 8")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("é".encode("latin-1") + b",x\n", "n'est pas encodé en UTF-8"),
        (b"", "Le fichier est vide."),
        (b"x" * (MAX_BYTES + 1), "Le fichier dépasse 5 Mo"),
        (
            header_and(header="id,nom,code_postale"),
            "Colonnes inconnues du schéma des lieux de médiation numérique : code_postale.",
        ),
        (
            header_and(header="id,nom"),
            "Colonnes obligatoires absentes : pivot, commune, code_postal, adresse, date_maj.",
        ),
        (header_and(header="id,id,nom"), "Colonnes en double dans l'en-tête : id."),
        (header_and(), "Le fichier ne contient aucune ligne de données."),
    ],
)
def test_unreadable_files_are_refused_whole(data, message):
    with pytest.raises(FileError) as error:
        check_file(data, COMMUNES)
    assert message in error.value.message


def test_decode_strips_the_bom():
    assert decode("\ufeffid".encode()) == "id"


def test_read_rows_skips_blank_lines_but_keeps_numbering():
    rows, malformed = read_rows(header_and("", ROW).decode())
    assert malformed == []
    assert [line for line, _ in rows] == [3]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Café Numérique #1", "cafe-numerique-1"), ("  ", ""), ("ABC_def", "abc-def")],
)
def test_slug_for(value, expected):
    assert slug_for(value) == expected


def test_multiple_values_use_bars_or_the_semicolons_of_the_first_versions():
    assert split_values("Jeunes|Seniors") == ["Jeunes", "Seniors"]
    assert split_values("Jeunes;Seniors") == ["Jeunes", "Seniors"]
    assert split_urls("https://a.fr/?x=1;y=2;https://b.fr") == [
        "https://a.fr/?x=1;y=2",
        "https://b.fr",
    ]


RECORD = SiteRecord(
    slug="mairie-88135",
    name="Mairie de Docelles",
    body_name="Mairie de Docelles",
    kind_code="MAIRIE",
    commune_name="Docelles",
    commune_insee="88135",
    postcode="88460",
    address="1 place de la Mairie",
    latitude=48.1451234,
    longitude=6.6123456,
    position_approx=False,
    phone="03 29 00 00 01",
    email="mairie@docelles.example.fr",
    url="https://docelles.example.fr",
    opening_hours="Mo 09:00-12:00; PH off",
    accessibility="Accès de plain-pied",
    source="https://lannuaire.service-public.fr/",
    verified_on=date(2026, 10, 6),
    description=None,
)


def test_a_site_becomes_a_schema_row():
    row = to_row(RECORD)
    assert list(row) == list(FIELDS)
    assert row["id"] == "mairie-88135"
    assert row["pivot"] == UNKNOWN_PIVOT
    assert row["telephone"] == "+33329000001"
    assert row["typologie"] == "MUNI"
    assert row["horaires"] == "Mo 09:00-12:00; PH off"
    assert (row["latitude"], row["longitude"]) == ("48.145123", "6.612346")
    assert row["date_maj"] == "2026-10-06"
    assert row["structure_parente"] == "Mairie de Docelles"
    assert row["fiche_acces_libre"] == ""  # free text is not a URL


def test_approximate_positions_and_unknown_facts_are_left_empty():
    from dataclasses import replace

    row = to_row(
        replace(
            RECORD,
            position_approx=True,
            address=None,
            verified_on=None,
            kind_code="CONSEILLER_NUMERIQUE",
        )
    )
    assert row["latitude"] == row["longitude"] == row["adresse"] == row["date_maj"] == ""
    assert row["dispositif_programmes_nationaux"] == "Conseillers numériques"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("+33329000001", "+33329000001"),
        ("+33 3 29 00 00 01", "+33 3 29 00 00 01"),
        ("-0.500000", "-0.500000"),
        ("Mairie de Docelles", "Mairie de Docelles"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(value, written):
    assert spreadsheet_safe(value) == written
    assert unescape_cell(written) == value


def test_the_written_csv_neutralises_formulas_and_reads_them_back_as_they_were():
    from dataclasses import replace

    evil = replace(
        RECORD,
        name='=HYPERLINK("http://evil.example","x")',
        address="+cmd|' /C calc'!A0",
        body_name="@SUM(1+1)",
        longitude=-0.5,
    )
    text = write_csv([evil])
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["nom"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["adresse"] == "'+cmd|' /C calc'!A0"
    assert row["structure_parente"] == "'@SUM(1+1)"
    assert (row["telephone"], row["longitude"]) == ("+33329000001", "-0.500000")
    checked = check_file(text.encode("utf-8"), COMMUNES)
    assert checked.errors == []
    place = checked.places[0]
    assert place.name == '=HYPERLINK("http://evil.example","x")'
    assert place.address == "+cmd|' /C calc'!A0"
    assert place.parent == "@SUM(1+1)"


def test_the_written_csv_reads_back_as_a_valid_file():
    text = write_csv([RECORD])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(FIELDS)
    checked = check_file(text.encode("utf-8"), COMMUNES)
    assert checked.errors == []
    assert checked.places[0].phone == "03 29 00 00 01"

"""The national *lieux de médiation numérique* CSV schema: reading, checking and writing rows.

Schema: LaMednum/ANCT "Lieux de médiation numérique" as modelled by the npm package
`@gouvfr-anct/lieux-de-mediation-numerique` 2.3.0 (columns in the order of the published
`schema.json`, several values in one cell separated by `|`; the `;` of the first versions is
read too). `horaires` carries OpenStreetMap opening hours, checked with our own parser.

Every row is checked and every error is kept, so that one report lists all that must be
fixed: a file is imported whole or not at all. No Flask, no database: the caller passes
the communes it knows.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from proxiservices.domain.hours import validate as validate_hours
from proxiservices.domain.residents import format_phone, normalise_email, normalise_phone
from proxiservices.domain.text import fold

SCHEMA_LABEL = "Lieux de médiation numérique (LaMednum / ANCT, modèle npm 2.3.0)"
FIELDS = (
    "id",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "complement_adresse",
    "latitude",
    "longitude",
    "typologie",
    "telephone",
    "courriels",
    "site_web",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "itinerance",
    "structure_parente",
    "date_maj",
    "services",
    "publics_specifiquement_adresses",
    "prise_en_charge_specifique",
    "frais_a_charge",
    "dispositif_programmes_nationaux",
    "formations_labels",
    "autres_formations_labels",
    "modalites_acces",
    "modalites_accompagnement",
    "fiche_acces_libre",
    "prise_rdv",
)
REQUIRED = ("id", "pivot", "nom", "commune", "code_postal", "adresse", "date_maj")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# An unknown SIRET: the national cartography writes fourteen zeros.
UNKNOWN_PIVOT = "00000000000000"
# Imported sites get this slug prefix; an id that is already one of our slugs (a file we
# exported ourselves) names that site.
SLUG_PREFIX = "mednum-"
WHOLE_ROW = "(ligne entière)"

FRANCE_SERVICES = "France Services"
CONSEILLERS_NUMERIQUES = "Conseillers numériques"
# Enumerations of the npm model 2.3.0.
ENUMS: dict[str, frozenset[str]] = {
    "services": frozenset(
        {
            "Acquisition de matériel informatique à prix solidaire",
            "Aide aux démarches administratives",
            "Maîtrise des outils numériques du quotidien",
            "Insertion professionnelle via le numérique",
            "Utilisation sécurisée du numérique",
            "Parentalité et éducation avec le numérique",
            "Loisirs et créations numériques",
            "Compréhension du monde numérique",
            "Accès internet et matériel informatique",
        }
    ),
    "publics_specifiquement_adresses": frozenset(
        {"Jeunes", "Étudiants", "Familles et/ou enfants", "Seniors", "Femmes"}
    ),
    "prise_en_charge_specifique": frozenset(
        {
            "Surdité",
            "Handicaps moteurs",
            "Handicaps mentaux",
            "Illettrisme",
            "Langues étrangères (anglais)",
            "Langues étrangères (autres)",
            "Déficience visuelle",
        }
    ),
    "frais_a_charge": frozenset({"Gratuit", "Gratuit sous condition", "Payant"}),
    "itinerance": frozenset({"Itinérant", "Fixe"}),
    "modalites_acces": frozenset(
        {
            "Se présenter",
            "Téléphoner",
            "Contacter par mail",
            "Envoyer un mail avec une fiche de prescription",
            "Prendre un RDV en ligne",
            "Ce lieu n'accueille pas de public",
        }
    ),
    "modalites_accompagnement": frozenset(
        {"En autonomie", "Accompagnement individuel", "Dans un atelier collectif", "À distance"}
    ),
    "dispositif_programmes_nationaux": frozenset(
        {
            "Aidants Connect",
            "Bibliothèques numérique de référence",
            "Certification PIX",
            CONSEILLERS_NUMERIQUES,
            "Emmaüs Connect",
            FRANCE_SERVICES,
            "Grande école du numérique",
            "La Croix Rouge",
            "Point d'accès numérique CAF",
            "Promeneurs du net",
            "Relais numérique (Emmaüs Connect)",
        }
    ),
    "formations_labels": frozenset(
        {
            "Formé à « Mon Espace Santé »",
            "Formé à « DUPLEX » (illettrisme)",
            "Arnia/MedNum BFC (Bourgogne-Franche-Comté)",
            "Collectif ressources et acteurs réemploi (Normandie)",
            "Étapes numériques (La Poste)",
            "Fabriques de Territoire",
            "Les Éclaireurs du numérique (Drôme)",
            "Mes Papiers (Métropole de Lyon)",
            "ORDI 3.0",
            "SUD LABS (PACA)",
        }
    ),
    # data·inclusion structure types.
    "typologie": frozenset(
        "ACI ACIPHC AFPA AI ASE ASSO ASSO_CHOMEUR Autre AVIP BIB CAARUD CADA CAF CAP_EMPLOI "
        "CAVA CC CCAS CCONS CD CDAS CFP CHRS CHU CIAS CIDFF CITMET CMP CMS CPAM CPH CS CSAPA "
        "CSC DEETS DEPT DIPLP E2C EA EATT EI EITI ENM EPCI EPI EPIDE EPN ES ESAT ESS ETTI EVS "
        "FABLAB FABRIQUE FAIS FT GEIQ HUDA LA_POSTE MDE MDH MDEF MDPH MDS MJC ML MQ MSA MSAP "
        "MUNI OACAS ODC OF OIL OPCS PAD PENSION PI PIJ_BIJ PIMMS PJJ PLIE PREF PREVENTION REG "
        "RELAIS_LECTURE RESSOURCERIE RFS RS_FJT SCP SPIP TIERS_LIEUX UDAF".split()
    ),
}
# Our body kinds in data·inclusion's structure types (export); kinds not listed stay empty.
KIND_TYPOLOGIE = {
    "MAIRIE": "MUNI",
    "CCAS": "CCAS",
    "INTERCOMMUNALITE": "EPCI",
    "REGION": "REG",
    "DEPARTEMENT": "DEPT",
    "MDPH": "MDPH",
    "PREFECTURE": "PREF",
    "CAF": "CAF",
    "MSA": "MSA",
    "CPAM": "CPAM",
    "DGFIP_SIP": "CFP",
    "FRANCE_TRAVAIL": "FT",
    "MISSION_LOCALE": "ML",
    "LA_POSTE": "LA_POSTE",
    "FRANCE_SERVICES": "RFS",
    "POINT_JUSTICE": "PAD",
}
KIND_PROGRAMME = {
    "FRANCE_SERVICES": FRANCE_SERVICES,
    "CONSEILLER_NUMERIQUE": CONSEILLERS_NUMERIQUES,
}

POSTCODE = re.compile(r"^\d{5}$")
INSEE = re.compile(r"^(?:[013-9]\d|2[AB1-9])\d{3}$")
SIRET = re.compile(r"^\d{14}$")
RNA = re.compile(r"^W[a-zA-Z0-9]{9}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
# The widest value each stored field may take: the columns of Site and Body in
# models/directory.py (tested to match). Longer values are row errors, never a database error.
MAX_LENGTHS = {
    "nom": 200,
    "adresse": 300,
    "telephone": 40,
    "courriels": 200,  # each address
    "site_web": 500,  # each address
    "horaires": 500,
    "source": 500,
    "structure_parente": 200,
}
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ... except numbers and phone numbers, which are left as they are: "-0.5", "+33 3 29 00 00 00".
NUMBER_LIKE = re.compile(r"^[+-]?\d[\d .]*$")
SHOWN_CHARS = 60


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, size, header): nothing is checked."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    line: int  # as in a spreadsheet: the header is line 1
    field: str
    message: str


@dataclass(frozen=True)
class CommuneRef:
    insee: str
    name: str
    postcodes: tuple[str, ...]


@dataclass
class Place:
    """A checked row, in the directory's terms."""

    line: int
    external_id: str
    slug: str
    name: str
    commune_insee: str
    postcode: str
    address: str
    latitude: float | None
    longitude: float | None
    phone: str | None
    email: str | None
    url: str | None
    opening_hours: str | None
    accessibility: str | None
    source: str | None
    parent: str | None
    programmes: tuple[str, ...]
    updated_on: date
    extra_emails: tuple[str, ...] = field(default=())


# --- reading ------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 text, with or without BOM; anything else is refused with a French message."""
    if len(data) > MAX_BYTES:
        raise FileError(
            f"Le fichier dépasse {MAX_BYTES // (1024 * 1024)} Mo : "
            "découpez-le en plusieurs fichiers."
        )
    if not data.strip():
        raise FileError("Le fichier est vide.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileError(
            "Le fichier n'est pas encodé en UTF-8 (octet invalide à la position "
            f"{error.start}). Enregistrez-le en « CSV UTF-8 » depuis votre tableur."
        ) from error
    if "\x00" in text:
        raise FileError("Le fichier contient des caractères nuls : ce n'est pas un CSV texte.")
    return text


def _delimiter(text: str) -> str:
    """`,` or `;`, whichever splits the header into more known columns."""
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""

    def known(sep: str) -> int:
        return sum(1 for name in first.split(sep) if name.strip().strip('"') in FIELDS)

    return ";" if known(";") > known(",") else ","


def read_rows(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The data rows with their spreadsheet line number (the header is line 1), and the
    lines that do not have as many cells as the header."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise FileError("Le fichier est vide.") from None
    except csv.Error as error:
        raise FileError(f"En-tête illisible : {error}.") from error
    _check_header(header)
    rows: list[tuple[int, dict[str, str]]] = []
    malformed: list[RowError] = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) + len(malformed) >= MAX_ROWS:
                raise FileError(f"Le fichier a plus de {MAX_ROWS} lignes : découpez-le.")
            if len(cells) != len(header):
                malformed.append(
                    RowError(
                        number,
                        WHOLE_ROW,
                        f"{len(cells)} colonnes au lieu de {len(header)} "
                        "(un séparateur ou un guillemet en trop ?).",
                    )
                )
                continue
            cells = [unescape_cell(cell.strip()) for cell in cells]
            rows.append((number, dict(zip(header, cells, strict=True))))
    except csv.Error as error:
        raise FileError(f"Ligne {reader.line_num} illisible : {error}.") from error
    if not rows and not malformed:
        raise FileError("Le fichier ne contient aucune ligne de données.")
    return rows, malformed


def _check_header(header: Sequence[str]) -> None:
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise FileError(f"Colonnes en double dans l'en-tête : {', '.join(duplicates)}.")
    unknown = [name for name in header if name not in FIELDS]
    if unknown:
        raise FileError(
            "Colonnes inconnues du schéma des lieux de médiation numérique : "
            f"{', '.join(unknown)}. Vérifiez leur orthographe (ex. « code_postal »)."
        )
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise FileError(f"Colonnes obligatoires absentes : {', '.join(missing)}.")


def spreadsheet_safe(value: str) -> str:
    """The cell as text a spreadsheet will not run: a leading `'` before a formula start
    (`=HYPERLINK(...)`, `+cmd|...`), numbers and phone numbers left as they are."""
    if value.startswith(FORMULA_STARTS) and not NUMBER_LIKE.match(value):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """Undo `spreadsheet_safe`, so that our own export is read back as it was written."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


# --- checking -----------------------------------------------------------------------------


def slug_for(external_id: str) -> str:
    """Lowercase ASCII words joined by dashes: the id as part of a site slug."""
    text = unicodedata.normalize("NFKD", external_id.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "-".join(re.findall(r"[a-z0-9]+", text))


def split_values(value: str) -> list[str]:
    """Several values of one cell: `|` (schema 1.x) or `;` (first versions)."""
    if not value:
        return []
    separator = "|" if "|" in value else ";"
    return [part.strip() for part in value.split(separator) if part.strip()]


def split_urls(value: str) -> list[str]:
    """URLs separated by `|`, or by `;` only where a new URL starts (`;` may sit in a query)."""
    parts = [p.strip() for p in value.split("|")] if "|" in value else [value.strip()]
    urls: list[str] = []
    for part in parts:
        urls.extend(u.strip() for u in re.split(r";(?=\s*https?://)", part) if u.strip())
    return urls


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and "." in parts.netloc
        and not re.search(r"\s", value)
        and len(value) <= 500
    )


def commune_by_name(
    name: str, postcode: str, communes: Mapping[str, CommuneRef]
) -> CommuneRef | None:
    wanted = fold(name)
    matches = [c for c in communes.values() if fold(c.name) == wanted]
    if len(matches) > 1:
        matches = [c for c in matches if postcode in c.postcodes]
    return matches[0] if len(matches) == 1 else None


class _Row:
    """One row being checked: errors are collected, never raised."""

    def __init__(self, line: int, raw: Mapping[str, str]):
        self.line = line
        self.raw = raw
        self.errors: list[RowError] = []

    def get(self, name: str) -> str:
        return (self.raw.get(name) or "").strip()

    def error(self, name: str, message: str) -> None:
        self.errors.append(RowError(self.line, name, message))

    def errors_for(self, *names: str) -> bool:
        return any(e.field in names for e in self.errors)


def check_row(
    line: int, raw: Mapping[str, str], communes: Mapping[str, CommuneRef]
) -> tuple[Place | None, list[RowError]]:
    """The row as a Place, or None with every error found in it."""
    row = _Row(line, raw)
    for name in REQUIRED:
        if not row.get(name):
            row.error(name, "Champ obligatoire vide.")

    external_id = row.get("id")
    slug = slug_for(external_id)
    if external_id and not slug:
        row.error("id", "L'identifiant doit contenir au moins une lettre ou un chiffre.")
    elif len(slug) > 100:
        row.error("id", "L'identifiant est trop long (100 caractères au plus).")

    pivot = re.sub(r"\s", "", row.get("pivot"))
    if pivot and not (SIRET.match(pivot) or RNA.match(pivot)):
        row.error(
            "pivot",
            f"« {row.get('pivot')} » n'est ni un SIRET (14 chiffres) ni un numéro RNA "
            "(W suivi de 9 caractères).",
        )
    name = row.get("nom")
    if len(name) > MAX_LENGTHS["nom"]:
        row.error("nom", f"Le nom est trop long ({MAX_LENGTHS['nom']} caractères au plus).")

    postcode = row.get("code_postal")
    if postcode and not POSTCODE.match(postcode):
        row.error("code_postal", f"Code postal « {postcode} » invalide : 5 chiffres attendus.")
    commune = _check_commune(row, communes, postcode)

    address = row.get("adresse")
    if row.get("complement_adresse"):
        address = f"{address}, {row.get('complement_adresse')}" if address else ""
    if len(address) > MAX_LENGTHS["adresse"]:
        row.error(
            "adresse", f"L'adresse est trop longue ({MAX_LENGTHS['adresse']} caractères au plus)."
        )

    latitude = _coordinate(row, "latitude", 90)
    longitude = _coordinate(row, "longitude", 180)
    if (latitude is None) != (longitude is None) and not row.errors_for("latitude", "longitude"):
        missing = "longitude" if longitude is None else "latitude"
        row.error(missing, "Latitude et longitude vont ensemble : indiquez les deux ou aucune.")

    phone = None
    if len(row.get("telephone")) > MAX_LENGTHS["telephone"]:
        row.error(
            "telephone",
            f"Le numéro est trop long ({MAX_LENGTHS['telephone']} caractères au plus).",
        )
    elif row.get("telephone"):
        digits = normalise_phone(row.get("telephone"))
        if digits is None:
            row.error(
                "telephone",
                f"Numéro « {row.get('telephone')} » invalide : un numéro français à 10 chiffres "
                "est attendu (ex. +33329000000 ou 03 29 00 00 00).",
            )
        else:
            phone = format_phone(digits)

    emails: list[str] = []
    for value in split_values(row.get("courriels")):
        email = normalise_email(value)
        if len(value) > MAX_LENGTHS["courriels"]:
            row.error(
                "courriels",
                f"Adresse e-mail « {_shown(value)} » trop longue "
                f"({MAX_LENGTHS['courriels']} caractères au plus).",
            )
        elif email is None:
            row.error("courriels", f"Adresse e-mail « {_shown(value)} » invalide.")
        else:
            emails.append(email)

    urls = split_urls(row.get("site_web"))
    for name_, values in (
        ("site_web", urls),
        ("fiche_acces_libre", [row.get("fiche_acces_libre")]),
        ("prise_rdv", [row.get("prise_rdv")]),
    ):
        for value in filter(None, values):
            if len(value) > MAX_LENGTHS["site_web"]:
                row.error(
                    name_,
                    f"Adresse web « {_shown(value)} » trop longue "
                    f"({MAX_LENGTHS['site_web']} caractères au plus).",
                )
            elif not is_url(value):
                row.error(
                    name_,
                    f"Adresse web « {_shown(value)} » invalide : elle doit commencer par https://.",
                )

    hours = row.get("horaires") or None
    if hours and len(hours) > MAX_LENGTHS["horaires"]:
        row.error(
            "horaires",
            f"Les horaires sont trop longs ({MAX_LENGTHS['horaires']} caractères au plus).",
        )
    elif message := validate_hours(hours):
        row.error("horaires", message)

    for name_, label in (
        ("source", "La source est trop longue"),
        ("structure_parente", "Le nom de la structure parente est trop long"),
    ):
        if len(row.get(name_)) > MAX_LENGTHS[name_]:
            row.error(name_, f"{label} ({MAX_LENGTHS[name_]} caractères au plus).")

    if len(row.get("presentation_resume")) > 280:
        row.error("presentation_resume", "Le résumé dépasse 280 caractères.")

    for name_, allowed in ENUMS.items():
        for value in split_values(row.get(name_)):
            if value not in allowed:
                row.error(name_, f"Valeur « {value} » inconnue du schéma pour ce champ.")

    updated_on = _date(row)
    if row.errors:
        return None, row.errors
    assert commune is not None and updated_on is not None
    return (
        Place(
            line=line,
            external_id=external_id,
            slug=slug,
            name=name,
            commune_insee=commune.insee,
            postcode=postcode,
            address=address,
            latitude=latitude,
            longitude=longitude,
            phone=phone,
            email=emails[0] if emails else None,
            url=urls[0] if urls else None,
            opening_hours=hours,
            accessibility=row.get("fiche_acces_libre") or None,
            source=row.get("source") or None,
            parent=row.get("structure_parente") or None,
            programmes=tuple(split_values(row.get("dispositif_programmes_nationaux"))),
            updated_on=updated_on,
            extra_emails=tuple(emails[1:]),
        ),
        [],
    )


def _shown(value: str) -> str:
    """A value quoted in a message, cut short: an error report must stay readable."""
    return value if len(value) <= SHOWN_CHARS else value[: SHOWN_CHARS - 1] + "…"


def _check_commune(
    row: _Row, communes: Mapping[str, CommuneRef], postcode: str
) -> CommuneRef | None:
    insee = row.get("code_insee")
    if insee:
        if not INSEE.match(insee):
            row.error("code_insee", f"Code INSEE « {insee} » invalide : 5 caractères attendus.")
            return None
        commune = communes.get(insee)
        if commune is None:
            row.error(
                "code_insee",
                f"Code INSEE « {insee} » inconnu : "
                "ce n'est pas une commune connue de Proxiservices.",
            )
            return None
    elif row.get("commune"):
        commune = commune_by_name(row.get("commune"), postcode, communes)
        if commune is None:
            row.error(
                "commune",
                f"Commune « {row.get('commune')} » introuvable : indiquez son code INSEE.",
            )
            return None
    else:
        return None
    if POSTCODE.match(postcode) and commune.postcodes and postcode not in commune.postcodes:
        row.error(
            "code_postal",
            f"Le code postal {postcode} n'est pas celui de {commune.name} "
            f"({', '.join(commune.postcodes)}).",
        )
    return commune


def _coordinate(row: _Row, name: str, limit: int) -> float | None:
    value = row.get(name)
    if not value:
        return None
    if not NUMBER.match(value):
        row.error(name, f"« {value} » n'est pas un nombre (séparateur décimal : le point).")
        return None
    number = float(value)
    if not -limit <= number <= limit:
        row.error(name, f"{name.capitalize()} {value} hors limites (entre -{limit} et {limit}).")
        return None
    return number


def _date(row: _Row) -> date | None:
    value = row.get("date_maj")
    if not value:
        return None
    try:
        if not ISO_DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        row.error("date_maj", f"Date « {value} » invalide : format AAAA-MM-JJ attendu.")
        return None


@dataclass
class Checked:
    places: list[Place]
    errors: list[RowError]
    rows: int = 0  # data rows read

    @property
    def ok(self) -> bool:
        return not self.errors


def check_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    communes: Mapping[str, CommuneRef],
    malformed: Iterable[RowError] = (),
) -> Checked:
    """Every row checked, and ids unique across the file."""
    places: list[Place] = []
    errors: list[RowError] = list(malformed)
    seen: dict[str, int] = {}
    count = len(errors)
    for line, raw in rows:
        count += 1
        place, row_errors = check_row(line, raw, communes)
        errors.extend(row_errors)
        key = slug_for(raw.get("id") or "")
        if key:
            if key in seen:
                errors.append(
                    RowError(
                        line, "id", f"Identifiant « {raw.get('id')} » déjà vu ligne {seen[key]}."
                    )
                )
                continue
            seen[key] = line
        if place is not None:
            places.append(place)
    return Checked(places, sorted(errors, key=_error_order), count)


def _error_order(error: RowError) -> tuple[int, int]:
    return error.line, FIELDS.index(error.field) if error.field in FIELDS else -1


def check_file(data: bytes, communes: Mapping[str, CommuneRef]) -> Checked:
    """Decode, read and check a whole upload (FileError when it cannot be read at all)."""
    rows, malformed = read_rows(decode(data))
    return check_rows(rows, communes, malformed)


# --- writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteRecord:
    """What the export knows of one site."""

    slug: str
    name: str
    body_name: str
    kind_code: str
    commune_name: str
    commune_insee: str
    postcode: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    position_approx: bool
    phone: str | None
    email: str | None
    url: str | None
    opening_hours: str | None
    accessibility: str | None
    source: str | None
    verified_on: date | None
    description: str | None


def international_phone(phone: str | None) -> str:
    """ "03 29 00 00 00" -> "+33329000000", the format the schema asks for."""
    digits = normalise_phone(phone or "")
    if digits is None:
        return phone or ""
    return "+33" + digits[1:]


def to_row(site: SiteRecord) -> dict[str, str]:
    """One schema row; unknown facts stay empty (never invented)."""
    exact = site.latitude is not None and site.longitude is not None and not site.position_approx
    row = dict.fromkeys(FIELDS, "")
    row.update(
        id=site.slug,
        pivot=UNKNOWN_PIVOT,
        nom=site.name,
        commune=site.commune_name,
        code_postal=site.postcode or "",
        code_insee=site.commune_insee,
        adresse=site.address or "",
        latitude=f"{site.latitude:.6f}" if exact else "",
        longitude=f"{site.longitude:.6f}" if exact else "",
        typologie=KIND_TYPOLOGIE.get(site.kind_code, ""),
        telephone=international_phone(site.phone),
        courriels=site.email or "",
        site_web=site.url or "",
        horaires=site.opening_hours or "",
        presentation_resume=(site.description or "")[:280],
        source=site.source or "",
        structure_parente=site.body_name,
        date_maj=site.verified_on.isoformat() if site.verified_on else "",
        dispositif_programmes_nationaux=KIND_PROGRAMME.get(site.kind_code, ""),
        fiche_acces_libre=site.accessibility
        if site.accessibility and is_url(site.accessibility)
        else "",
    )
    return row


def write_csv(sites: Iterable[SiteRecord]) -> str:
    """The schema's CSV: UTF-8, `,`, a header row, CRLF line ends as the csv module writes.

    Administrators open it in a spreadsheet, and names come from partners: every text cell
    that would be read as a formula is written with a leading `'` (read back without it)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    for site in sites:
        writer.writerow({name: spreadsheet_safe(value) for name, value in to_row(site).items()})
    return out.getvalue()

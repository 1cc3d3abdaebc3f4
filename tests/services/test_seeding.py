"""Seeding the real files: complete, idempotent, and respectful of people's edits."""

from datetime import datetime

from sqlalchemy import func, select

from proxiservices.extensions import db
from proxiservices.models import Body, BodyKind, Commune, Need, Site, Territory
from proxiservices.services.seeding import seed_all
from tests.conftest import ROOT

SEEDS = ROOT / "seeds"
DESIGN_KINDS = """MAIRIE CCAS INTERCOMMUNALITE SERVICE_EAUX REGION DEPARTEMENT MDPH PREFECTURE
ANTS_ONLINE ANEF_ONLINE SERVICE_PUBLIC_ONLINE POLICE_GENDARMERIE SCEC_NANTES
CASIER_JUDICIAIRE_NATIONAL CAF MSA CPAM CARSAT AGIRC_ARRCO RETRAITE_FONCTION_PUBLIQUE DGFIP_SIP
PAIEMENT_PROXIMITE ANTAI FRANCE_TRAVAIL MISSION_LOCALE LA_POSTE FRANCE_SERVICES
CONSEILLER_NUMERIQUE POINT_JUSTICE ADIL BAILLEUR_SOCIAL NOTAIRE""".split()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_loads_the_vosges(blank):
    seed_all(SEEDS)
    assert count(Commune) == 506
    assert db.session.scalar(select(func.count()).where(Territory.kind == "epci")) == 13
    assert set(db.session.scalars(select(BodyKind.code))) == set(DESIGN_KINDS)
    mairies = db.session.scalar(select(func.count()).where(Body.kind_code == "MAIRIE"))
    assert mairies == 506
    assert count(Need) >= 80
    unplaced = db.session.scalar(select(func.count()).where(Commune.latitude.is_(None)))
    assert unplaced == 0


def test_seed_twice_changes_nothing(blank):
    seed_all(SEEDS)
    before = {m.__tablename__: count(m) for m in (Commune, Body, Site, Need)}
    report = seed_all(SEEDS)
    assert dict(report) == {}
    assert {m.__tablename__: count(m) for m in (Commune, Body, Site, Need)} == before


def test_seed_keeps_what_a_person_edited(blank):
    seed_all(SEEDS)
    site = db.session.scalars(select(Site).where(Site.slug == "mairie-88135")).one()
    site.opening_hours = "Mo 09:00-10:00"
    site.edited_at = datetime(2026, 11, 1, 9, 0)
    need = db.session.scalars(select(Need).where(Need.slug == "aide-logement")).one()
    need.title = "Titre modifié"
    db.session.commit()
    report = seed_all(SEEDS)
    assert db.session.get(Site, site.id).opening_hours == "Mo 09:00-10:00"
    # A row nobody marked as edited is brought back to the seed file's content.
    assert db.session.get(Need, need.id).title != "Titre modifié"
    assert report["lieux modifiés à la main, conservés"] == 1

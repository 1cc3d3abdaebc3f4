"""A small hand-written directory for service tests (not the seed data)."""

from __future__ import annotations

from datetime import datetime

from proxiservices.extensions import db
from proxiservices.models import (
    Body,
    BodyKind,
    Closure,
    Commune,
    Need,
    Permanence,
    Site,
    SiteCoverage,
    Territory,
    Theme,
)

KINDS = [
    ("MAIRIE", False, False, None),
    ("CCAS", False, False, "MAIRIE"),
    ("CAF", False, False, None),
    ("DGFIP_SIP", False, False, None),
    ("ANTS_ONLINE", True, False, None),
    ("FRANCE_SERVICES", False, True, None),
    ("CONSEILLER_NUMERIQUE", False, True, None),
]


def build_directory() -> dict[str, object]:
    """Three communes in two EPCIs; a CAF for the département, two SIPs by EPCI, mairies,
    one France Services, an online-only body."""
    for position, (code, online, desk, fallback) in enumerate(KINDS):
        db.session.add(
            BodyKind(
                code=code,
                label=f"Libellé {code}",
                short_label=code,
                online_only=online,
                help_desk=desk,
                fallback_kind=fallback,
                position=position,
            )
        )
    db.session.add_all(
        [
            Territory(code="FR", kind="pays", name="France"),
            Territory(code="88", kind="departement", name="Vosges"),
            Territory(code="E1", kind="epci", name="CA Nord"),
            Territory(code="E2", kind="epci", name="CC Sud"),
        ]
    )
    communes = {
        "A": Commune(
            insee="88001",
            name="Alpha",
            folded_name="alpha",
            postcodes="88100",
            departement_code="88",
            epci_code="E1",
            latitude=48.0,
            longitude=6.0,
            position_approx=False,
        ),
        "B": Commune(
            insee="88002",
            name="Bêta-sur-Moselle",
            folded_name="beta sur moselle",
            postcodes="88200 88210",
            departement_code="88",
            epci_code="E2",
            latitude=48.3,
            longitude=6.0,
            position_approx=True,
        ),
        "C": Commune(
            insee="88003",
            name="Gamma",
            folded_name="gamma",
            postcodes="88300",
            departement_code="88",
            epci_code="E2",
            latitude=48.5,
            longitude=6.0,
            position_approx=False,
        ),
    }
    db.session.add_all(communes.values())
    db.session.flush()

    def body(slug, kind, **kw):
        b = Body(slug=slug, name=kw.pop("name", slug), kind_code=kind, **kw)
        db.session.add(b)
        db.session.flush()
        return b

    def site(b, slug, commune, coverage, hours=None, lat=None, lon=None):
        c = communes[commune]
        s = Site(
            slug=slug,
            name=slug,
            body_id=b.id,
            commune_insee=c.insee,
            latitude=lat if lat is not None else c.latitude,
            longitude=lon if lon is not None else c.longitude,
            position_approx=lat is None,
            opening_hours=hours,
            coverage=[SiteCoverage(area_code=code) for code in coverage],
        )
        db.session.add(s)
        db.session.flush()
        return s

    sites = {}
    for key, c in communes.items():
        m = body(f"mairie-{c.insee}", "MAIRIE", name=f"Mairie de {c.name}")
        sites[f"mairie-{key}"] = site(
            m, f"mairie-{c.insee}", key, [c.insee], "Mo-Fr 08:30-12:00,13:30-17:00; PH off"
        )
    caf = body("caf", "CAF", name="CAF des Vosges", phone="32 30")
    sites["caf"] = site(caf, "caf-accueil", "A", ["88"], "Mo-Fr 09:00-16:00; PH off")
    sip = body("sip", "DGFIP_SIP", name="DGFiP")
    sites["sip-nord"] = site(sip, "sip-nord", "A", ["E1"], "Mo-Fr 08:30-12:00")
    sites["sip-sud"] = site(sip, "sip-sud", "C", ["E2"], None)
    fs = body("fs", "FRANCE_SERVICES", name="France Services Bêta")
    sites["fs"] = site(fs, "fs-beta", "B", ["E2"], "Mo-Fr 09:00-12:00")
    body("ants", "ANTS_ONLINE", name="ANTS", website="https://ants.gouv.fr")

    theme = Theme(slug="t", title="Thème", position=0)
    db.session.add(theme)
    db.session.flush()
    needs = {}
    for slug, kind in [
        ("apl", "CAF"),
        ("impots", "DGFIP_SIP"),
        ("cni", "MAIRIE"),
        ("aide-ccas", "CCAS"),
        ("carte-grise", "ANTS_ONLINE"),
    ]:
        needs[slug] = Need(
            slug=slug,
            title=slug,
            theme_id=theme.id,
            body_kind_code=kind,
            keywords=[],
            documents=[],
            self_service=[],
            help_kinds=[],
            online_url="https://example.invalid/" + slug,
        )
    db.session.add_all(needs.values())
    db.session.add(
        Permanence(body_id=caf.id, host_site_id=sites["fs"].id, schedule="Tu[1,3] 09:00-12:00")
    )
    db.session.commit()
    return {"communes": communes, "sites": sites, "needs": needs}


def close_site(site: Site, start: datetime, end: datetime, message: str = "") -> None:
    db.session.add(
        Closure(site_id=site.id, kind="closed", starts_at=start, ends_at=end, message=message)
    )
    db.session.commit()

"""Communes and territories (EPCI, département) from the official COG."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proxiservices.extensions import db


class Territory(db.Model):
    __tablename__ = "territory"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "departement" | "epci"
    name: Mapped[str] = mapped_column(String(200))


class Commune(db.Model):
    __tablename__ = "commune"

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    folded_name: Mapped[str] = mapped_column(String(120), index=True)
    postcodes: Mapped[str] = mapped_column(String(255), default="")  # space-separated (Paris: 21)
    population: Mapped[int | None]
    departement_code: Mapped[str] = mapped_column(String(3), ForeignKey("territory.code"))
    epci_code: Mapped[str | None] = mapped_column(String(12), ForeignKey("territory.code"))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    position_approx: Mapped[bool] = mapped_column(default=True)

    epci: Mapped[Territory | None] = relationship(foreign_keys=[epci_code])
    departement: Mapped[Territory] = relationship(foreign_keys=[departement_code])

    @property
    def postcode_list(self) -> list[str]:
        return self.postcodes.split()

    @property
    def territory_codes(self) -> set[str]:
        """Codes that a coverage row may name to include this commune."""
        return {c for c in (self.insee, self.epci_code, self.departement_code) if c}

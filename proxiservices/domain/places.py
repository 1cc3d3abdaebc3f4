"""Which office of a body kind answers a need: not always the one of the resident's commune."""

from __future__ import annotations

RESIDENCE = "residence"
EQUIPPED = "equipped"

# Shown where the office depends on something other than where the resident lives.
PLACE_LABELS: dict[str, str] = {
    RESIDENCE: "",
    "event": "la mairie de la commune où l'événement a eu lieu (naissance, mariage, décès)",
    EQUIPPED: "une mairie équipée pour les cartes d'identité et passeports, "
    "pas forcément celle de la commune de l'usager",
    "filing": "la mairie où la demande a été déposée",
}


def place_label(place: str) -> str:
    """French phrase for the office that answers; empty for the resident's own."""
    if place not in PLACE_LABELS:
        raise ValueError(f"Lieu compétent inconnu : {place}")
    return PLACE_LABELS[place]

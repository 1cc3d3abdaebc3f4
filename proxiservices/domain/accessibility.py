"""What the accessibility statement (/accessibilite) declares about how the service was
checked. Kept here, apart from the page, because the browser audit
(tests/browser/test_axe.py) reads the same list: a page named in the statement that the audit
does not visit, or an axe-core version that is not the vendored one, fails the tests, so the
statement cannot claim more than is checked."""

from __future__ import annotations

from datetime import date

# Legal status (RGAA): "non conforme" as long as no conformance audit against the RGAA
# criteria has been carried out; automatic tests alone do not measure the criteria.
STATUS = "non conforme"
RGAA_VERSION = "4.1.2"
STATEMENT_DATE = date(2026, 11, 23)

# Tools of the automatic audit (the versions the statement was established with).
AXE_VERSION = "4.14.1"
BROWSER = "Chromium 156 (paquet Debian)"

# Pages and page states that every run of the test suite audits with axe-core, in the order
# of a visit. The labels are the ones the audit uses for its cases.
AUDITED_PAGES: tuple[str, ...] = (
    "Accueil",
    "Choix de la commune",
    "Thèmes",
    "Question de l'arbre",
    "Question de l'arbre chargée par htmx",
    "Résultat d'orientation",
    "Fiche imprimable",
    "Recherche avec résultats",
    "Recherche sans résultat",
    "Suggestions de recherche pendant la frappe",
    "Fiche d'un organisme",
    "Fiche d'un lieu",
    "Lieux servant une commune",
    "Sources des données",
    "Catalogue service-public.fr",
    "Carte des lieux d'accueil",
    "Connexion",
    "Connexion refusée (erreur affichée)",
    "Mot de passe oublié",
    "Données personnelles",
    "Déclaration d'accessibilité",
    "Page introuvable",
    "Écran usager : saisie du code",
    "Écran usager : code refusé",
    "Demande de mise en relation",
    "Demande de mise en relation avec erreurs",
    "Demandes envoyées",
    "Détail d'une demande envoyée",
    "Mon compte",
    "Écran usager (poste de l'agent)",
    "Écran usager relié (résultat)",
    "Demandes reçues",
    "Détail d'une demande reçue",
    "Tableau de bord des élus",
    "Administration",
    "Gestion de l'annuaire",
    "Gestion d'un lieu",
    "Modification d'un lieu",
    "Arbre d'orientation (administration)",
    "Alertes locales",
    "Nouvelle alerte locale",
    "Ateliers",
)

# Known limits, said plainly on the page.
NOT_ACCESSIBLE: tuple[str, ...] = (
    "La carte des lieux d'accueil (/carte) affiche des fonds de plan en images sans "
    "description textuelle ; la liste des lieux, sous la carte et dans l'annuaire, donne "
    "les mêmes informations (adresse, horaires) sous forme de texte.",
    "Les vérifications automatiques ne détectent qu'une partie des défauts (environ un "
    "tiers des critères du RGAA) : la pertinence des textes, l'ordre de lecture avec un "
    "lecteur d'écran ou la compréhension des contenus n'ont pas été vérifiés par une "
    "personne experte.",
    "Les liens vers les sites officiels (service-public.fr, organismes) mènent à des "
    "contenus dont l'accessibilité ne dépend pas de Proxiservices.",
)

"""Accessibility audit in a real browser: axe-core (vendored, tests/browser/vendor) on every
main page and on the states htmx brings (suggestions while typing, a tree step swapped in,
a form sent back with its errors). No violation of impact "serious" or "critical" is
accepted. The same pass checks from the DOM what the statement promises on every page: a
title of its own, one h1, a label for every field, <html lang="fr">.

axe is injected with page.evaluate (the DevTools protocol), which the page's Content Security
Policy does not govern, so the pages are audited with their real CSP and the `page` fixture
still fails on any CSP violation or JavaScript error (add_script_tag would be an inline
script, refused by `script-src 'self'`).

The pages audited are the ones the accessibility statement lists
(proxiservices/domain/accessibility.py): a label there without a visit here fails."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from proxiservices.domain import accessibility
from tests.plugins.accounts import make_user

VENDOR = Path(__file__).resolve().parent / "vendor"
AXE_SOURCE = (VENDOR / "axe.min.js").read_text(encoding="utf-8")
DOCELLES = "88135"
RESULT = f"/orientation?need=aide-logement&commune={DOCELLES}"
BLOCKING = ("serious", "critical")

# The rules of WCAG 2.0 / 2.1 levels A and AA and axe's best practices (the RGAA follows
# WCAG 2.1 AA); only the violations are collected, which keeps each run short.
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    resultTypes: ["violations"],
  });
  const found = result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
  // axe leaves text of the same colour as its background "to review" (it might be hidden
  // on purpose) and so does a ratio measured on an uncertain background: a ratio it did
  // measure below the threshold is a failure here.
  for (const v of result.incomplete.filter(v => v.id === "color-contrast")) {
    const nodes = v.nodes.filter(n => n.any.some(check => check.data &&
      check.data.contrastRatio > 0 &&
      check.data.contrastRatio < parseFloat(check.data.expectedContrastRatio)));
    if (nodes.length) found.push({
      id: "color-contrast", impact: "serious", url: v.helpUrl,
      help: v.help + " (measured, left to review by axe)",
      nodes: nodes.map(n => ({
        target: n.target.join(" "), summary: n.any.map(c => c.message).join(" ")})),
    });
  }
  return found;
}"""

# What axe checks too, asked plainly so that a failure names the page and the field.
DOM_CHECKS = """() => {
  // Fields a person can reach: not rendered (display: none, hidden) is not exposed either.
  const fields = [...document.querySelectorAll("input, select, textarea")].filter(el =>
    !["hidden", "submit", "button", "reset", "image"].includes((el.type || "").toLowerCase())
    && el.getClientRects().length > 0 && !el.closest("[aria-hidden=true]"));
  const unlabelled = fields.filter(el => !(
    (el.labels && el.labels.length) || el.getAttribute("aria-label") ||
    el.getAttribute("aria-labelledby")));
  return {
    title: document.title,
    lang: document.documentElement.getAttribute("lang"),
    h1: document.querySelectorAll("h1").length,
    unlabelled: unlabelled.map(el => el.outerHTML.slice(0, 120)),
  };
}"""


@dataclass(frozen=True)
class Visit:
    label: str  # as in accessibility.AUDITED_PAGES
    # open(page, ctx) brings the page into the state to audit; it returns the page to audit
    # when that is another one (a window it opened), else None.
    open: Callable
    # The same page in another state: it keeps that page's title (or prefixes it, "Erreur – ").
    variant_of: str | None = None
    # False for a page whose title is shared on purpose with another one of its test.
    distinct_title: bool = True


def goto(path: str, status: int = 200) -> Callable:
    def open_(page, ctx) -> None:
        response = page.goto(path.format(**ctx))
        assert response is not None and response.status == status, (path, response)
        assert "/connexion" not in page.url or path.startswith("/connexion"), page.url

    return open_


def first_question(page, ctx) -> None:
    """A question of the tree, reached through its theme (full page loads)."""
    page.goto(f"/themes?commune={DOCELLES}")
    page.locator("#main .choices a[href^='/themes/']").first.click()
    page.wait_for_url(re.compile(r"/themes/[^?]+"))
    page.goto(page.locator("#main .choices a[href^='/questions/']").first.get_attribute("href"))


def by_htmx(page, pattern: str, action: Callable) -> None:
    """Run action, which must fetch `pattern` through htmx (not a page load), and wait for
    the swap to settle."""
    with page.expect_response(re.compile(pattern)) as answer:
        action()
    assert answer.value.request.headers.get("hx-request") == "true", answer.value.url
    from playwright.sync_api import expect  # here: without playwright the file still loads

    # A locator, not wait_for_function: that one evaluates a string, which the CSP forbids.
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def question_by_htmx(page, ctx) -> None:
    """The same step, swapped into #main by htmx from the themes page."""
    page.goto(f"/themes?commune={DOCELLES}")
    by_htmx(page, r"/themes/[^?]+", page.locator("#main .choices a[href^='/themes/']").first.click)
    page.wait_for_url(re.compile(r"/themes/[^?]+"))
    question = page.locator("#main .choices a[href^='/questions/']").first
    by_htmx(page, r"/questions/", question.click)
    page.wait_for_url(re.compile(r"/questions/"))


def suggestions(page, ctx) -> None:
    page.goto(f"/?commune={DOCELLES}")
    page.keyboard.press("/")
    by_htmx(page, r"/recherche/suggestions", lambda: page.keyboard.type("allocs"))
    page.locator("#search-suggestions [role=option]").first.wait_for()


def login_refused(page, ctx) -> None:
    page.goto("/connexion")
    page.locator("#email").fill("personne@example.org")
    page.locator("#password").fill("pas-le-bon-mot-de-passe")
    page.locator("form.stacked-form button[type=submit]").click()
    page.locator(".error-summary").wait_for()


def request_with_errors(page, ctx) -> None:
    """The request form sent empty: htmx swaps the form back with its errors (422)."""
    page.goto(f"/demandes/nouvelle?need=aide-logement&commune={DOCELLES}")
    by_htmx(page, r"/demandes/nouvelle", page.locator("#main form button[type=submit]").click)
    page.locator("#main .error-summary").wait_for()


def screen_code(page, ctx) -> None:
    page.goto("/ecran-usager")
    page.get_by_role("button", name="Obtenir un code").click()
    page.locator(".screen-code").wait_for()


def screen_following(page, ctx):
    """The desk's second window, paired, showing the result the desk is on."""
    page.goto("/ecran-usager")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Ouvrir l'écran usager dans une nouvelle fenêtre").click()
    window = opened.value
    window.locator("#ecran h1").wait_for()
    page.goto(RESULT)
    title = page.locator("#main h1").inner_text()
    window.reload()
    window.locator("#ecran h1", has_text=title).wait_for()
    return window


def screen_wrong_code(page, ctx) -> None:
    page.goto("/ecran")
    page.locator("#code").fill("ZZZ999")
    page.get_by_role("button", name="Relier cet écran").click()
    page.locator("#code-error").wait_for()


PUBLIC = (
    Visit("Accueil", goto("/")),
    Visit("Choix de la commune", goto("/commune?q=docelles")),
    Visit("Thèmes", goto(f"/themes?commune={DOCELLES}")),
    Visit("Question de l'arbre", first_question),
    Visit("Question de l'arbre chargée par htmx", question_by_htmx, "Question de l'arbre"),
    Visit("Résultat d'orientation", goto(RESULT)),
    Visit("Fiche imprimable", goto(RESULT.replace("/orientation?", "/orientation/fiche?"))),
    Visit("Recherche avec résultats", goto(f"/recherche?q=carte+grise&commune={DOCELLES}")),
    Visit("Recherche sans résultat", goto(f"/recherche?q=zzxqwv&commune={DOCELLES}")),
    Visit("Suggestions de recherche pendant la frappe", suggestions, "Accueil"),
    Visit("Fiche d'un organisme", goto("/organismes/caf-vosges")),
    Visit("Fiche d'un lieu", goto(f"/lieux/mairie-{DOCELLES}")),
    Visit("Lieux servant une commune", goto(f"/communes/{DOCELLES}")),
    Visit("Sources des données", goto("/sources")),
    Visit("Catalogue service-public.fr", goto("/catalogue")),
    Visit("Carte des lieux d'accueil", goto(f"/carte?commune={DOCELLES}")),
    Visit("Connexion", goto("/connexion")),
    Visit("Connexion refusée (erreur affichée)", login_refused, "Connexion"),
    Visit("Mot de passe oublié", goto("/mot-de-passe-oublie")),
    Visit("Données personnelles", goto("/donnees-personnelles")),
    Visit("Déclaration d'accessibilité", goto("/accessibilite")),
    Visit("Page introuvable", goto("/cette-page-n-existe-pas", 404)),
    Visit("Écran usager : saisie du code", goto("/ecran")),
    Visit("Écran usager : code refusé", screen_wrong_code, "Écran usager : saisie du code"),
)
BY_ROLE = {
    "receptionist": (
        Visit(
            "Demande de mise en relation",
            goto(f"/demandes/nouvelle?need=aide-logement&commune={DOCELLES}"),
        ),
        Visit(
            "Demande de mise en relation avec erreurs",
            request_with_errors,
            "Demande de mise en relation",
        ),
        Visit("Demandes envoyées", goto("/demandes")),
        Visit("Détail d'une demande envoyée", goto("/demandes/{request_id}")),
        Visit("Mon compte", goto("/compte")),
        Visit("Écran usager (poste de l'agent)", screen_code),
        Visit("Écran usager relié (résultat)", screen_following, distinct_title=False),
    ),
    "partner": (
        Visit("Demandes reçues", goto("/partenaire/demandes")),
        Visit("Détail d'une demande reçue", goto("/partenaire/demandes/{request_id}")),
    ),
    "elected": (Visit("Tableau de bord des élus", goto("/tableau-de-bord")),),
    "admin": (
        Visit("Administration", goto("/admin")),
        Visit("Gestion de l'annuaire", goto("/gestion")),
        Visit("Gestion d'un lieu", goto(f"/gestion/lieux/mairie-{DOCELLES}")),
        Visit("Modification d'un lieu", goto(f"/gestion/lieux/mairie-{DOCELLES}/modifier")),
        Visit("Arbre d'orientation (administration)", goto("/admin/arbre")),
        Visit("Alertes locales", goto("/gestion/alertes")),
        Visit("Nouvelle alerte locale", goto("/gestion/alertes/nouvelle")),
        Visit("Ateliers", goto("/gestion/ateliers")),
    ),
}
ALL_VISITS = (*PUBLIC, *(visit for visits in BY_ROLE.values() for visit in visits))


def new_request(live_server, desk_email: str) -> int:
    """A request from a Docelles desk to the CAF, for the detail pages of both sides."""
    from proxiservices.domain.hours import PARIS
    from proxiservices.extensions import db
    from proxiservices.models import User
    from proxiservices.services import requests as service
    from proxiservices.services.communes import get_commune
    from proxiservices.services.directory import get_body
    from proxiservices.services.needs import get_need

    make_user(live_server.app, "partner")  # the CAF receives requests once it has a partner
    with live_server.app.app_context():
        desk = db.session.execute(db.select(User).filter_by(email=desk_email)).scalar_one()
        sent = service.submit_request(
            actor=desk,
            need=get_need("aide-logement"),
            commune=get_commune(DOCELLES),
            body=get_body("caf-vosges"),
            contact=service.ResidentContact(
                name="Usager Audit", phone="0612345678", email=None, channel="phone"
            ),
            at=datetime.now(PARIS),
        )
        return sent.id


def audit(page) -> tuple[list[str], dict]:
    """axe and the DOM checks on the page as it is now: the problems found, and the facts."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    problems = []
    for violation in page.evaluate(AXE_RUN):
        if violation["impact"] not in BLOCKING:
            continue
        targets = "\n".join(
            f"      {node['target']}\n        {node['summary'].replace(chr(10), ' / ')}"
            for node in violation["nodes"][:5]
        )
        problems.append(
            f"  [{violation['impact']}] {violation['id']}: {violation['help']}"
            f" ({violation['url']})\n{targets}"
        )
    facts = page.evaluate(DOM_CHECKS)
    if not re.fullmatch(r".*\S.* – Proxiservices", facts["title"] or ""):
        problems.append(f"  title: « {facts['title']} » (expected « <page> – Proxiservices »)")
    if facts["lang"] != "fr":
        problems.append(f"  <html lang>: {facts['lang']!r}")
    if facts["h1"] != 1:
        problems.append(f"  {facts['h1']} h1 (expected exactly one)")
    for field in facts["unlabelled"]:
        problems.append(f"  field without a label: {field}")
    return problems, facts


def run_visits(page, visits, ctx) -> None:
    failures: list[str] = []
    titles: dict[str, str] = {}
    for visit in visits:
        audited = visit.open(page, ctx) or page
        problems, facts = audit(audited)
        base = titles.get(visit.variant_of or "")
        if visit.variant_of is None and visit.distinct_title:
            titles[visit.label] = facts["title"]
        elif base and not facts["title"].endswith(base):
            problems.append(f"  title « {facts['title']} » is not « {base} »")
        if problems:
            failures.append(f"{visit.label} ({audited.url}):\n" + "\n".join(problems))
    seen: dict[str, str] = {}
    for label, title in titles.items():
        if title in seen:
            failures.append(f"{label} and {seen[title]} have the same title « {title} »")
        seen[title] = label
    assert not failures, "accessibility problems:\n" + "\n\n".join(failures)


def test_public_pages_have_no_serious_violation(page):
    run_visits(page, PUBLIC, {})


@pytest.mark.parametrize("role", list(BY_ROLE))
def test_staff_pages_have_no_serious_violation(page, login, live_server, role):
    email = login(page, role)
    ctx = {}
    if role == "receptionist":
        ctx["request_id"] = new_request(live_server, email)
    elif role == "partner":
        ctx["request_id"] = new_request(live_server, make_user(live_server.app).email)
    run_visits(page, BY_ROLE[role], ctx)


def test_audit_catches_a_serious_violation(page):
    """The audit is not blind: a page with an unlabelled field and an image without text
    alternative fails it, with the rule, the impact and the element named."""
    page.goto("/accessibilite")
    page.evaluate(
        """() => {
      const main = document.getElementById("main");
      main.insertAdjacentHTML("beforeend",
        '<input id="audit-probe" type="text"><img src="/static/x.png">');
    }"""
    )
    problems, _ = audit(page)
    text = "\n".join(problems)
    assert "[critical] label" in text and "#audit-probe" in text
    assert "[critical] image-alt" in text
    assert "field without a label" in text
    # White text on the white suggestion list: axe leaves it "to review", the audit fails it.
    suggestions(page, {})
    page.evaluate(
        "document.querySelectorAll('#search-suggestions .hint')"
        ".forEach(h => h.style.setProperty('color', '#fff'))"
    )
    problems, _ = audit(page)
    assert "[serious] color-contrast" in "\n".join(problems)


def test_statement_lists_exactly_the_audited_pages():
    labels = [visit.label for visit in ALL_VISITS]
    assert len(labels) == len(set(labels))
    assert sorted(labels) == sorted(accessibility.AUDITED_PAGES)


def test_vendored_axe_is_the_version_the_statement_names(page):
    assert AXE_SOURCE.startswith(f"/*! axe v{accessibility.AXE_VERSION}\n")
    page.goto("/accessibilite")
    page.evaluate(AXE_SOURCE)
    assert page.evaluate("axe.version") == accessibility.AXE_VERSION

"""The desk's flows in a real browser, driven the way a receptionist works: with the keyboard
(Tab, arrows, Enter, Escape, `/`) wherever the page allows it."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

from playwright.sync_api import expect

# The text of the focused link ('' when the focus is not on a link).
FOCUSED_TEXT = """() => { const e = document.activeElement;
  return e && e.tagName === 'A' ? e.textContent : ''; }"""
FOCUSED_ID = "() => (document.activeElement && document.activeElement.id) || ''"


def tab_to(page, element_id: str, limit: int = 60) -> None:
    """Tab through the page until the element with this id has the focus."""
    page.wait_for_load_state()  # keys pressed before the scripts ran would be lost
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_ID) == element_id:
            return
    raise AssertionError(f"#{element_id} never got the focus by Tab")


def arrow_to(page, text: str, limit: int = 40) -> None:
    """Move through a list of choices with the down arrow until the focused one says `text`.
    After a whole page load, waits for its scripts first: until htmx has processed the page,
    Enter on a choice would load the next page whole instead of swapping it in."""
    page.wait_for_load_state()
    for _ in range(limit):
        page.keyboard.press("ArrowDown")
        if text in page.evaluate(FOCUSED_TEXT):
            return
    raise AssertionError(f"no choice « {text} » reached with the arrows")


def heading(page):
    return page.locator("#main h1")


def test_walk_in_through_the_tree_with_the_keyboard_only(page):
    page.goto("/")
    expect(heading(page)).to_have_text("Quelle démarche ?")

    # The resident's commune: Tab to the field, type, arrows into the list, Enter.
    tab_to(page, "commune-q")
    page.keyboard.type("Docel")
    expect(page.locator("#commune-results a").first).to_contain_text("Docelles")
    arrow_to(page, "Docelles")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/themes\?commune=88135$"))
    expect(page.locator(".commune-bar")).to_contain_text("Docelles")
    # From here every step is an htmx swap in this same document (a mark set now survives).
    page.evaluate("() => { window.walkInMark = true; }")

    # Theme, then the questions: the new step's heading has the focus, ↓ reaches the choices.
    arrow_to(page, "Papiers – Citoyenneté")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/themes/papiers-citoyennete\?commune=88135$"))
    arrow_to(page, "Carte d'identité ou passeport")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/questions/identite\?commune=88135$"))
    expect(heading(page)).to_have_text("Quelle est la situation ?")
    expect(heading(page)).to_be_focused()
    arrow_to(page, "Carte ou passeport perdu")
    page.keyboard.press("Enter")

    # The result: where to go first, for the resident's commune.
    expect(page).to_have_url(re.compile(r"/orientation\?need=cni-passeport-perte&commune=88135$"))
    expect(heading(page)).to_contain_text("perdu")
    expect(page.locator("#where")).to_have_text("Où aller")
    expect(page.locator("main .site-card").first).to_be_visible()
    assert page.title().endswith("– Proxiservices")
    assert page.evaluate("() => window.walkInMark === true"), "a step loaded a whole page"

    # The browser's back button returns to the question (hx-push-url), and so does Escape.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/questions/identite\?commune=88135$"))
    expect(heading(page)).to_have_text("Quelle est la situation ?")
    page.go_forward()
    expect(page).to_have_url(re.compile(r"need=cni-passeport-perte"))
    expect(heading(page)).to_contain_text("perdu")
    page.locator("body").press("Escape")
    expect(page).to_have_url(re.compile(r"/questions/identite\?commune=88135$"))
    expect(heading(page)).to_have_text("Quelle est la situation ?")


def test_search_as_you_type_with_the_keyboard(page):
    page.goto("/themes?commune=88135")
    page.locator("body").press("/")
    box = page.locator("#q-header")
    expect(box).to_be_focused()
    page.keyboard.type("j'ai perdu ma carte d'identité", delay=20)
    options = page.locator("#search-suggestions [role=option]")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(options.first).to_contain_text("perdu")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/orientation\?need=cni-passeport-perte&commune=88135"))
    expect(heading(page)).to_contain_text("perdu")

    # Enter with no suggestion chosen: the results page, with its own address.
    page.wait_for_load_state()  # a whole page was loaded: its scripts run at its end
    page.keyboard.press("/")
    expect(box).to_be_focused()
    page.keyboard.type("les allocs", delay=20)
    expect(options.first).to_be_visible()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/recherche\?q=les(\+|%20)allocs"))
    expect(heading(page)).to_have_text("Recherche : « les allocs »")
    expect(page.locator("#search-suggestions [role=option]")).to_have_count(0)
    first = page.locator("#main .choices.results a").first
    title = first.inner_text()
    arrow_to(page, title)
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text(title)
    expect(page).to_have_url(re.compile(r"/orientation\?need=[\w-]+&commune=88135"))
    page.go_back()
    expect(heading(page)).to_have_text("Recherche : « les allocs »")


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF as Chromium writes it (no object streams): its /Type /Page objects,
    checked against the page tree's /Count."""
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf)]
    assert counts and max(counts) == pages, (pages, counts)
    return pages


def test_the_printed_fiche_is_one_a4_page(page, screenshot):
    for need, commune in [
        ("cni-passeport-perte", "88135"),
        ("aide-logement", "88078"),
        ("acte-naissance", "88160"),
    ]:
        page.goto(f"/orientation/fiche?need={need}&commune={commune}")
        page.emulate_media(media="print")
        expect(page.locator("h1")).to_be_visible()
        assert pdf_pages(page.pdf(format="A4")) == 1, f"fiche {need} for {commune}"
    screenshot(page, "flow-fiche-print")


REQUEST_FORM = "/demandes/nouvelle?need=aide-logement&commune=88078"


def test_a_desk_sends_a_request_and_the_caf_schedules_it(new_page, login, screenshot):
    login.email("partner")  # the CAF receives requests once it has an account
    desk = new_page()
    login(desk, "receptionist")
    desk.goto("/orientation?need=aide-logement&commune=88078")
    offer = desk.get_by_role("link", name="Envoyer une demande de mise en relation au partenaire")
    offer.focus()
    desk.keyboard.press("Enter")
    expect(desk).to_have_url(re.compile(r"/demandes/nouvelle\?need=aide-logement&commune=88078"))
    expect(desk.get_by_label("CAF des Vosges")).to_be_checked()
    # A resident of its own: other tests' requests for the same need are not duplicates.
    phone = "06 " + " ".join(f"{random.randint(0, 99):02d}" for _ in range(4))
    desk.get_by_label("Nom et prénom de l'usager").fill(f"Jeanne Essai {phone[-2:]}")
    desk.get_by_label("Téléphone", exact=True).fill(phone)
    desk.get_by_label("par téléphone").check()
    desk.get_by_label("Message court pour le partenaire (facultatif)").fill("Première demande.")
    desk.get_by_label("L'usager a donné son accord").check()
    desk.get_by_role("button", name="Envoyer la demande").press("Enter")
    expect(desk).to_have_url(re.compile(r"/demandes/\d+$"))
    sent = desk.locator("#main .flash, #main [role=status]").filter(has_text="envoyée à CAF")
    expect(sent.first).to_be_visible()
    reference = re.search(r"Demande (\S+) envoyée", sent.first.inner_text()).group(1)

    caf = new_page()
    login(caf, "partner")
    caf.goto("/partenaire/demandes")
    expect(caf.locator("#main")).to_contain_text(reference)
    screenshot(caf, "flow-partner-inbox")
    caf.get_by_role("link", name=re.compile(re.escape(reference))).first.click()
    expect(caf.locator("#main h1")).to_have_text(f"Demande {reference}")
    caf.locator("summary", has_text="Fixer un rendez-vous").click()
    day = date.today() + timedelta(days=7)
    caf.locator("#schedule-day").fill(day.isoformat())
    caf.locator("#schedule-time").fill("10:30")
    caf.locator("#schedule-place").fill("CAF des Vosges, Épinal")
    caf.get_by_role("button", name="Fixer un rendez-vous").click()
    expect(caf.locator("#main")).to_contain_text("rendez-vous fixé")

    desk.goto("/demandes")
    row = desk.locator("#main tr, #main li").filter(has_text=reference).first
    expect(row).to_contain_text("rendez-vous fixé")
    screenshot(desk, "flow-desk-requests-scheduled")
    row.get_by_role("link").first.click()
    expect(desk.locator("#main")).to_contain_text("10h30")
    expect(desk.locator("#main")).to_contain_text("CAF des Vosges, Épinal")


def test_a_form_error_is_shown_in_place_and_keeps_what_was_typed(page, login):
    login.email("partner")
    login(page, "receptionist")
    page.goto(REQUEST_FORM)
    page.evaluate("() => { window.samePage = true; }")
    page.get_by_label("Nom et prénom de l'usager").fill("Jeanne Essai")
    page.get_by_label("Téléphone", exact=True).fill("12")
    page.get_by_label("Message court pour le partenaire (facultatif)").fill("Mon texte à garder")
    page.get_by_role("button", name="Envoyer la demande").press("Enter")

    phone = page.locator("#phone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("() => window.samePage === true"), "the page was reloaded, not swapped"
    error = page.locator("#phone-error")
    expect(error).to_contain_text("Numéro de téléphone non reconnu")
    assert "phone-error" in phone.get_attribute("aria-describedby").split()
    # Next to its field: in the same field block.
    expect(page.locator(".field", has=phone).locator("#phone-error")).to_have_count(1)
    expect(phone).to_have_value("12")
    expect(page.get_by_label("Nom et prénom de l'usager")).to_have_value("Jeanne Essai")
    expect(page.locator("#message")).to_have_value("Mon texte à garder")
    # The focus goes to the errors, whose links lead to each field.
    summary = page.locator("#main .error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Sans l'accord de l'usager")
    summary.get_by_role("link", name=re.compile("Numéro de téléphone")).press("Enter")
    expect(phone).to_be_focused()

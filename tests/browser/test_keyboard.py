"""The keys documented at the top of static/js/app.js, one by one, in a real browser: the
skip link, `/`, the arrows and Enter in the suggestions and in the lists of choices,
Escape in the search box and on a step of the tree, and a focus that can be seen."""

from __future__ import annotations

import re

from playwright.sync_api import expect

DOCELLES = "88135"
ACTIVE = """() => { const e = document.activeElement; if (!e) return null;
  return {tag: e.tagName, id: e.id, cls: e.className, text: (e.textContent || '').trim()}; }"""
RING = """() => { const s = getComputedStyle(document.activeElement);
  return {width: parseFloat(s.outlineWidth), style: s.outlineStyle, shadow: s.boxShadow}; }"""


def active(page) -> dict:
    return page.evaluate(ACTIVE)


def assert_focus_ring(page) -> None:
    ring = page.evaluate(RING)
    assert ring["style"] != "none" and ring["width"] >= 3, ring
    assert ring["shadow"] != "none", ring


def choices(page):
    return page.locator("#main .choices a")


def test_skip_link_comes_first_and_leads_to_the_content(page):
    page.goto(f"/orientation?need=aide-logement&commune={DOCELLES}")
    page.keyboard.press("Tab")
    focused = active(page)
    assert focused["cls"] == "skip-link" and focused["text"] == "Aller au contenu", focused
    skip = page.locator("a.skip-link")
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 40, box
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    assert active(page)["id"] == "main"
    # The next Tab lands in the content (the breadcrumb), past the header's links and search.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")
    assert_focus_ring(page)


def test_slash_focuses_the_search_arrows_choose_and_enter_opens(page):
    page.goto(f"/themes?commune={DOCELLES}")
    page.keyboard.press("/")
    box = page.locator("#q-header")
    expect(box).to_be_focused()
    assert box.input_value() == "", "the / is not typed into the box"
    page.keyboard.type("aide au logement")
    options = page.locator("#search-suggestions [role=option]")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    count = options.count()

    page.keyboard.press("ArrowDown")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(0).get_attribute("id"))
    if count > 1:
        page.keyboard.press("ArrowDown")
        expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        expect(options.nth(0)).to_have_attribute("aria-selected", "false")
        page.keyboard.press("ArrowUp")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowUp")  # wraps to the last one
    expect(options.nth(count - 1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    title = options.nth(0).locator(".suggestion-title").inner_text()
    target = options.nth(0).get_attribute("data-href")

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))
    expect(page.locator("#main h1")).to_have_text(title)


def test_a_refreshed_list_keeps_the_suggestion_chosen(page):
    """The list answers the last keystrokes after the arrows have chosen: the choice stays."""
    page.goto(f"/themes?commune={DOCELLES}")
    page.keyboard.press("/")
    page.keyboard.type("carte grise")
    options = page.locator("#search-suggestions [role=option]")
    expect(options.first).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    chosen = page.locator("#search-suggestions [aria-selected=true]").get_attribute("data-href")
    # Mark the list shown now; the refreshed one comes without the mark. (A locator, not
    # wait_for_function: that one evaluates a string, which the CSP forbids.)
    page.evaluate("() => document.getElementById('search-listbox').dataset.old = '1'")
    page.keyboard.type(" ")
    page.keyboard.press("Backspace")
    expect(page.locator("#search-listbox:not([data-old])")).to_have_count(1)
    expect(page.locator("#search-suggestions [aria-selected=true]")).to_have_attribute(
        "data-href", chosen
    )


def test_slash_in_a_field_is_just_typed(page):
    page.goto("/commune")
    page.locator("#commune-q").focus()
    page.keyboard.type("a/b")
    expect(page.locator("#commune-q")).to_have_value("a/b")
    expect(page.locator("#q-header")).not_to_be_focused()


def test_escape_in_the_search_closes_then_clears_then_gives_the_focus_back(page):
    page.goto(f"/themes?commune={DOCELLES}")
    page.keyboard.press("ArrowDown")  # a theme has the focus
    before = active(page)
    assert before["tag"] == "A", before
    page.keyboard.press("/")
    page.keyboard.type("carte grise")
    options = page.locator("#search-suggestions [role=option]")
    expect(options.first).to_be_visible()

    page.keyboard.press("Escape")
    expect(options).to_have_count(0)
    expect(page.locator("#q-header")).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#q-header")).to_have_value("carte grise")
    page.wait_for_timeout(400)  # a late suggestion answer must not reopen the list
    expect(options).to_have_count(0)

    page.keyboard.press("Escape")
    expect(page.locator("#q-header")).to_have_value("")
    expect(page.locator("#q-header")).to_be_focused()

    page.keyboard.press("Escape")
    assert active(page)["text"] == before["text"]
    assert page.url.endswith(f"/themes?commune={DOCELLES}"), "Escape in the box never navigates"


def test_arrows_move_through_the_choices_and_enter_opens_one(page):
    page.goto(f"/themes?commune={DOCELLES}")
    links = choices(page)
    total = links.count()
    assert total > 3
    page.keyboard.press("ArrowDown")  # from the page itself to the first choice
    expect(links.nth(0)).to_be_focused()
    assert_focus_ring(page)
    page.keyboard.press("ArrowDown")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("ArrowUp")  # stops at the first
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("End")
    expect(links.nth(total - 1)).to_be_focused()
    page.keyboard.press("Home")
    expect(links.nth(0)).to_be_focused()

    while "Logement" not in active(page)["text"]:
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/themes/logement\?commune=88135$"))
    heading = page.locator("#main h1")
    expect(heading).to_be_focused()  # the htmx swap moved the focus to the new heading
    page.keyboard.press("ArrowDown")
    expect(choices(page).nth(0)).to_be_focused()


def test_escape_goes_back_one_step_of_the_tree(page):
    page.goto(f"/themes/logement?commune={DOCELLES}")
    first_step = page.locator("#main h1").inner_text()
    page.keyboard.press("ArrowDown")
    while "Aide au logement (APL)" not in active(page)["text"]:
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/questions/"))
    question_url = page.url
    second_step = page.locator("#main h1").inner_text()
    assert second_step != first_step
    page.keyboard.press("ArrowDown")
    while active(page)["text"] != "Non":
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/orientation\?need=aide-logement&"))

    # Back through the history the desk made: result -> question -> theme.
    page.keyboard.press("Escape")
    expect(page).to_have_url(question_url)
    expect(page.locator("#main h1")).to_have_text(second_step)
    expect(page.locator("#main h1")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/themes/logement\?commune=88135$"))
    expect(page.locator("#main h1")).to_have_text(first_step)


def test_escape_on_a_result_opened_directly_goes_to_the_parent_step(page):
    page.goto(f"/orientation?need=aide-logement&commune={DOCELLES}")
    parent = page.locator("#main nav.breadcrumb a").last
    href = parent.get_attribute("href")
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("#main h1")).to_be_focused()
    # The first page of the session stays: nothing of this site lies behind it.
    page.goto(f"/themes?commune={DOCELLES}")
    page.keyboard.press("Escape")
    assert page.url.endswith(f"/themes?commune={DOCELLES}")


# Runs in the page: after the next swap of #main, click the new content's first choice in
# the very next task (what a quick Enter does) and note whether htmx took the click. The
# answer goes to sessionStorage: it must survive a whole-page load if htmx did not.
CLICK_AT_ONCE = """() => {
  document.addEventListener("htmx:afterSwap", function swapped(event) {
    if (event.detail.target.id !== "main") return;
    document.removeEventListener("htmx:afterSwap", swapped);
    setTimeout(() => {
      const link = document.querySelector("#main .choices a[href]");
      document.addEventListener("click", e => {
        sessionStorage.setItem("handled", String(e.defaultPrevented));
      }, {once: true});
      link.click();
    }, 0);
  });
}"""


def test_a_choice_pressed_at_once_after_a_swap_is_still_an_htmx_step(page):
    """A quick keyboard user (or a busy PC) presses Enter as soon as the new step shows: the
    link must already be handled by htmx, or the browser loads a whole page and the focus
    and the Escape history are lost."""
    page.goto(f"/themes?commune={DOCELLES}")
    page.evaluate(CLICK_AT_ONCE)
    page.locator("#main .choices a", has_text="Logement").click()
    page.wait_for_function("() => sessionStorage.getItem('handled') !== null")
    assert page.evaluate("() => sessionStorage.getItem('handled')") == "true"

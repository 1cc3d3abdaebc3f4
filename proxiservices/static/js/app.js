/* Proxiservices – keyboard and htmx enhancements. Every page works without this file
   (links and forms load whole pages); it only makes the desk faster without a mouse.

   Keys (the browser tests in tests/browser/test_keyboard.py rely on this list):
   /               Outside a field: focus the search box (#q-header) and select its text.
   ↓ ↑             In the search box: move through the suggestions (#search-suggestions
                   [role=option], marked aria-selected, the box's aria-activedescendant
                   points at it; wraps around). A refreshed list keeps the chosen one
                   when it is still there.
   Entrée          In the search box: open the chosen suggestion; with none chosen, search
                   (results page). On a focused link of a list: opens it (the browser does).
   Échap           In the search box: close the suggestions; if none are shown, clear the
                   box; if it is already empty, give the focus back to where it was before /.
   ↓ ↑             On a link of a list of choices (main .choices: themes, answers of a
                   question, search results, communes): focus the next / previous link,
                   across the lists of the page; stops at both ends.
   Début / Fin     On such a link: focus the first / last choice.
   ↓               With the focus on the page itself or on its heading (h1): focus the
                   first choice of the page, if it has any.
   ↓               In the commune field (#commune-q): focus the first commune found;
                   ↑ on the first commune goes back to the field.
   Échap           Outside a field, on a step of the tree or a result (a page whose main
                   content has a breadcrumb, nav.breadcrumb) and when no field of the page
                   was changed: back one step – history.back() when the previous page is one
                   of ours, else the parent step (a.back-link, or the breadcrumb's last link).
   After an htmx navigation (content of #main replaced, or a history restore), the focus
   goes to the new content's first heading (h1, tabindex=-1), or to the error summary
   (.error-summary) when the page has one, and the page title is written to #announcer
   (aria-live) when there is no heading to focus. */
(function () {
  "use strict";

  var BOX = "q-header";
  // Set when the search is sent or the list closed; a suggestion request still waiting
  // (the debounce) or on its way must then not reopen the list. Typing clears it.
  var listClosed = false;
  // How many of the previous history entries are known to be pages of this site.
  var depth = document.referrer.indexOf(window.location.origin + "/") === 0 ? 1 : 0;
  // Where the focus was when "/" moved it to the search box.
  var beforeSearch = null;

  function box() { return document.getElementById(BOX); }
  function main() { return document.getElementById("main"); }
  function options() { return Array.prototype.slice.call(document.querySelectorAll("#search-suggestions [role=option]")); }
  function choices() { return Array.prototype.slice.call(document.querySelectorAll("#main .choices a[href]")); }
  function status(text) { var s = document.getElementById("search-status"); if (s) s.textContent = text; }
  function announce(text) { var a = document.getElementById("announcer"); if (a) a.textContent = text; }
  function modified(event) { return event.ctrlKey || event.metaKey || event.altKey; }

  function isField(el) {
    var tag = (el.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }

  function closeSuggestions() {
    listClosed = true;
    var list = document.getElementById("search-suggestions");
    if (list) list.innerHTML = "";
    var input = box();
    if (input) {
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
  }

  function activate(index) {
    var all = options();
    if (!all.length) return;
    index = (index + all.length) % all.length;
    all.forEach(function (option, i) { option.setAttribute("aria-selected", i === index ? "true" : "false"); });
    box().setAttribute("aria-activedescendant", all[index].id);
    all[index].scrollIntoView({ block: "nearest" });
  }

  function activeIndex() {
    return options().findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }

  function choose(option) {
    if (option && option.dataset.href) window.location.assign(option.dataset.href);
  }

  // The new content's heading (or its error summary) takes the focus after an htmx navigation.
  function focusContent() {
    var root = main();
    if (!root) return;
    var target = root.querySelector(".error-summary") || root.querySelector("h1");
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: true });
    } else {
      announce(document.title);
    }
  }

  // A field of the main content whose value differs from the one the page came with.
  function changedField() {
    var root = main();
    if (!root) return false;
    return Array.prototype.some.call(root.querySelectorAll("input, textarea, select"), function (f) {
      if (f.type === "hidden" || f.type === "submit" || f.type === "button") return false;
      if (f.type === "checkbox" || f.type === "radio") return f.checked !== f.defaultChecked;
      if (f.tagName.toLowerCase() === "select") {
        return Array.prototype.some.call(f.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return f.value !== f.defaultValue;
    });
  }

  function stepBack() {
    var root = main();
    if (!root || !root.querySelector("nav.breadcrumb") || changedField()) return false;
    if (depth > 0) {
      window.history.back();
      return true;
    }
    var crumbs = root.querySelectorAll("nav.breadcrumb a[href]");
    var parent = root.querySelector("a.back-link") || crumbs[crumbs.length - 1];
    if (!parent) return false;
    parent.click();
    return true;
  }

  // "/" focuses the search box from anywhere, unless the user is typing.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || modified(event) || isField(event.target)) return;
    var input = box();
    if (input) {
      event.preventDefault();
      beforeSearch = document.activeElement;
      input.focus();
      input.select();
    }
  });

  // In the search box: arrows move through the suggestions, Enter opens, Escape closes/clears.
  document.addEventListener("keydown", function (event) {
    if (event.target.id !== BOX || modified(event)) return;
    var all = options();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      var current = activeIndex();
      activate(event.key === "ArrowDown" ? current + 1 : (current < 0 ? all.length - 1 : current - 1));
    } else if (event.key === "Enter") {
      var index = activeIndex();
      if (index >= 0) {
        event.preventDefault();
        choose(all[index]);
      } else {
        closeSuggestions();
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      var input = box();
      if (all.length || document.querySelector("#search-suggestions .suggestion-empty")) {
        closeSuggestions();
        status("Suggestions fermées");
      } else if (input.value) {
        input.value = "";
        closeSuggestions();
        status("Recherche effacée");
      } else {
        var back = beforeSearch && document.contains(beforeSearch) && beforeSearch !== input ? beforeSearch : main();
        beforeSearch = null;
        if (back) back.focus({ preventScroll: true });
      }
    }
  });

  // Lists of choices: arrows move from link to link, Home/End jump; Enter is the link's own.
  document.addEventListener("keydown", function (event) {
    if (modified(event) || event.shiftKey || event.defaultPrevented) return;
    var key = event.key;
    if (key !== "ArrowDown" && key !== "ArrowUp" && key !== "Home" && key !== "End") return;
    var target = event.target;
    var all = choices();
    if (target.id === "commune-q") {
      if (key !== "ArrowDown" || !all.length) return;
      var first = document.querySelector("#commune-results a[href]");
      if (first) {
        event.preventDefault();
        first.focus();
      }
      return;
    }
    if (isField(target) || !all.length) return;
    var index = all.indexOf(target);
    if (index < 0) {
      var onPage = target === document.body || target === main() || (target.tagName === "H1" && main().contains(target));
      if (key === "ArrowDown" && onPage) {
        event.preventDefault();
        all[0].focus();
      }
      return;
    }
    event.preventDefault();
    if (key === "ArrowUp" && index === 0 && target.closest("#commune-results")) {
      document.getElementById("commune-q").focus();
      return;
    }
    var next = key === "Home" ? 0 : key === "End" ? all.length - 1 : index + (key === "ArrowDown" ? 1 : -1);
    all[Math.max(0, Math.min(all.length - 1, next))].focus();
  });

  // Escape outside the fields: back one step of the tree.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || modified(event) || event.defaultPrevented || isField(event.target)) return;
    if (options().length) {
      closeSuggestions();
      event.preventDefault();
      return;
    }
    if (stepBack()) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest("#search-suggestions [role=option]");
    if (option) {
      choose(option);
    } else if (!(event.target.closest && event.target.closest(".search-combo"))) {
      closeSuggestions();
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.id === BOX) listClosed = false;
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === BOX && listClosed) event.preventDefault();
    // A search sent while suggestions were still on their way must not reopen the list.
    if (elt && elt.classList && elt.classList.contains("header-search")) {
      htmx.trigger(box(), "htmx:abort");
      closeSuggestions();
    }
  });

  // The suggestion chosen with the arrows, kept when a later answer refreshes the list.
  var chosenHref = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "search-suggestions") {
      if (listClosed) {
        event.detail.shouldSwap = false;
        return;
      }
      var index = activeIndex();
      chosenHref = index >= 0 ? options()[index].dataset.href : null;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "search-suggestions") {
      var count = options().length;
      box().setAttribute("aria-expanded", count ? "true" : "false");
      box().removeAttribute("aria-activedescendant");
      status(count ? count + (count > 1 ? " démarches proposées, flèches pour choisir" : " démarche proposée, flèche bas pour la choisir")
                   : (box().value.trim() ? "Aucune démarche trouvée" : ""));
      var kept = options().findIndex(function (o) { return chosenHref && o.dataset.href === chosenHref; });
      if (kept >= 0) activate(kept);
      chosenHref = null;
    }
    if (target && target.id === "main") {
      closeSuggestions();
      window.scrollTo(0, 0);
      focusContent();
    }
  });

  document.addEventListener("htmx:pushedIntoHistory", function () { depth += 1; });
  window.addEventListener("popstate", function () { depth = Math.max(0, depth - 1); });
  document.addEventListener("htmx:historyRestore", function () {
    closeSuggestions();
    focusContent();
  });
})();

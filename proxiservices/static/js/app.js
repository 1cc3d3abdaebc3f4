// Small progressive enhancements; the pages work without this file.
(function () {
  "use strict";

  var BOX = "q-header";
  // Set when the search is sent or the list closed; a suggestion request still waiting
  // (the debounce) or on its way must then not reopen the list. Typing clears it.
  var listClosed = false;

  function box() { return document.getElementById(BOX); }
  function options() { return Array.prototype.slice.call(document.querySelectorAll("#search-suggestions [role=option]")); }
  function status(text) { var s = document.getElementById("search-status"); if (s) s.textContent = text; }

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

  // "/" focuses the search box from anywhere, unless the user is typing.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    var input = box();
    if (input) {
      event.preventDefault();
      input.focus();
      input.select();
    }
  });

  // Arrows move through the suggestions, Enter opens the active one (or searches), Escape closes.
  document.addEventListener("keydown", function (event) {
    if (event.target.id !== BOX) return;
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
    } else if (event.key === "Escape" && all.length) {
      event.preventDefault();
      closeSuggestions();
    }
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
    if (event.detail.elt && event.detail.elt.id === BOX && listClosed) event.preventDefault();
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "search-suggestions" && listClosed) {
      event.detail.shouldSwap = false;
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
    }
    // After a page-content swap, move focus to the new heading so screen readers announce it.
    if (target && target.id === "main") {
      closeSuggestions();
      var heading = document.querySelector("#main h1");
      if (heading) heading.focus();
      window.scrollTo(0, 0);
    }
  });

  // A search sent while suggestions were still on their way must not reopen the list.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.classList && event.detail.elt.classList.contains("header-search")) {
      htmx.trigger(box(), "htmx:abort");
      closeSuggestions();
    }
  });
})();

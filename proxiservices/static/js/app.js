// Small progressive enhancements; the pages work without this file.
(function () {
  "use strict";

  // "/" focuses the search box from anywhere, unless the user is typing.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    var box = document.getElementById("q-header");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // After a page-content swap, move focus to the new heading so screen readers announce it.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "main") {
      var heading = document.querySelector("#main h1");
      if (heading) heading.focus();
      window.scrollTo(0, 0);
    }
  });
})();

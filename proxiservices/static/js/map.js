// The map page (/carte): markers for the places listed on the page. The list is the
// page's content and works without this file; the map only repeats it. Markers are read
// from the list items (data-latitude, data-longitude, data-name, data-detail, data-url),
// so the map and the list can never disagree, and an htmx swap of the list (the kind
// filter) redraws the markers.
(function () {
  "use strict";

  if (window.proxiservicesMap) return; // loaded twice (history restore): one set of listeners
  window.proxiservicesMap = true;

  var state = null; // {element, map, markers}

  function number(value) {
    var parsed = parseFloat(value);
    return isFinite(parsed) ? parsed : null;
  }

  function escapeHtml(text) {
    return String(text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function attribution(element) {
    var text = escapeHtml(element.dataset.tileAttribution || "");
    var url = element.dataset.tileAttributionUrl || "";
    if (/^https?:\/\//.test(url)) return '<a href="' + escapeHtml(url) + '" rel="noopener">' + text + "</a>";
    return text;
  }

  // Places at the same point (a permanence at its host site) share one marker.
  function groups() {
    var byPoint = {};
    var order = [];
    document.querySelectorAll("#map-results .map-place").forEach(function (item) {
      var lat = number(item.dataset.latitude);
      var lon = number(item.dataset.longitude);
      if (lat === null || lon === null) return;
      var key = lat.toFixed(6) + "," + lon.toFixed(6);
      if (!byPoint[key]) {
        byPoint[key] = { latlng: [lat, lon], places: [] };
        order.push(key);
      }
      byPoint[key].places.push({ name: item.dataset.name, detail: item.dataset.detail, url: item.dataset.url });
    });
    return order.map(function (key) { return byPoint[key]; });
  }

  function popup(places) {
    var box = document.createElement("div");
    box.className = "map-popup";
    places.forEach(function (place) {
      var line = document.createElement("p");
      var link = document.createElement("a");
      link.href = place.url;
      link.textContent = place.name;
      line.appendChild(link);
      box.appendChild(line);
      if (place.detail) {
        var detail = document.createElement("p");
        detail.className = "map-popup-detail";
        detail.textContent = place.detail;
        box.appendChild(detail);
      }
    });
    return box;
  }

  function drawMarkers() {
    if (!state) return;
    state.markers.clearLayers();
    groups().forEach(function (group) {
      var label = group.places.map(function (p) { return p.name; }).join(" ; ");
      L.marker(group.latlng, { title: label, alt: label, keyboard: true })
        .bindPopup(popup(group.places))
        .addTo(state.markers);
    });
    var bounds = state.markers.getLayers().length ? state.markers.getBounds() : null;
    if (bounds && bounds.isValid()) {
      state.map.fitBounds(bounds.pad(0.08), { maxZoom: 14 });
    }
  }

  function tileTrouble(element) {
    var note = document.getElementById("map-note");
    if (note) note.textContent = "Le fond de carte ne se charge pas : la liste ci-dessous donne les mêmes lieux, du plus proche au plus éloigné.";
  }

  function init() {
    var element = document.getElementById("map");
    if (!element || !window.L || (state && state.element === element)) return;
    var lat = number(element.dataset.latitude);
    var lon = number(element.dataset.longitude);
    if (lat === null || lon === null || !element.dataset.tileUrl) return;
    var block = document.getElementById("map-block");
    if (block) block.hidden = false;
    var map = L.map(element, { scrollWheelZoom: false }).setView([lat, lon], 11);
    var warned = false;
    L.tileLayer(element.dataset.tileUrl, { maxZoom: 19, attribution: attribution(element) })
      .on("tileerror", function () {
        if (!warned) { warned = true; tileTrouble(element); }
      })
      .addTo(map);
    L.circleMarker([lat, lon], { radius: 7, weight: 3, interactive: false }).addTo(map);
    state = { element: element, map: map, markers: L.featureGroup().addTo(map) };
    drawMarkers();
  }

  init();
  document.addEventListener("DOMContentLoaded", init);
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "map-results") drawMarkers();
    else init(); // a whole page swapped in (back button): a new map element
  });
})();

/* The console's maps (pages_map.py): the ward map, and the point picker of the report forms.
 *
 * Loaded on every page (small); Leaflet itself (static/leaflet, BSD-2-Clause) is loaded only when a page has an
 * element with data-map. Under the console's Content-Security-Policy: no inline script or style, no eval; the
 * page's data come from the element's data-geo attribute (JSON; a <script> data block would be dropped by htmx's
 * swap of a boosted page), and every text from the services is put in the map as text (textContent), never HTML. Started again after an htmx swap (a boosted link or form).
 */
(function () {
  "use strict";

  var loading = null;

  function leaflet() {
    if (window.L) { return Promise.resolve(window.L); }
    if (loading) { return loading; }
    loading = new Promise(function (resolve, reject) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = "/static/leaflet/leaflet.css";
      document.head.appendChild(css);
      var js = document.createElement("script");
      js.src = "/static/leaflet/leaflet.js";
      js.onload = function () { resolve(window.L); };
      js.onerror = reject;
      document.head.appendChild(js);
    });
    return loading;
  }

  function data(el) {
    try { return JSON.parse(el.getAttribute("data-geo") || "{}"); } catch (e) { return {}; }
  }

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value === null || value === undefined ? "" : String(value);
    if (cls) { node.className = cls; }
    return node;
  }

  function base(L, el) {
    var map = L.map(el, { scrollWheelZoom: false });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
    }
    var center = (el.getAttribute("data-center") || "21.0285,105.8542,15").split(",");
    map.setView([parseFloat(center[0]), parseFloat(center[1])], parseInt(center[2], 10));
    return map;
  }

  function areasLayer(L, areas) {
    return L.geoJSON(areas || { type: "FeatureCollection", features: [] }, {
      className: "group-area",  // a path's class is taken when it is made, not from style()
      style: function () { return { color: "#1d4ed8", weight: 2, fillOpacity: 0.06 }; },
      onEachFeature: function (feature, layer) {
        var name = (feature.properties || {}).name;
        if (name) { layer.bindTooltip(text("span", name), { sticky: true }); }
      }
    });
  }

  function fit(map, layers) {
    for (var i = 0; i < layers.length; i++) {
      var b = layers[i].getBounds();
      if (b.isValid()) { map.fitBounds(b, { padding: [16, 16], maxZoom: 18 }); return; }
    }
  }

  function popup(el, props, words) {
    var box = document.createElement("div");
    box.appendChild(text("strong", (words.categories || {})[props.category] || props.category));
    box.appendChild(text("div", (words.states || {})[props.state] || props.state));
    if (props.group_name) { box.appendChild(text("div", props.group_name)); }
    box.appendChild(text("div", (words.precision || {})[props.precision] || props.precision));
    if (props.supporters) { box.appendChild(text("div", words.supporters + ": " + props.supporters)); }
    var link = el.getAttribute("data-link");
    if (link && props.incident_id) {
      var a = text("a", words.open);
      a.href = link.replace("{id}", encodeURIComponent(props.incident_id));
      box.appendChild(a);
    }
    return box;
  }

  function wardMap(L, el) {
    var d = data(el), words = d.words || {};
    var map = base(L, el);
    var areas = areasLayer(L, d.areas).addTo(map);
    var markers = L.geoJSON(d.markers || { type: "FeatureCollection", features: [] }, {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties || {};
        if (p.precision === "approximate") {  // rounded to about 100 m: drawn as the square-ish area it may be in
          return L.circle(latlng, { radius: 70, color: "#b45309", weight: 2, dashArray: "4 4", fillOpacity: 0.15,
                                    className: "marker-approximate" });
        }
        return L.circleMarker(latlng, { radius: 7, color: "#991b1b", weight: 2, fillColor: "#dc2626",
                                        fillOpacity: 0.9, className: "marker-exact" });
      },
      onEachFeature: function (feature, layer) {
        var p = Object.assign({}, feature.properties || {});
        p.group_name = (d.group_names || {})[p.group_id] || "";
        layer.bindPopup(popup(el, p, words));
      }
    }).addTo(map);
    fit(map, [areas, markers]);
    el.setAttribute("data-ready", String(markers.getLayers().length));
  }

  function picker(L, el) {
    var d = data(el);
    var hasAreas = d.areas && d.areas.features && d.areas.features.length;
    if (!el.getAttribute("data-tiles") && !hasAreas) { return; }  // nothing to pick on: the fields are enough
    el.hidden = false;
    var lat = document.getElementById(el.getAttribute("data-lat"));
    var lon = document.getElementById(el.getAttribute("data-lon"));
    var map = base(L, el);
    var areas = areasLayer(L, d.areas).addTo(map);
    fit(map, [areas]);
    var mark = null;
    function place(latlng, move) {
      if (!mark) { mark = L.circleMarker(latlng, { radius: 8, color: "#991b1b", className: "picked" }).addTo(map); }
      mark.setLatLng(latlng);
      if (move) { map.panTo(latlng); }
    }
    function fromFields() {
      var a = parseFloat((lat.value || "").replace(",", ".")), b = parseFloat((lon.value || "").replace(",", "."));
      if (isFinite(a) && isFinite(b)) { place([a, b], true); }
    }
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      place(e.latlng, false);
    });
    lat.addEventListener("change", fromFields);
    lon.addEventListener("change", fromFields);
    fromFields();
    el.setAttribute("data-ready", "1");
  }

  function start(root) {
    var els = (root || document).querySelectorAll("[data-map]:not([data-started])");
    if (!els.length) { return; }
    leaflet().then(function (L) {
      Array.prototype.forEach.call(els, function (el) {
        el.setAttribute("data-started", "1");
        if (el.getAttribute("data-map") === "ward") { wardMap(L, el); } else { picker(L, el); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { start(document); });
  document.addEventListener("htmx:load", function (e) { start(e.target); });
}());

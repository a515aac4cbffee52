/*
 * The small map of the OGC API's HTML pages (/ogc/collections/<id>/items and one feature).
 *
 * Reads the page's GeoJSON from the #ogc-features JSON script (written by Django's json_script,
 * so user text cannot end the script element), draws it with Leaflet and fits the view to it.
 * Popups are built with textContent: titles are user text and never become HTML.
 */
(function () {
  "use strict";
  var options = document.currentScript.dataset;
  var data = JSON.parse(document.getElementById("ogc-features").textContent);
  var map = L.map("ogc-map", { scrollWheelZoom: false });
  if (options.tileUrl) {
    // The attribution is the site's configuration (MAPIDEAS_TILE_ATTRIBUTION), not user text.
    L.tileLayer(options.tileUrl, { maxZoom: 19, attribution: options.tileAttribution }).addTo(map);
  }
  var layer = L.geoJSON(data, {
    pointToLayer: function (_feature, latlng) {
      return L.circleMarker(latlng, {
        radius: 7,
        weight: 2,
        color: "#ffffff",
        fillColor: "#1d4ed8",
        fillOpacity: 0.9,
      });
    },
    style: function () {
      return { color: "#1d4ed8", weight: 2, fillOpacity: 0.1 };
    },
    onEachFeature: function (feature, featureLayer) {
      var box = document.createElement("div");
      var name = feature.properties ? feature.properties[options.titleProperty] : null;
      box.textContent = name === undefined || name === null ? String(feature.id) : String(name);
      featureLayer.bindPopup(box);
    },
  }).addTo(map);
  var bounds = layer.getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
  } else {
    map.setView([0, 0], 1);
  }
})();

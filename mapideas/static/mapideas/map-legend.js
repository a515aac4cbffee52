/*
 * The citizen map's legend: what each pin colour and a cluster's bubble mean.
 *
 *   MapIdeas.mapLegend(map, kinds)  adds the legend to the Leaflet `map`, drawn from `kinds`,
 *                                   the very table the map's pins are coloured from
 *                                   (pin-map.js, PIN_KINDS: [{kind, color, label}, …]), and
 *                                   a cluster drawn as the map draws one (.cluster-bubble in
 *                                   site.css): no second copy of any colour.
 *
 * A <details> element in a Leaflet control: a native, keyboard-reachable toggle that screen
 * readers announce as expandable. Open on wide screens; closed on narrow ones (a phone's map
 * is short), where its summary is one small button over the map. Clicks and scrolls on it stay
 * on it: a tap there must not drop a pin or move the map. Its words go through gettext (the
 * page's JavaScript catalog) and are set as text. Loaded before pin-map.js (_map.html).
 */
(function () {
  "use strict";
  var MapIdeas = (window.MapIdeas = window.MapIdeas || {});
  // The site's small-screen breakpoint (site.css): the map sits above the form there.
  var NARROW = "(max-width: 760px)";
  var CLUSTER_SAMPLE = 12;

  MapIdeas.mapLegend = function (map, kinds) {
    var el = MapIdeas.el;
    var Legend = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = el("details", null, "map-legend leaflet-control");
        box.id = "map-legend";
        box.open = !window.matchMedia(NARROW).matches;
        box.appendChild(el("summary", gettext("Legend")));
        var items = el("ul");
        kinds.forEach(function (entry) {
          var item = el("li", null, "map-legend-kind");
          item.dataset.kind = entry.kind;
          var swatch = el("span", null, "map-legend-pin");
          swatch.style.backgroundColor = entry.color;
          swatch.setAttribute("aria-hidden", "true");
          item.appendChild(swatch);
          item.appendChild(el("span", entry.label));
          items.appendChild(item);
        });
        var cluster = el("li", null, "map-legend-cluster");
        var locale = document.documentElement.lang || "en-US";
        var bubble = el("span", CLUSTER_SAMPLE.toLocaleString(locale), "cluster-bubble");
        bubble.setAttribute("aria-hidden", "true");
        cluster.appendChild(bubble);
        cluster.appendChild(el("span", gettext("Pins close together, with how many: select to zoom in.")));
        items.appendChild(cluster);
        box.appendChild(items);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      },
    });
    return new Legend().addTo(map);
  };
})();

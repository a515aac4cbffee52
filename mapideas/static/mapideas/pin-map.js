/*
 * MapIdeas' own map code, run after folium has built the Leaflet map.
 *
 * - Loads what is in view from /api/ideas/viewport/ (bbox and zoom): the pins when they are
 *   few or the map is zoomed in far, listed beside the map as a text alternative; else
 *   clusters with exact counts, drawn as bubbles sized by count that zoom in when clicked or
 *   when Enter is pressed on them (each is a tab stop). Not on a team's workspace
 *   (data-server-pins), whose map is drawn from its filtered queue on the server.
 * - On the citizen page, a click or tap fills the latitude/longitude fields and shows where the
 *   pin will go; typing coordinates moves that marker, so no mouse is needed. Wherever the pin
 *   is placed, /api/route/ says which team and neighborhood it will go to, and names the
 *   neighborhood over the border when the pin is within a few metres of one.
 * - The new pin's marker can be dragged to adjust it: the fields and the hint follow. Each move
 *   fires a "pin:placed" event on the form (pin-assist.js looks for similar pins nearby).
 * - Popups and lists are built with textContent: pin titles are user text and never become HTML.
 * - Its words go through gettext/ngettext/interpolate (Django's JavaScriptCatalog, loaded by
 *   base.html) in the page's language; the strings are then set as text, never as HTML. A
 *   pin's status and category words come from the page's vocabulary (vocabulary.js), its
 *   requests go through api.js: both loaded before it (_map.html).
 * - Pins are coloured by kind from PIN_KINDS, the one table the legend (map-legend.js, on the
 *   maps that load pins from the API) is drawn from too.
 */
(function () {
  "use strict";
  var options = document.currentScript.dataset;
  var map = window[options.map];
  if (!map) {
    return;
  }
  var pins = L.layerGroup().addTo(map);
  var list = document.getElementById("pins-in-view");
  var status = document.getElementById("pins-status");
  var pageSize = parseInt(options.pageSize || "500", 10);
  var CLUSTER_ZOOM_STEP = 2; // zoom levels a click on a cluster goes in
  var pending = null;
  // Numbers as the page's language writes them ("1,234" in English, "1.234" in Dutch).
  var LOCALE = document.documentElement.lang || "en-US";
  var vocabulary = window.MapIdeas.vocabulary;
  var api = window.MapIdeas.api;

  // Text set as text, never as markup (vocabulary.js).
  var el = window.MapIdeas.el;

  // How each kind of pin is drawn, and named in the legend. Both colours keep 3:1 against
  // the white ring and a light base map (WCAG 1.4.11).
  var PIN_KINDS = [
    { kind: "idea", color: "#1d4ed8", label: gettext("Idea") },
    { kind: "issue", color: "#c2410c", label: gettext("Issue") },
  ];
  var KIND_COLORS = {};
  PIN_KINDS.forEach(function (entry) { KIND_COLORS[entry.kind] = entry.color; });

  function popupFor(props) {
    var box = el("div", null, "pin-popup");
    box.appendChild(el("strong", props.title));
    box.appendChild(el("div", (props.kind === "issue" ? gettext("Issue") : gettext("Idea")) + " · " +
      vocabulary.category(props.category)));
    box.appendChild(el("div", interpolate(gettext("Team: %(team)s"), { team: props.team }, true)));
    box.appendChild(el("div", interpolate(gettext("Status: %(status)s"), {
      status: vocabulary.status(props.status),
    }, true)));
    var link = el("a", gettext("Open"));
    link.href = props.url;
    box.appendChild(link);
    return box;
  }

  // The number in "%(count)s pins …", written as the page's language writes numbers.
  function counted(format, n) {
    return interpolate(format, { count: n.toLocaleString(LOCALE) }, true);
  }

  function zoomInto(latlng) {
    map.setView(latlng, Math.min(map.getZoom() + CLUSTER_ZOOM_STEP, 18));
  }

  // A cluster: a round bubble, wider for more pins, with its count as text. A marker, not a
  // circle marker, so that it is a tab stop: Enter zooms in like a click.
  function showCluster(feature) {
    var count = feature.properties.count;
    var coords = feature.geometry.coordinates;
    var latlng = L.latLng(coords[1], coords[0]);
    var size = Math.round(26 + 8 * Math.log10(Math.max(count, 1)));
    var bubble = el("div", count.toLocaleString(LOCALE), "cluster-bubble");
    bubble.style.width = bubble.style.height = bubble.style.lineHeight = size + "px";
    var marker = L.marker(latlng, {
      icon: L.divIcon({ html: bubble, className: "cluster-icon", iconSize: [size, size] }),
      keyboard: true,
      title: counted(ngettext("%(count)s pin here: zoom in", "%(count)s pins here: zoom in", count), count),
      bubblingMouseEvents: false,
    });
    marker.on("click", function () { zoomInto(latlng); });
    marker.addTo(pins);
    var node = marker.getElement();
    if (node) {
      node.setAttribute("role", "button");
      node.setAttribute("aria-label",
        counted(ngettext("%(count)s pin here: zoom in", "%(count)s pins here: zoom in", count), count));
      node.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault(); // no keypress after it, so no second zoom
          zoomInto(latlng);
        }
      });
    }
  }

  function show(collection) {
    pins.clearLayers();
    if (list) {
      list.textContent = "";
    }
    if (collection.mode === "clusters") {
      collection.features.forEach(showCluster);
      if (status) {
        status.textContent = counted(ngettext(
          "%(count)s pin in view — zoom in to list them.",
          "%(count)s pins in view — zoom in to list them.",
          collection.total), collection.total);
      }
      return;
    }
    collection.features.forEach(function (feature) {
      var props = feature.properties;
      var coords = feature.geometry.coordinates;
      var marker = L.circleMarker([coords[1], coords[0]], {
        radius: 7,
        weight: 2,
        color: "#ffffff",
        fillColor: KIND_COLORS[props.kind] || KIND_COLORS.idea,
        fillOpacity: 0.9,
        bubblingMouseEvents: false,
      });
      marker.bindPopup(popupFor(props));
      marker.addTo(pins);
      if (list) {
        var item = el("li");
        var link = el("a", props.title);
        link.href = props.url;
        item.appendChild(link);
        item.appendChild(el("span", " — " + props.team + ", " + props.neighborhood, "muted"));
        list.appendChild(item);
      }
    });
    if (status) {
      var shown = collection.features.length;
      var total = collection.total !== undefined ? collection.total : collection.count;
      status.textContent =
        total > shown
          ? interpolate(ngettext(
            "Showing the newest %(shown)s of %(total)s pin in view. Zoom in to see the others.",
            "Showing the newest %(shown)s of %(total)s pins in view. Zoom in to see the others.",
            total), { shown: shown, total: total }, true)
          : interpolate(ngettext("%(count)s pin in view.", "%(count)s pins in view.", shown), { count: shown }, true);
    }
  }

  function load() {
    var b = map.getBounds();
    var bbox = [
      Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90),
      Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90),
    ].map(function (n, i) {
      // Rounded outward (west and south down, east and north up): no pin at an edge is lost.
      var round = i < 2 ? Math.floor : Math.ceil;
      return (round(n * 1e6) / 1e6).toFixed(6);
    }).join(",");
    var params = options.viewportApi
      ? new URLSearchParams({ bbox: bbox, zoom: String(Math.max(0, Math.min(22, Math.round(map.getZoom())))) })
      : new URLSearchParams({ bbox: bbox, page_size: String(pageSize) });
    if (options.team) {
      params.set("team", options.team);
    }
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    api.getJSON(options.viewportApi || options.api, params, { signal: pending.signal })
      .then(show)
      .catch(function (error) {
        if (error.name !== "AbortError" && status) {
          status.textContent = interpolate(gettext("The pins could not be loaded (%(error)s)."),
            { error: error.message }, true);
        }
      });
  }

  // Neighborhood names are readable from zoom 12; below that they would pile up.
  function toggleLabels() {
    map.getContainer().classList.toggle("labels-hidden", map.getZoom() < 12);
  }

  map.on("zoomend", toggleLabels);
  toggleLabels();
  // A team's workspace draws its filtered queue on the server (the same queryset as its
  // list): loading pins from the API on top would show another set.
  if (!options.serverPins) {
    window.MapIdeas.mapLegend(map, PIN_KINDS);
    map.on("moveend", load);
    load();
  }

  if (options.focusLat && options.focusLon) {
    var here = [parseFloat(options.focusLat), parseFloat(options.focusLon)];
    L.marker(here, { title: gettext("This pin"), keyboard: true }).addTo(map);
    map.setView(here, Math.max(map.getZoom(), 15));
  }

  var form = options.form && document.getElementById(options.form);
  if (form) {
    var lat = form.querySelector("[name=latitude]");
    var lon = form.querySelector("[name=longitude]");
    var category = form.querySelector("[name=category]");
    var hint = document.getElementById("route-hint");
    var draft = null;
    var routeTimer = null;
    var routePending = null;
    var routeAsked = 0; // answers to any but the latest question are stale and dropped

    var coordinates = function () {
      var y = parseFloat(lat.value);
      var x = parseFloat(lon.value);
      if (isFinite(y) && isFinite(x) && Math.abs(y) <= 90 && Math.abs(x) <= 180) {
        return [y, x];
      }
      return null;
    };
    var sayRoute = function (answer) {
      hint.textContent = "";
      hint.className = "route-hint";
      hint.appendChild(el("p", interpolate(gettext("This pin will go to %(team)s (%(neighborhood)s)."), {
        team: answer.team,
        neighborhood: answer.neighborhood ||
          gettext("outside every neighborhood: the city-wide team sorts it out"),
      }, true)));
      if (answer.also_in.length) {
        hint.appendChild(el("p", interpolate(gettext("It lies in the area of %(teams)s too, who will see it."),
          { teams: answer.also_in.join(", ") }, true)));
      }
      if (answer.near_border) {
        var metres = Math.max(1, Math.ceil(answer.border_distance_m));
        hint.appendChild(el("p", interpolate(
          gettext("It is within %(metres)s m of %(neighborhood)s: move the pin if it belongs there."),
          { metres: metres, neighborhood: answer.other_side }, true), "route-hint-border"));
      }
    };
    var sayRefusal = function (text) {
      hint.textContent = "";
      hint.className = "route-hint route-hint-refused";
      hint.appendChild(el("p", text));
    };
    var askRoute = function () {
      if (!hint || !options.routeApi) {
        return;
      }
      window.clearTimeout(routeTimer);
      var here = coordinates();
      if (!here) {
        routeAsked += 1;
        hint.textContent = "";
        return;
      }
      routeTimer = window.setTimeout(function () {
        var asked = (routeAsked += 1);
        if (routePending) {
          routePending.abort();
        }
        routePending = new AbortController();
        api.route(options.routeApi, {
          lat: here[0],
          lon: here[1],
          category: category ? category.value : "",
        }, { signal: routePending.signal })
          .then(function (answer) {
            if (asked !== routeAsked) {
              return;
            }
            if (answer.refused !== undefined) {
              sayRefusal(answer.refused);
            } else {
              sayRoute(answer.preview);
            }
          })
          .catch(function (error) {
            if (error.name !== "AbortError" && asked === routeAsked) {
              sayRefusal(interpolate(gettext("Where this pin goes could not be checked (%(error)s)."),
                { error: error.message }, true));
            }
          });
      }, 250);
    };

    // Tells other scripts (pin-assist.js: similar pins nearby) that the pin moved.
    var announcePlaced = function () {
      form.dispatchEvent(new CustomEvent("pin:placed", { bubbles: true }));
    };
    var placeDraft = function (latlng) {
      if (draft) {
        draft.setLatLng(latlng);
      } else {
        // Draggable: a tap is rarely exactly right on a phone; dragging adjusts it, and the
        // fields and the team hint follow as after a click.
        draft = L.marker(latlng, { title: gettext("Your new pin"), keyboard: false, draggable: true })
          .addTo(map);
        draft.on("dragend", function () {
          var moved = draft.getLatLng();
          lat.value = moved.lat.toFixed(6);
          lon.value = moved.lng.toFixed(6);
          askRoute();
          announcePlaced();
        });
      }
    };
    var fromFields = function () {
      var here = coordinates();
      if (here) {
        placeDraft(here);
        announcePlaced();
      }
    };
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lon.value = event.latlng.lng.toFixed(6);
      placeDraft(event.latlng);
      askRoute();
      announcePlaced();
    });
    lat.addEventListener("change", fromFields);
    lon.addEventListener("change", fromFields);
    // While typing: asked once the typing pauses (askRoute waits, and drops stale answers).
    lat.addEventListener("input", askRoute);
    lon.addEventListener("input", askRoute);
    if (category) {
      category.addEventListener("change", askRoute); // category rules may send it elsewhere
    }
    fromFields();
    askRoute();
    // After a refused submission the errors sit below the map, out of sight on a phone:
    // bring the first field that needs fixing into view.
    var firstError = form.querySelector(
      ".has-error input, .has-error textarea, .has-error select"
    );
    if (firstError) {
      firstError.focus();
    }
  }
})();

/*
 * MapIdeas' own map code, run after folium has built the Leaflet map.
 *
 * - Loads the pins in view from /api/ideas/ (bounded by bbox and page size) and lists them
 *   beside the map as a text alternative; not on a team's workspace (data-server-pins),
 *   whose map is drawn from its filtered queue on the server.
 * - On the citizen page, a click or tap fills the latitude/longitude fields and shows where the
 *   pin will go; typing coordinates moves that marker, so no mouse is needed. Wherever the pin
 *   is placed, /api/route/ says which team and neighborhood it will go to, and names the
 *   neighborhood over the border when the pin is within a few metres of one.
 * - Popups and lists are built with textContent: pin titles are user text and never become HTML.
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
  var pending = null;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function popupFor(props) {
    var box = el("div", null, "pin-popup");
    box.appendChild(el("strong", props.title));
    box.appendChild(el("div", (props.kind === "issue" ? "Issue" : "Idea") + " · " + props.category_name));
    box.appendChild(el("div", "Team: " + props.team));
    box.appendChild(el("div", "Status: " + props.status.replace("_", " ")));
    var link = el("a", "Open");
    link.href = props.url;
    box.appendChild(link);
    return box;
  }

  function show(collection) {
    pins.clearLayers();
    if (list) {
      list.textContent = "";
    }
    collection.features.forEach(function (feature) {
      var props = feature.properties;
      var coords = feature.geometry.coordinates;
      var marker = L.circleMarker([coords[1], coords[0]], {
        radius: 7,
        weight: 2,
        color: "#ffffff",
        fillColor: props.kind === "issue" ? "#c2410c" : "#1d4ed8",
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
      status.textContent =
        collection.count > shown
          ? "Showing the newest " + shown + " of " + collection.count + " pins in view. Zoom in to see the others."
          : shown + (shown === 1 ? " pin" : " pins") + " in view.";
    }
  }

  function load() {
    var b = map.getBounds();
    var bbox = [
      Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90),
      Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90),
    ].map(function (n) { return n.toFixed(6); }).join(",");
    var params = new URLSearchParams({ bbox: bbox, page_size: String(pageSize) });
    if (options.team) {
      params.set("team", options.team);
    }
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    fetch(options.api + "?" + params.toString(), {
      headers: { Accept: "application/json" },
      signal: pending.signal,
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(show)
      .catch(function (error) {
        if (error.name !== "AbortError" && status) {
          status.textContent = "The pins could not be loaded (" + error.message + ").";
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
    map.on("moveend", load);
    load();
  }

  if (options.focusLat && options.focusLon) {
    var here = [parseFloat(options.focusLat), parseFloat(options.focusLon)];
    L.marker(here, { title: "This pin", keyboard: true }).addTo(map);
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
      hint.appendChild(el("p",
        "This pin will go to " + answer.team + " (" +
        (answer.neighborhood || "outside every neighborhood: the city-wide team sorts it out") +
        ")."));
      if (answer.also_in.length) {
        hint.appendChild(el("p", "It lies in the area of " + answer.also_in.join(", ") +
          " too, who will see it."));
      }
      if (answer.near_border) {
        var metres = Math.max(1, Math.ceil(answer.border_distance_m));
        hint.appendChild(el("p", "It is within " + metres + " m of " + answer.other_side +
          ": move the pin if it belongs there.", "route-hint-border"));
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
        var params = new URLSearchParams({ lon: here[1].toFixed(6), lat: here[0].toFixed(6) });
        if (category && category.value) {
          params.set("category", category.value);
        }
        if (routePending) {
          routePending.abort();
        }
        routePending = new AbortController();
        fetch(options.routeApi + "?" + params.toString(), {
          headers: { Accept: "application/json" },
          signal: routePending.signal,
        })
          .then(function (response) {
            return response.json().then(function (body) {
              return { ok: response.ok, status: response.status, body: body };
            });
          })
          .then(function (result) {
            if (asked !== routeAsked) {
              return;
            }
            if (result.ok) {
              sayRoute(result.body);
            } else if (result.status === 400 && result.body && result.body.location) {
              sayRefusal(result.body.location.join(" "));
            } else {
              throw new Error("HTTP " + result.status);
            }
          })
          .catch(function (error) {
            if (error.name !== "AbortError" && asked === routeAsked) {
              sayRefusal("Where this pin goes could not be checked (" + error.message + ").");
            }
          });
      }, 250);
    };

    var placeDraft = function (latlng) {
      if (draft) {
        draft.setLatLng(latlng);
      } else {
        draft = L.marker(latlng, { title: "Your new pin", keyboard: false }).addTo(map);
      }
    };
    var fromFields = function () {
      var here = coordinates();
      if (here) {
        placeDraft(here);
      }
    };
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lon.value = event.latlng.lng.toFixed(6);
      placeDraft(event.latlng);
      askRoute();
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

/*
 * The map's place search: type a neighborhood, street or place name and the map goes there.
 *
 * Asks GET /api/places/?q= (the city's own names, and the external geocoder when the city set
 * one up) as the citizen types, after a pause. The results are a list of buttons: ArrowDown
 * from the box goes into the list, ArrowUp/ArrowDown move in it, Escape goes back to the box;
 * Enter in the box picks the first result. The map fits the result's box, and the aria-live
 * status says where it went. Names are user data (imported files, the geocoder): set with
 * textContent only. Its words go through gettext/ngettext/interpolate (Django's
 * JavaScriptCatalog, base.html); a place's kind is data, except "neighborhood", which is ours.
 * Its requests go through api.js, loaded before it (_map.html).
 *
 * Options (data-* on the <form role="search">): data-api (the places API), data-map (the
 * global name of the folium map).
 */
(function () {
  "use strict";
  var form = document.getElementById("place-search");
  if (!form || !window.fetch) {
    return;
  }
  var map = window[form.dataset.map];
  var input = form.querySelector("input[name=q]");
  var list = document.getElementById("place-search-results");
  var status = document.getElementById("place-search-status");
  var timer = null;
  var pending = null;
  var asked = 0; // answers to any but the latest question are stale and dropped
  var latest = { q: null, results: [] };

  // The kinds of place the city's own data gives; others (street, park...) come as imported.
  function kindOf(place) {
    return place.kind === "neighborhood" ? gettext("neighborhood") : place.kind;
  }

  function clearList() {
    list.textContent = "";
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  function go(place) {
    var b = place.bbox;
    if (map) {
      if (b[0] === b[2] && b[1] === b[3]) {
        map.setView([place.lat, place.lon], Math.max(map.getZoom(), 17));
      } else {
        // No closer than zoom 18: a point-sized box would zoom in as far as Leaflet goes.
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 18 });
      }
    }
    clearList();
    input.value = place.name;
    status.textContent = interpolate(gettext("The map shows %(place)s (%(kind)s)."),
      { place: place.name, kind: kindOf(place) }, true);
    form.dispatchEvent(new CustomEvent("place:chosen", { detail: place, bubbles: true }));
  }

  function show(q, body) {
    latest = { q: q, results: body.results };
    list.textContent = "";
    body.results.forEach(function (place, index) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "place-result";
      button.dataset.index = String(index);
      var name = document.createElement("span");
      name.textContent = place.name;
      var kind = document.createElement("span");
      kind.className = "muted";
      kind.textContent = " — " + kindOf(place);
      button.appendChild(name);
      button.appendChild(kind);
      button.addEventListener("click", function () {
        go(place);
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    list.hidden = body.results.length === 0;
    input.setAttribute("aria-expanded", body.results.length ? "true" : "false");
    var said = body.results.length
      ? interpolate(ngettext(
        "%(count)s place found: press the down arrow to choose, or Enter for the first.",
        "%(count)s places found: press the down arrow to choose, or Enter for the first.",
        body.results.length), { count: body.results.length }, true)
      : interpolate(gettext("No place called “%(query)s” in this city."), { query: q }, true);
    status.textContent = body.note ? said + " " + body.note : said;
  }

  function ask(q) {
    var mine = (asked += 1);
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    return window.MapIdeas.api.getJSON(form.dataset.api, { q: q }, { signal: pending.signal })
      .then(function (body) {
        if (mine === asked) {
          show(q, body);
        }
        return mine === asked ? body : null;
      })
      .catch(function (error) {
        if (error.name !== "AbortError" && mine === asked) {
          status.textContent = interpolate(gettext("The place search did not answer (%(error)s)."),
            { error: error.message }, true);
        }
        return null;
      });
  }

  function query() {
    return input.value.trim().slice(0, 100);
  }

  input.setAttribute("aria-expanded", "false");
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    var q = query();
    if (!q) {
      asked += 1;
      clearList();
      status.textContent = "";
      return;
    }
    timer = window.setTimeout(function () {
      ask(q);
    }, 250);
  });

  // Enter (or the Go button) takes the first result, asking first if the answer is not in.
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    var q = query();
    if (!q) {
      return;
    }
    if (latest.q === q && latest.results.length) {
      go(latest.results[0]);
      return;
    }
    ask(q).then(function (body) {
      if (body && body.results.length) {
        go(body.results[0]);
      }
    });
  });

  function buttons() {
    return Array.prototype.slice.call(list.querySelectorAll("button"));
  }

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && !list.hidden) {
      event.preventDefault();
      var first = buttons()[0];
      if (first) {
        first.focus();
      }
    } else if (event.key === "Escape") {
      clearList();
    }
  });

  list.addEventListener("keydown", function (event) {
    var all = buttons();
    var at = all.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < all.length - 1) {
      event.preventDefault();
      all[at + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      (at > 0 ? all[at - 1] : input).focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      clearList();
      input.focus();
    }
  });
})();

/*
 * Help while placing and writing a pin on the citizen page, next to pin-map.js:
 *
 * - "Use my location": the browser's geolocation, checked against /api/route/ (which says
 *   whether the city takes a pin there) before the pin is placed; a clear message when the
 *   browser refuses, cannot tell, takes too long, or the place is outside the city.
 * - "Similar pins nearby": once a pin is placed and a title or description typed (after a
 *   pause), /api/ideas/similar/ lists open pins near it about the same thing, within a radius
 *   that follows the map's zoom, each with "Support this instead", which posts to the pin's
 *   support form with the page's CSRF token.
 *
 * - The consent to share one's contact with the city's work-order system (#contact-consent)
 *   is shown once there is a contact to share: an email typed. Without this script it is
 *   always shown (the server keeps it only with a contact); someone signed in has no email
 *   field, and always sees it.
 *
 * The pin's fields are set as if typed ("input" and "change" events), so pin-map.js moves its
 * marker and asks where the pin goes. Titles are user text: set with textContent only.
 * Its words go through gettext/ngettext/interpolate (Django's JavaScriptCatalog, base.html);
 * a pin's status words come from the page's vocabulary (vocabulary.js), its requests go
 * through api.js: both loaded before it (_map.html).
 *
 * Options (data-* on this script): data-map-name (not data-map: tests find pin-map.js by it),
 * data-form, data-route-api, data-similar-api.
 */
(function () {
  "use strict";
  var options = document.currentScript.dataset;
  var map = window[options.mapName];
  var form = document.getElementById(options.form);

  // --- The consent to share one's contact (first: it needs neither the map nor fetch) ------
  var consent = document.getElementById("contact-consent");
  var email = form && form.querySelector("[name=email]");
  if (consent && email) {
    var showConsent = function () {
      consent.hidden = !email.value.trim();
    };
    email.addEventListener("input", showConsent);
    email.addEventListener("change", showConsent);
    showConsent();
    // drafts.js, which runs after this script, may put back a draft's email.
    document.addEventListener("DOMContentLoaded", showConsent);
  }

  if (!form || !map || !window.fetch) {
    return;
  }
  var lat = form.querySelector("[name=latitude]");
  var lon = form.querySelector("[name=longitude]");
  var title = form.querySelector("[name=title]");
  var description = form.querySelector("[name=description]");
  var category = form.querySelector("[name=category]");
  var vocabulary = window.MapIdeas.vocabulary;
  var api = window.MapIdeas.api;

  // Text set as text, never as markup (vocabulary.js).
  var el = window.MapIdeas.el;

  function setField(field, value) {
    field.value = value;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // --- Use my location -------------------------------------------------------------------
  var locate = document.getElementById("locate-me");
  var locateStatus = document.getElementById("locate-status");
  var GEO_MESSAGES = {
    1: gettext("Your browser did not share your location. Allow it in the browser's site settings, " +
      "or search for a place or tap the map instead."),
    2: gettext("Your location is not available right now (no GPS or network fix). Search for a place " +
      "or tap the map instead."),
    3: gettext("Finding your location took too long. Try again, or search for a place or tap the map."),
  };

  function sayLocate(text, refused) {
    locateStatus.textContent = text;
    locateStatus.className = refused ? "locate-status locate-refused" : "locate-status";
  }

  function placeHere(position) {
    var y = position.coords.latitude;
    var x = position.coords.longitude;
    api.route(options.routeApi, { lat: y, lon: x, category: category ? category.value : "" })
      .then(function (answer) {
        if (answer.refused !== undefined) {
          sayLocate(interpolate(gettext("You seem to be outside the city, so a pin cannot go " +
            "where you are (%(reason)s). Search for a place or tap the map instead."),
            { reason: answer.refused }, true), true);
          return;
        }
        setField(lat, y.toFixed(6));
        setField(lon, x.toFixed(6));
        map.setView([y, x], Math.max(map.getZoom(), 17));
        var accuracy = Math.round(position.coords.accuracy || 0);
        var where = answer.preview.neighborhood || gettext("the city");
        sayLocate(accuracy
          ? interpolate(gettext("The pin is where you are (to within about %(metres)s m), " +
            "in %(place)s. Drag it to adjust."), { metres: accuracy, place: where }, true)
          : interpolate(gettext("The pin is where you are, in %(place)s. Drag it to adjust."),
            { place: where }, true), false);
      })
      .catch(function (error) {
        sayLocate(interpolate(gettext("Your location could not be checked (%(error)s)."),
          { error: error.message }, true), true);
      });
  }

  if (locate && locateStatus) {
    if (!navigator.geolocation) {
      locate.hidden = true;
    } else {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        sayLocate(gettext("Finding your location…"), false);
        navigator.geolocation.getCurrentPosition(placeHere, function (error) {
          sayLocate(GEO_MESSAGES[error.code] || gettext("Your location is not available."), true);
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    }
  }

  // --- Similar pins nearby ---------------------------------------------------------------
  var section = document.getElementById("similar-pins");
  var similarList = document.getElementById("similar-pins-list");
  var similarStatus = document.getElementById("similar-pins-status");
  var similarTimer = null;
  var similarPending = null;
  var similarAsked = 0;
  // Pin id -> the confirmation, once supported from here: kept when the list is redrawn.
  var supported = {};
  var lastThanks = "";

  function coordinates() {
    var y = parseFloat(lat.value);
    var x = parseFloat(lon.value);
    if (isFinite(y) && isFinite(x) && Math.abs(y) <= 90 && Math.abs(x) <= 180) {
      return [y, x];
    }
    return null;
  }

  function support(pin, button, said) {
    button.disabled = true;
    api.post(pin.support_url)
      .then(function () {
        supported[pin.id] = interpolate(gettext("Thank you: you support “%(title)s”. Its team sees it " +
          "has your support; you need not send a new pin about it."), { title: pin.title }, true);
        said.textContent = supported[pin.id];
        lastThanks = supported[pin.id]; // said by the list's live status after the redraw
        button.textContent = gettext("Supported");
        askSimilar(0); // the support counts, fresh
      })
      .catch(function (error) {
        button.disabled = false;
        said.textContent = interpolate(gettext("The support could not be sent (%(error)s)."), {
          error: error.status === 429
            ? gettext("too many supports from your network; try again later")
            : error.message,
        }, true);
      });
  }

  function showSimilar(pins) {
    similarList.textContent = "";
    section.hidden = pins.length === 0;
    pins.forEach(function (pin) {
      var item = el("li", null, "similar-pin");
      var link = el("a", pin.title);
      link.href = pin.url;
      link.id = "similar-pin-" + pin.id;
      item.appendChild(link);
      item.appendChild(el("span", " — " + interpolate(ngettext(
        "%(metres)s m away, %(status)s, %(count)s supporter",
        "%(metres)s m away, %(status)s, %(count)s supporters",
        pin.support_count), {
        metres: Math.round(pin.distance_m),
        status: vocabulary.status(pin.status),
        count: pin.support_count,
      }, true), "muted"));
      var button = el("button", supported[pin.id] ? gettext("Supported") : gettext("Support this instead"),
        "support-instead secondary-button");
      button.type = "button";
      button.disabled = !!supported[pin.id];
      // Named by its visible words (WCAG 2.5.3, label in name), described by the pin's title.
      button.setAttribute("aria-describedby", link.id);
      var said = el("p", supported[pin.id] || null, "support-said");
      said.setAttribute("role", "status");
      button.addEventListener("click", function () {
        support(pin, button, said);
      });
      item.appendChild(button);
      item.appendChild(said);
      similarList.appendChild(item);
    });
    similarStatus.textContent = lastThanks || (pins.length
      ? interpolate(ngettext(
        "%(count)s similar pin nearby: you may support one instead of sending a new pin.",
        "%(count)s similar pins nearby: you may support one instead of sending a new pin.",
        pins.length), { count: pins.length }, true)
      : "");
    lastThanks = "";
  }

  function askSimilar(delay) {
    if (!section || !options.similarApi) {
      return;
    }
    window.clearTimeout(similarTimer);
    var here = coordinates();
    var words = (title ? title.value : "").trim() + (description ? description.value : "").trim();
    if (!here || !words) {
      similarAsked += 1;
      showSimilar([]);
      return;
    }
    similarTimer = window.setTimeout(function () {
      var mine = (similarAsked += 1);
      var params = new URLSearchParams({
        lat: here[0].toFixed(6),
        lon: here[1].toFixed(6),
        title: title ? title.value.slice(0, 200) : "",
        description: description ? description.value.slice(0, 2000) : "",
        zoom: String(Math.max(0, Math.min(22, Math.round(map.getZoom())))),
      });
      if (category && category.value) {
        params.set("category", category.value);
      }
      if (similarPending) {
        similarPending.abort();
      }
      similarPending = new AbortController();
      api.getJSON(options.similarApi, params, { signal: similarPending.signal })
        .then(function (pins) {
          if (mine === similarAsked) {
            showSimilar(pins);
          }
        })
        .catch(function () {
          // Suggestions are a help, not a step: when they fail, the form works as before.
        });
    }, delay === undefined ? 400 : delay);
  }

  if (section) {
    [title, description].forEach(function (field) {
      if (field) {
        field.addEventListener("input", function () { askSimilar(); });
      }
    });
    if (category) {
      category.addEventListener("change", function () { askSimilar(); });
    }
    form.addEventListener("pin:placed", function () { askSimilar(); });
    map.on("zoomend", function () { askSimilar(); }); // the radius follows the zoom
    askSimilar();
  }
})();

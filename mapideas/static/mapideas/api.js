/*
 * The scripts' requests to this site, in one place: pin-map.js, pin-assist.js and
 * place-search.js call MapIdeas.api, loaded before them (templates/mapideas/_map.html).
 *
 *   MapIdeas.api.getJSON(url, params, { signal })
 *       GET url?params (an object or URLSearchParams), asking for JSON: a promise of the
 *       parsed answer. A `signal` (AbortController) cancels it; the promise then rejects
 *       with an AbortError, which callers ignore.
 *   MapIdeas.api.route(url, { lat, lon, category }, { signal })
 *       The route preview (GET /api/route/): where a pin placed there goes. A promise of
 *       { preview: the answer } or, when the city takes no pin there (a 400 naming the
 *       location), { refused: the reason, as the API words it }.
 *   MapIdeas.api.post(url, fields)
 *       POST a page's form (fields as an object) with the page's CSRF token, for its effect:
 *       a promise of the Response.
 *
 * Any answer but 2xx rejects with an Error whose message is "HTTP <status>" (shown to the
 * citizen inside a sentence), with `status` and `body` (the answer's JSON, or null) for
 * callers that tell answers apart. Requests carry the session and language cookies
 * (same-origin) and the browser's own Accept-Language, as the page did: the answers come in
 * the page's language.
 */
(function () {
  "use strict";
  var MapIdeas = (window.MapIdeas = window.MapIdeas || {});

  function failed(response) {
    // DRF's 400s name the bad fields in JSON; other failures may be an HTML error page.
    return response.json()
      .catch(function () {
        return null;
      })
      .then(function (body) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        error.body = body;
        throw error;
      });
  }

  function getJSON(url, params, options) {
    var query = params ? new URLSearchParams(params).toString() : "";
    return fetch(query ? url + "?" + query : url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: options && options.signal,
    }).then(function (response) {
      return response.ok ? response.json() : failed(response);
    });
  }

  function route(url, where, options) {
    var params = { lat: where.lat.toFixed(6), lon: where.lon.toFixed(6) };
    // Without a category no category rule applies (an empty one is "not chosen yet").
    if (where.category) {
      params.category = where.category;
    }
    return getJSON(url, params, options).then(
      function (preview) {
        return { preview: preview };
      },
      function (error) {
        // A point outside the city names both coordinates it was given.
        if (error.status === 400 && error.body && error.body.lat) {
          return { refused: error.body.lat.join(" ") };
        }
        throw error;
      }
    );
  }

  // Every page has one (the language switcher's form in base.html); Django accepts any of a
  // session's tokens.
  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function post(url, fields) {
    var token = csrfToken();
    var body = new URLSearchParams(fields || {});
    body.set("csrfmiddlewaretoken", token);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token },
    }).then(function (response) {
      return response.ok ? response : failed(response);
    });
  }

  MapIdeas.api = { getJSON: getJSON, route: route, post: post };
})();

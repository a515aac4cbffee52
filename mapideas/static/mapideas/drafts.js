/*
 * Drafts of a new pin, kept in this browser (localStorage) until the pin is sent: a reload,
 * a closed tab or a lost connection on a phone loses nothing.
 *
 * - As the citizen types (and as the pin moves), the form's fields are saved: kind,
 *   category, title, description, latitude, longitude, email and name. Never the photo (a
 *   file cannot be kept) nor the CSRF token.
 * - On a page with an empty form, a saved draft is put back, with a notice and a "Discard
 *   draft" button. A form the server sent back filled (a refused submission) is left as it is
 *   and saved over the draft.
 * - The draft is kept while the pin is being sent: if the connection drops, it is still there.
 *   It is removed when the server says the pin arrived: the "sent" message
 *   (.message-idea-sent, from views.home) on the page after the redirect. Loaded on every page
 *   for that reason (base.html); it does nothing else where there is no pin form.
 */
(function () {
  "use strict";
  var KEY = "mapideas:pin-draft";
  var FIELDS = ["kind", "category", "title", "description", "latitude", "longitude", "email",
    "name"];
  var storage;
  try {
    storage = window.localStorage;
    storage.getItem(KEY); // private modes may refuse any use
  } catch (error) {
    return;
  }

  if (document.querySelector(".message-idea-sent")) {
    storage.removeItem(KEY);
  }
  // Only the citizen's own pin form (home.html marks it): staff entering offline input for
  // one resident after another must start from an empty form each time.
  var form = document.querySelector("form[data-draft]");
  if (!form) {
    return;
  }
  var notice = document.getElementById("draft-notice");
  var discard = document.getElementById("draft-discard");
  var timer = null;

  function fields(name) {
    return Array.prototype.slice.call(form.querySelectorAll("[name='" + name + "']"));
  }

  function read() {
    var values = {};
    FIELDS.forEach(function (name) {
      fields(name).forEach(function (field) {
        if (field.type === "radio") {
          if (field.checked) {
            values[name] = field.value;
          }
        } else {
          values[name] = field.value;
        }
      });
    });
    return values;
  }

  function hasContent(values) {
    return ["title", "description", "latitude", "longitude"].some(function (name) {
      return values[name] && values[name].trim();
    });
  }

  function save() {
    var values = read();
    try {
      if (hasContent(values)) {
        storage.setItem(KEY, JSON.stringify({ saved: Date.now(), fields: values }));
      } else {
        storage.removeItem(KEY);
      }
    } catch (error) {
      // Storage full or refused: the form still works, without a draft.
    }
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 300);
  }

  function restore(values) {
    FIELDS.forEach(function (name) {
      if (!(name in values)) {
        return;
      }
      fields(name).forEach(function (field) {
        if (field.type === "radio") {
          field.checked = field.value === values[name];
        } else if (field.tagName === "SELECT") {
          // Only a value the list still has (a category may have been retired since).
          if (Array.prototype.some.call(field.options, function (o) {
            return o.value === values[name];
          })) {
            field.value = values[name];
          }
        } else {
          field.value = String(values[name]).slice(0, field.maxLength > 0 ? field.maxLength : 100000);
        }
      });
    });
    // As if typed: pin-map.js moves the marker and says where the pin goes; pin-assist.js
    // looks for similar pins.
    ["latitude", "longitude", "title", "category"].forEach(function (name) {
      fields(name).forEach(function (field) {
        field.dispatchEvent(new Event("input", { bubbles: true }));
        field.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  var saved = null;
  try {
    saved = JSON.parse(storage.getItem(KEY) || "null");
  } catch (error) {
    storage.removeItem(KEY);
  }
  if (saved && saved.fields && !hasContent(read())) {
    restore(saved.fields);
    if (notice) {
      notice.hidden = false;
    }
  }

  // A form with content already (the server sent it back filled, or the citizen typed before
  // this script ran, on a slow phone): saved now, over any older draft, not at the next key.
  if (hasContent(read())) {
    save();
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("pin:placed", later);
  // Saved at once before leaving, so nothing typed in the last 300 ms is lost.
  window.addEventListener("pagehide", save);
  form.addEventListener("submit", save);

  if (discard) {
    discard.addEventListener("click", function () {
      window.clearTimeout(timer);
      storage.removeItem(KEY);
      form.reset();
      ["latitude", "longitude", "title"].forEach(function (name) {
        fields(name).forEach(function (field) {
          field.value = "";
          field.dispatchEvent(new Event("input", { bubbles: true }));
        });
      });
      if (notice) {
        notice.textContent = gettext("Draft discarded.");
      }
      storage.removeItem(KEY);
    });
  }
})();

/*
 * The page's words for what the API gives as codes: a pin's status and its category.
 *
 * The server writes them once per page, in the page's language, as the JSON script
 * #page-vocabulary ({% page_vocabulary %} in mapideas/templatetags/mapideas_tags.py: the
 * labels of Idea.Status and the categories' names). The scripts keep no copy of these words:
 * they ask MapIdeas.vocabulary, loaded before them (templates/mapideas/_map.html).
 *
 *   MapIdeas.vocabulary.status(code)    "under review": the status's label as a word inside
 *                                       a sentence ("Status: …", "12 m away, …, 3 supporters")
 *   MapIdeas.vocabulary.category(slug)  "Parks and green space": the category's name
 *
 * A code the vocabulary lacks (a status or category added after the page was written) is
 * shown as it is: one rule, here.
 *
 *   MapIdeas.el(tag, text, className)  a new element whose text is set as text, never parsed
 *                                       as markup: how the scripts put words, the API's and
 *                                       the citizens', on the page
 */
(function () {
  "use strict";
  var MapIdeas = (window.MapIdeas = window.MapIdeas || {});
  var node = document.getElementById("page-vocabulary");
  var words = node ? JSON.parse(node.textContent) : {};
  var statuses = words.statuses || {};
  var categories = words.categories || {};
  // Lower case as the page's language writes it: the labels start with a capital (a form's
  // choices, a heading), a word inside a sentence does not (the server's sentences lower it
  // too: mapideas.workflow.statuses.label).
  var LOCALE = document.documentElement.lang || "en-US";

  function word(table, code) {
    return Object.prototype.hasOwnProperty.call(table, code) ? table[code] : code;
  }

  MapIdeas.el = function (tag, text, className) {
    var element = document.createElement(tag);
    if (text !== undefined && text !== null) {
      element.textContent = text;
    }
    if (className) {
      element.className = className;
    }
    return element;
  };

  MapIdeas.vocabulary = {
    status: function (code) {
      return String(word(statuses, code)).toLocaleLowerCase(LOCALE);
    },
    category: function (slug) {
      return word(categories, slug);
    },
  };

  if (!node) {
    // A page that loads this file without {% page_vocabulary %}: the codes are shown, and
    // the error says why (the browser tests fail on it).
    throw new Error("vocabulary.js: the page has no #page-vocabulary ({% page_vocabulary %})");
  }
})();

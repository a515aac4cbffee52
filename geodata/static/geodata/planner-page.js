/* The planner page, once the script runs: sort buttons in the column headers of every
   table[data-sortable] (aria-sort says the order), a filter on the rows' first columns for
   every input[data-filters], and on a phone the filters folded so the summary is on the first
   screen. Without it the tables read as the server sent them and the filters stay open. */
(function () {
  "use strict";

  // A cell's value for sorting: its data-sort number ("" is no figure, always last), else
  // its text.
  function value(row, column) {
    var cell = row.cells[column];
    if (!cell) return null;
    if (cell.hasAttribute("data-sort")) {
      var key = cell.getAttribute("data-sort");
      return key === "" ? null : parseFloat(key);
    }
    return cell.textContent.trim();
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
  }

  function sortBy(table, header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th[aria-sort]").forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var column = header.cellIndex;
    var rows = Array.prototype.slice.call(body.rows).map(function (row, index) {
      return { row: row, value: value(row, column), index: index };
    });
    rows.sort(function (a, b) {
      // No figure goes last whichever the direction; equal values keep their order.
      if (a.value === null || b.value === null) {
        return (a.value === null) - (b.value === null) || a.index - b.index;
      }
      return (ascending ? 1 : -1) * compare(a.value, b.value) || a.index - b.index;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
  }

  function sortable(table) {
    if (table.tBodies.length === 0 || table.tBodies[0].rows.length < 2) return;
    table.querySelectorAll("thead th[scope=col]").forEach(function (header) {
      // The button holds the header's own words: its name is the column's name.
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (header.firstChild) button.appendChild(header.firstChild);
      header.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, header); });
    });
  }

  function filterable(input) {
    var table = document.getElementById(input.getAttribute("data-filters"));
    if (!table || table.tBodies.length === 0) return;
    var status = document.getElementById(input.id + "-status");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    // The neighborhood (the row's header) and its team.
    var columns = [0, 1];
    var box = input.closest(".table-filter");
    if (box) box.hidden = false; // shown only where it works
    input.addEventListener("input", function () {
      var wanted = input.value.trim().toLocaleLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var text = columns.map(function (i) {
          return row.cells[i] ? row.cells[i].textContent : "";
        }).join(" ").toLocaleLowerCase();
        row.hidden = wanted !== "" && text.indexOf(wanted) === -1;
        if (!row.hidden) shown += 1;
      });
      if (status) {
        status.textContent = wanted === "" ? "" : interpolate(ngettext(
          "%(shown)s of %(total)s neighborhood shown",
          "%(shown)s of %(total)s neighborhoods shown",
          rows.length), { shown: shown, total: rows.length }, true);
      }
    });
  }

  var filters = document.getElementById("filters-box");
  if (filters && !filters.hasAttribute("data-keep-open") &&
      window.matchMedia("(max-width: 760px)").matches) {
    filters.open = false;
  }
  document.querySelectorAll("table[data-sortable]").forEach(sortable);
  document.querySelectorAll("input[data-filters]").forEach(filterable);
})();

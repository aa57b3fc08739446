// The class view's student table: sort by any column, filter by name and status. Offline, no
// library; without it the page is the same table, unsorted and unfiltered.
(function () {
  "use strict";
  var table = document.getElementById("students");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.hasAttribute("data-student"); });
  var controls = document.getElementById("student-filters");
  var search = document.getElementById("filter-name");
  var status = document.getElementById("filter-status");
  var shown = document.getElementById("filter-count");
  controls.hidden = false;

  function value(row, index) {
    var cell = row.cells[index];
    var raw = cell.getAttribute("data-value");
    if (raw !== null && raw !== "" && !isNaN(Number(raw))) { return Number(raw); }
    return (raw !== null ? raw : cell.textContent).trim().toLowerCase();
  }

  function sortBy(th, index) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = value(a, index), y = value(b, index);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function filter() {
    var text = search.value.trim().toLowerCase();
    var wanted = status.value;
    var count = 0;
    rows.forEach(function (r) {
      var ok = (!text || r.getAttribute("data-student").toLowerCase().indexOf(text) >= 0) &&
               (!wanted || (" " + r.getAttribute("data-tags") + " ").indexOf(" " + wanted + " ") >= 0);
      r.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " shown";
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.title = "sort by this column";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    th.appendChild(button);
    button.addEventListener("click", function () { sortBy(th, index); });
  });
  search.addEventListener("input", filter);
  status.addEventListener("change", filter);
  filter();
})();

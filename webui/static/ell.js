// ell web: keyboard navigation. j/k move through rows of a `table.nav`, Enter opens the
// selected row, / focuses the search box, Escape leaves it. The selection survives live swaps
// (rows carry data-id), so new invocations arriving every 2 s do not lose your place.
(function () {
  "use strict";
  var selectedId = null;

  function rows() {
    var table = document.querySelector("table.nav");
    return table ? Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-href]")) : [];
  }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (!row) { selectedId = null; return; }
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    selectedId = row.getAttribute("data-id");
    row.scrollIntoView({ block: "nearest" });
  }

  function current() {
    return rows().filter(function (r) { return r.classList.contains("selected"); })[0] || null;
  }

  function move(delta) {
    var all = rows();
    if (!all.length) return;
    var i = all.indexOf(current());
    var next = i < 0 ? (delta > 0 ? 0 : all.length - 1) : Math.min(Math.max(i + delta, 0), all.length - 1);
    select(all[next]);
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (typing(ev.target)) {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    if (ev.key === "j") { move(1); ev.preventDefault(); }
    else if (ev.key === "k") { move(-1); ev.preventDefault(); }
    else if (ev.key === "Enter") {
      var row = current();
      if (row) { window.location.assign(row.getAttribute("data-href")); ev.preventDefault(); }
    } else if (ev.key === "/") {
      var search = document.querySelector("input[type=search]");
      if (search) { search.focus(); search.select(); ev.preventDefault(); }
    }
  });

  // A click anywhere on a row opens it (the first cell's link stays the accessible target).
  document.addEventListener("click", function (ev) {
    var row = ev.target.closest && ev.target.closest("table.nav tbody tr[data-href]");
    if (!row || ev.target.closest("a, button, input, select, summary")) return;
    window.location.assign(row.getAttribute("data-href"));
  });

  // After a live swap, put the selection back on the same row if it is still there.
  document.addEventListener("htmx:afterSwap", function () {
    if (!selectedId) return;
    var again = rows().filter(function (r) { return r.getAttribute("data-id") === selectedId; })[0];
    if (again) { again.classList.add("selected"); again.setAttribute("aria-selected", "true"); }
  });
})();

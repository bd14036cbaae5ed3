(function () {
  "use strict";
  // Filters the failures table. Reads cell text only through textContent; writes only text and attributes.
  var table = document.getElementById("failures");
  if (!table) {
    return;
  }
  var search = document.getElementById("filter-text");
  var capability = document.getElementById("filter-capability");
  var level = document.getElementById("filter-level");
  var count = document.getElementById("filter-count");
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);

  function apply() {
    var query = search.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var match = (!capability.value || row.getAttribute("data-capability") === capability.value) &&
        (!level.value || row.getAttribute("data-level") === level.value) &&
        (!query || row.textContent.toLowerCase().indexOf(query) !== -1);
      row.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    count.textContent = shown + " of " + rows.length + " shown";
    table.setAttribute("data-shown", String(shown));
  }

  // A link such as report.html#capability=edge_cases&level=complex&q=delete opens pre-filtered.
  var preset = new URLSearchParams(window.location.hash.slice(1));
  search.value = preset.get("q") || "";
  capability.value = preset.get("capability") || "";
  level.value = preset.get("level") || "";

  search.addEventListener("input", apply);
  capability.addEventListener("change", apply);
  level.addEventListener("change", apply);
  apply();
  document.body.setAttribute("data-filter-ready", "true");
})();

/* Plan calendar: fills a substitution's choices from the library search (same item type only). */
(function () {
  "use strict";
  var root = document.getElementById("cd-plan");
  if (!root) { return; }
  var S = JSON.parse(document.getElementById("cd-plan-strings").textContent);
  var url = root.getAttribute("data-library-url");
  Array.prototype.forEach.call(document.querySelectorAll(".cd-substitute-form"), function (form) {
    var q = form.querySelector(".cd-sub-q");
    var select = form.querySelector(".cd-sub-select");
    var timer = null;
    var search = function () {
      var params = new URLSearchParams({ type: form.getAttribute("data-type"), q: q.value, page_size: "30" });
      fetch(url + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          while (select.options.length > 1) { select.remove(1); }
          (body.results || []).forEach(function (entry) {
            select.add(new Option(entry.name, String(entry.item_id)));
          });
          if (!(body.results || []).length) { select.add(new Option(S.no_results, "")); }
        });
    };
    q.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(search, 250); });
    form.closest("details").addEventListener("toggle", function (ev) { if (ev.target.open) { search(); } });
  });
}());

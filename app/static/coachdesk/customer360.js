/* Customer 360: tabs load on click as HTML fragments from their own route (/customers/<id>/360/<tab>).
   Each tab is a plain link to the page with ?tab=, so the page works without this script. */
(function () {
  "use strict";
  var root = document.getElementById("cd-c360");
  if (!root) { return; }
  var errorBox = root.querySelector(".cd-c360-error");

  function panel(name) { return root.querySelector('.cd-c360-panel[data-tab="' + name + '"]'); }
  function tabLink(name) { return root.querySelector('.cd-c360-tabs a[data-tab="' + name + '"]'); }

  function show(name, pushUrl) {
    var link = tabLink(name);
    var target = panel(name);
    if (!link || !target) { return false; }
    root.querySelectorAll(".cd-c360-tabs a[data-tab]").forEach(function (a) {
      var on = a === link;
      a.setAttribute("aria-selected", on ? "true" : "false");
      a.parentElement.classList.toggle("active", on);
    });
    root.querySelectorAll(".cd-c360-panel").forEach(function (p) { p.hidden = p !== target; });
    if (errorBox) { errorBox.hidden = true; }
    if (pushUrl && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", link.getAttribute("href"));
    }
    if (target.getAttribute("data-loaded")) { return true; }
    target.setAttribute("aria-busy", "true");
    fetch(link.getAttribute("data-fragment"), { credentials: "same-origin", headers: { "X-Requested-With": "XMLHttpRequest" } })
      .then(function (resp) {
        if (!resp.ok) { throw new Error(String(resp.status)); }
        return resp.text();
      })
      .then(function (html) {
        target.innerHTML = html;
        target.setAttribute("data-loaded", "1");
      })
      .catch(function () { if (errorBox) { errorBox.hidden = false; } })
      .finally(function () { target.removeAttribute("aria-busy"); });
    return true;
  }

  root.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-tab], a[data-tab-link]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    var name = link.getAttribute("data-tab") || link.getAttribute("data-tab-link");
    if (show(name, true)) {
      event.preventDefault();
      if (link.hasAttribute("data-tab-link")) { tabLink(name).focus(); }
    }
  });
})();

/* /admin grids: the behaviour Flask-Admin wires with inline handlers, which the CSP forbids. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var confirmer = target.closest("[data-cd-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-cd-confirm"))) {
      event.preventDefault();
      return;
    }
    var action = target.closest("[data-cd-action]");
    if (action) {
      event.preventDefault();
      if (window.modelActions) { window.modelActions.execute(action.getAttribute("data-cd-action")); }
      return;
    }
    // Placeholder links (tabs, pagination, filter menu): never follow a javascript: URL.
    var link = target.closest("a[href^='javascript:']");
    if (link) { event.preventDefault(); }
  }, true);  // capture: Bootstrap's menus stop the click from bubbling to the document
})();

/* Coachdesk console: one searchable select widget (Select2, served by FAB) for every select of a form or a
   list's filters: relation pickers filled by the view's scoped autocomplete endpoint, local option lists
   searched in place. An Admin's "Raw JSON" disclosure of a generated JSON form ticks "save this JSON" when
   it is opened and unticks it when it is closed. */
(function ($) {
  "use strict";
  function width($el) {
    if ($el.attr("data-cd-width")) { return $el.attr("data-cd-width"); }  // an inline form's select sets its own
    // Inside the inline filter bar a select has no width of its own: Select2's "resolve" made 40 px stubs.
    return $el.closest(".cd-filters").length ? "style" : "100%";
  }
  function bindRawToggles() {
    document.querySelectorAll("details.cd-json-raw").forEach(function (details) {
      if (details.dataset.cdBound) { return; }
      details.dataset.cdBound = "1";
      details.addEventListener("toggle", function () {
        var box = details.querySelector("input.cd-json-use-raw");
        if (box) { box.checked = details.open; }
      });
    });
  }
  function searchable($el, options) {
    if ($el.data("select2")) { return; }
    try {
      $el.select2(options);
    } catch (err) {
      if (window.console) { window.console.error(err); }  // one odd select must not leave the rest plain
    }
  }
  $(function () {
    bindRawToggles();
    $("select.cd-autocomplete").each(function () {
      var $el = $(this);
      searchable($el, {
        theme: "bootstrap",
        width: width($el),
        allowClear: !$el.prop("required"),
        placeholder: $el.data("placeholder") || "",
        minimumInputLength: 0,
        ajax: {
          url: $el.data("url"),
          dataType: "json",
          delay: 250,
          data: function (params) { return { q: params.term || "", page: params.page || 1 }; },
          processResults: function (data) { return data; }
        }
      });
    });
    $("select.cd-select2, .cd-filters select:not(.cd-autocomplete)").each(function () {
      var $el = $(this);
      var options = { theme: "bootstrap", width: width($el) };
      if ($el.attr("data-placeholder")) { options.placeholder = $el.attr("data-placeholder"); }  // else "Any" stays
      searchable($el, options);
    });
  });
}(jQuery));

// Buttons that ask first (data-confirm): a delegated handler, since the CSP forbids inline onclick. Bound once,
// though a page may include this script twice (a form with a person picker).
if (!window.cdConfirmBound) {
  window.cdConfirmBound = true;
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  }, true);
}

/* Searchable select (Select2, served by FAB) for every select.cd-select2 of any page: long local option lists
   such as time zones, customers or tables. An inline form's select gives its width as data-cd-width, a
   multiple select its empty text as data-placeholder; data-cd-native-change for a page script's own listeners. */
(function ($) {
  "use strict";
  $(function () {
    $("select.cd-select2").each(function () {
      var $el = $(this);
      var options = { theme: "bootstrap", width: $el.attr("data-cd-width") || "100%" };
      // Only with data-placeholder: Select2 would otherwise show the empty option ("All coaches") as a blank.
      if ($el.attr("data-placeholder")) { options.placeholder = $el.attr("data-placeholder"); }
      $el.select2(options);
      if ($el.is("[data-cd-native-change]")) {
        // Select2 tells jQuery handlers only; a page script listening with addEventListener hears a real event.
        $el.on("select2:select select2:unselect", function () { this.dispatchEvent(new Event("change", { bubbles: true })); });
      }
    });
  });
}(jQuery));

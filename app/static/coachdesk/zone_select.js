/* Searchable select (Select2, served by FAB) for long local option lists such as time zones. */
(function ($) {
  "use strict";
  $(function () {
    $("select.cd-select2").each(function () {
      $(this).select2({ theme: "bootstrap", width: "100%" });
    });
  });
}(jQuery));

/* Coachdesk console: relation pickers filled by the view's scoped autocomplete endpoint. */
(function ($) {
  "use strict";
  $(function () {
    $("select.cd-autocomplete").each(function () {
      var $el = $(this);
      $el.select2({
        theme: "bootstrap",
        width: "resolve",
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
  });
}(jQuery));

/* Coachdesk charts: draw every figure embedded as JSON in a data-figure attribute.
   plotly.js is served by the application itself; nothing is fetched from the internet. */
(function () {
  "use strict";

  function draw(el) {
    var fig;
    try {
      fig = JSON.parse(el.getAttribute("data-figure"));
    } catch (e) {
      el.textContent = "Chart data could not be read.";
      return;
    }
    var config = {
      responsive: true,
      displaylogo: false,
      showLink: false,
      showSendToCloud: false,
      locale: document.documentElement.getAttribute("lang") || "en"
    };
    window.Plotly.newPlot(el, fig.data || [], fig.layout || {}, config);
  }

  function dropEmptyFields(form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && field.value === "") { field.disabled = true; }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Plotly) { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".cd-chart[data-figure]"), draw);
    Array.prototype.forEach.call(document.querySelectorAll("form.cd-chart-filters"), dropEmptyFields);
  });
})();

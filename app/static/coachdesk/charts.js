/* Coachdesk charts: draw every figure embedded as JSON in a data-figure attribute.
   plotly.js is served by the application itself; nothing is fetched from the internet.
   Charts in or near the viewport are drawn first; the others when they are scrolled near,
   so a dashboard's first paint does not wait for charts nobody has looked at yet. */
(function () {
  "use strict";

  function plotlyLocale() {
    var script = document.querySelector("script[data-plotly-locale]");
    return script ? script.getAttribute("data-plotly-locale") : "en";
  }

  function draw(el) {
    if (el.getAttribute("data-drawn")) { return; }
    el.setAttribute("data-drawn", "1");
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
      locale: plotlyLocale()
    };
    window.Plotly.newPlot(el, fig.data || [], fig.layout || {}, config);
  }

  function drawWhenNear(charts) {
    if (!("IntersectionObserver" in window)) {
      charts.forEach(draw);
      return;
    }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          draw(entry.target);
        }
      });
    }, { rootMargin: "200px 0px" });
    charts.forEach(function (el) { observer.observe(el); });
  }

  function dropEmptyFields(form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && field.value === "") { field.disabled = true; }
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form.cd-chart-filters"), dropEmptyFields);
    if (!window.Plotly) { return; }
    drawWhenNear(Array.prototype.slice.call(document.querySelectorAll(".cd-chart[data-figure]")));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

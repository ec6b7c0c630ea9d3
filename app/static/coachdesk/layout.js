/* The console's layout helpers (issue 17): keep the navbar on one row, and at phone width put a
   list's filters behind a "Filters" toggle so the data is the first thing on screen. */
(function () {
  "use strict";
  var strings = document.getElementById("cd-layout-strings");

  function rowHeight(nav) {
    var item = nav.querySelector(".navbar-nav > li > a");
    return item ? item.offsetHeight : 50;
  }
  function fitNavbar() {
    var nav = document.querySelector(".navbar");
    if (!nav || window.innerWidth < 768) { return; }
    nav.classList.remove("cd-nav-compact", "cd-nav-icons");
    ["cd-nav-compact", "cd-nav-icons"].forEach(function (step) {
      if (nav.querySelector(".navbar-collapse").offsetHeight > rowHeight(nav) * 1.5) { nav.classList.add(step); }
    });
  }

  function filtersToggle() {
    Array.prototype.forEach.call(document.querySelectorAll("form.cd-filters"), function (form) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-default btn-sm cd-filters-toggle";
      button.setAttribute("aria-expanded", "false");
      var active = Array.prototype.some.call(form.querySelectorAll("input[name], select[name]"), function (field) {
        return field.type !== "hidden" && field.value;
      });
      button.innerHTML = '<i class="fa fa-filter" aria-hidden="true"></i> ';
      button.appendChild(document.createTextNode(strings ? strings.getAttribute("data-filters") : "Filters"));
      if (active) { button.classList.add("active"); }
      form.classList.add("cd-collapsed");
      button.addEventListener("click", function () {
        var open = form.classList.toggle("cd-collapsed") === false;
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
      form.parentNode.insertBefore(button, form);
    });
  }

  filtersToggle();
  fitNavbar();
  window.addEventListener("resize", fitNavbar);
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(fitNavbar); }
}());

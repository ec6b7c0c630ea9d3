/* The navbar's global search box (issue 17): live results grouped by kind, keyboard-first.
 *   /          focuses the box (not while typing in another field)
 *   ArrowDown/ArrowUp move through the results, Enter opens the highlighted one
 *              (or, with none highlighted, submits the form: the full results page)
 *   Esc        closes the list, a second Esc leaves the box
 * Results are built with textContent only: names and subjects are never parsed as HTML. */
(function () {
  "use strict";

  var DELAY_MS = 150;

  function typingElsewhere(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function init(form) {
    var input = form.querySelector("input[name=q]");
    var list = form.querySelector("[role=listbox]");
    var suggestUrl = form.getAttribute("data-suggest-url");
    var timer = null;
    var controller = null;
    var active = -1;
    var lastQuery = null;

    function options() { return list.querySelectorAll("[role=option]"); }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function highlight(index) {
      var all = options();
      if (!all.length) { return; }
      active = (index + all.length) % all.length;
      for (var i = 0; i < all.length; i++) {
        all[i].classList.toggle("active", i === active);
        all[i].setAttribute("aria-selected", i === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }

    function message(text, cls) {
      var p = document.createElement("div");
      p.className = "cd-global-search-note " + (cls || "");
      p.textContent = text;
      list.appendChild(p);
    }

    function render(data) {
      list.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      var n = 0;
      if (data.hint) {
        message(data.hint, "cd-global-search-hint");
      } else if (!data.groups.length) {
        message(form.getAttribute("data-no-results"), "cd-global-search-empty");
      }
      data.groups.forEach(function (group) {
        var section = document.createElement("div");
        section.className = "cd-global-search-group";
        section.setAttribute("role", "group");
        section.setAttribute("data-kind", group.kind);
        var head = document.createElement("div");
        head.className = "cd-global-search-kind";
        head.textContent = group.label;
        section.setAttribute("aria-label", group.label);
        section.appendChild(head);
        group.items.forEach(function (item) {
          var a = document.createElement("a");
          a.href = item.url;
          a.id = "cd-global-search-opt-" + (n++);
          a.className = "cd-global-search-option";
          a.setAttribute("role", "option");
          a.setAttribute("aria-selected", "false");
          a.tabIndex = -1;
          var title = document.createElement("span");
          title.className = "cd-global-search-title";
          title.textContent = item.title;
          var detail = document.createElement("span");
          detail.className = "cd-global-search-detail";
          detail.textContent = item.detail;
          a.appendChild(title);
          a.appendChild(detail);
          section.appendChild(a);
        });
        list.appendChild(section);
      });
      if (data.groups.length) {
        var all = document.createElement("a");
        all.href = data.all_url;
        all.className = "cd-global-search-all";
        all.textContent = form.getAttribute("data-all-results");
        list.appendChild(all);
      }
      open();
    }

    function fetchResults() {
      var q = input.value.trim();
      if (q === lastQuery && !list.hidden) { return; }
      lastQuery = q;
      if (!q) { close(); return; }
      if (controller) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      var url = suggestUrl + "?q=" + encodeURIComponent(q);
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin",
                   signal: controller ? controller.signal : undefined })
        .then(function (resp) {
          return resp.json().then(function (body) { return { ok: resp.ok, body: body }; });
        })
        .then(function (res) {
          if (input.value.trim() !== q) { return; }
          if (!res.ok) {
            list.textContent = "";
            message(res.body.error || form.getAttribute("data-failed"), "cd-global-search-error");
            open();
            return;
          }
          render(res.body);
        })
        .catch(function (err) {
          if (err && err.name === "AbortError") { return; }
          list.textContent = "";
          message(form.getAttribute("data-failed"), "cd-global-search-error");
          open();
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchResults, DELAY_MS);
    });

    input.addEventListener("focus", function () {
      if (input.value.trim() && list.childNodes.length) { open(); }
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { fetchResults(); open(); }
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter") {
        var all = options();
        if (!list.hidden && active >= 0 && all[active]) {
          event.preventDefault();
          window.location.assign(all[active].href);
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        if (!list.hidden) { close(); } else { input.blur(); }
      }
    });

    list.addEventListener("mousedown", function (event) {
      event.preventDefault();  /* keep the focus in the box; the click follows the link */
    });

    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) { close(); }
    });

    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (typingElsewhere(event.target)) { return; }
      event.preventDefault();
      input.focus();
      input.select();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector(".cd-global-search form");
    if (form) { init(form); }
  });
}());

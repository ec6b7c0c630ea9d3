/* Coachdesk program builder: a weeks x days grid edited by mouse (HTML5 drag and drop) or keyboard.
 * State lives in this page until "Save" sends the whole program to one JSON endpoint; a refused save
 * (409 conflict, 400 validation) keeps the state so nothing is lost. Every visible string comes from
 * the translated dictionary the template renders into #cd-builder-strings. */
(function () {
  "use strict";

  var root = document.getElementById("cd-builder");
  if (!root) { return; }
  var S = JSON.parse(document.getElementById("cd-builder-strings").textContent);
  var doc = JSON.parse(document.getElementById("cd-builder-document").textContent);
  var DAYS = S.day_names;
  var csrf = root.getAttribute("data-csrf");

  var state = { weeks: doc.weeks, version: doc.version, items: [], editable: doc.editable };
  var uidSeq = 0;
  var selectedDay = { week: 0, day: 0 };
  var editing = null;  // uid of the item in the prescription editor
  var copiedDay = null;
  var dirty = false;
  var libPage = 1;
  var libPages = 1;

  function fmt(template, values) {
    return String(template).replace(/%\(([a-z_]+)\)s/g, function (m, key) {
      return values && values[key] !== undefined ? String(values[key]) : m;
    });
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function announce(message) {
    var region = document.getElementById("cd-announce");
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 30);
  }
  function status(message) { document.getElementById("cd-status").textContent = message; }
  function markDirty() { dirty = true; status(S.unsaved); }
  function typeLabel(t) { return S[t] || t; }
  function codeLabel(c) { return (S.codes && S.codes[c]) || c; }  // a prescription or library code, by its label

  function loadDocument(d) {
    state.weeks = d.weeks;
    state.version = d.version;
    state.editable = d.editable;
    state.items = d.items.map(function (it) {
      return {
        uid: ++uidSeq, id: it.id, item_type: it.item_type, item_id: it.item_id, name: it.name,
        week: it.week, day: it.day, prescription: it.prescription || {}
      };
    });
    sortItems();
    document.getElementById("cd-version").textContent = fmt(S.version, { v: state.version });
  }

  // Items are kept in grid order; "order" is the position inside a day at save time.
  function sortItems() {
    state.items.forEach(function (it, n) { it._pos = it._pos === undefined ? n : it._pos; });
    state.items.sort(function (a, b) { return a.week - b.week || a.day - b.day || a._pos - b._pos; });
    state.items.forEach(function (it, n) { it._pos = n; });
  }
  function dayItems(week, day) {
    return state.items.filter(function (it) { return it.week === week && it.day === day; });
  }
  function byUid(uid) {
    for (var i = 0; i < state.items.length; i++) { if (state.items[i].uid === uid) { return state.items[i]; } }
    return null;
  }
  function place(item, week, day, index) {
    var others = dayItems(week, day).filter(function (it) { return it !== item; });
    index = Math.max(0, Math.min(index, others.length));
    item.week = week;
    item.day = day;
    others.splice(index, 0, item);
    var base = others.length ? Math.min.apply(null, others.map(function (o) { return o._pos; })) : item._pos;
    others.forEach(function (o, n) { o._pos = base + n / 1000; });
    sortItems();
  }
  function positionOf(item) { return dayItems(item.week, item.day).indexOf(item) + 1; }
  function whereText(item) {
    return { name: item.name, week: item.week + 1, day: DAYS[item.day], pos: positionOf(item) };
  }

  // --- rendering -----------------------------------------------------------------------------------------
  function render(focusUid) {
    var grid = document.getElementById("cd-grid");
    grid.textContent = "";
    for (var w = 0; w < state.weeks; w++) { grid.appendChild(renderWeek(w)); }
    if (focusUid) {
      var card = grid.querySelector('[data-uid="' + focusUid + '"]');
      if (card) { card.focus(); }
    }
  }

  function renderWeek(w) {
    var panel = el("section", { "class": "panel panel-default cd-week", "data-week": w, "aria-label": fmt(S.week, { n: w + 1 }) });
    var head = el("div", { "class": "panel-heading cd-week-head" });
    head.appendChild(el("h3", { "class": "panel-title" }, fmt(S.week, { n: w + 1 })));
    if (state.editable) {
      var copy = el("button", { type: "button", "class": "btn btn-default btn-xs cd-copy-week", "data-week": w }, S.copy_week);
      copy.addEventListener("click", function () { copyWeek(w); });
      var remove = el("button", { type: "button", "class": "btn btn-default btn-xs cd-remove-week", "data-week": w }, S.remove_week);
      remove.addEventListener("click", function () { removeWeek(w); });
      head.appendChild(copy);
      head.appendChild(remove);
    }
    panel.appendChild(head);
    var days = el("div", { "class": "cd-week-grid" });
    for (var d = 0; d < 7; d++) { days.appendChild(renderDay(w, d)); }
    panel.appendChild(days);
    return panel;
  }

  function renderDay(w, d) {
    var selected = selectedDay.week === w && selectedDay.day === d;
    var cell = el("div", {
      "class": "cd-day" + (selected ? " cd-day-selected" : ""), "data-week": w, "data-day": d,
      role: "group", tabindex: selected ? "0" : "-1", "aria-label": fmt(S.week, { n: w + 1 }) + ", " + DAYS[d],
      "aria-describedby": "cd-day-help"
    });
    var head = el("div", { "class": "cd-day-head" });
    head.appendChild(el("span", { "class": "cd-day-name" }, DAYS[d]));
    if (state.editable) {
      var copy = el("button", { type: "button", "class": "btn btn-link btn-xs cd-copy-day", title: S.copy_day, "aria-label": S.copy_day + " " + fmt(S.week, { n: w + 1 }) + " " + DAYS[d] });
      copy.appendChild(el("i", { "class": "far fa-copy", "aria-hidden": "true" }));
      copy.addEventListener("click", function (ev) { ev.stopPropagation(); copyDay(w, d); });
      head.appendChild(copy);
      if (copiedDay) {
        var paste = el("button", { type: "button", "class": "btn btn-link btn-xs cd-paste-day", title: S.paste_day, "aria-label": S.paste_day + " " + fmt(S.week, { n: w + 1 }) + " " + DAYS[d] });
        paste.appendChild(el("i", { "class": "far fa-clipboard", "aria-hidden": "true" }));
        paste.addEventListener("click", function (ev) { ev.stopPropagation(); pasteDay(w, d); });
        head.appendChild(paste);
      }
    }
    cell.appendChild(head);
    var list = el("div", { "class": "cd-day-items" });
    var items = dayItems(w, d);
    items.forEach(function (item, n) { list.appendChild(renderCard(item, n)); });
    if (!items.length) { list.appendChild(el("div", { "class": "cd-empty" }, S.empty_day)); }
    cell.appendChild(list);
    cell.addEventListener("click", function () { selectDay(w, d); });
    cell.addEventListener("focus", function (ev) { if (ev.target === cell) { selectDay(w, d, quietFocus); } });
    cell.addEventListener("keydown", function (ev) { if (ev.target === cell) { onDayKey(ev, w, d); } });
    cell.addEventListener("dragover", onDragOver);
    cell.addEventListener("dragleave", function () { cell.classList.remove("cd-drop-target"); });
    cell.addEventListener("drop", onDrop);
    return cell;
  }

  function renderCard(item, n) {
    var label = fmt(S.card_label, { name: item.name, type: typeLabel(item.item_type), week: item.week + 1, day: DAYS[item.day], pos: n + 1 });
    var card = el("div", {
      "class": "cd-card cd-type-" + item.item_type.toLowerCase() + (editing === item.uid ? " cd-card-editing" : ""),
      tabindex: "0", role: "button", "data-uid": item.uid, "data-name": item.name,
      "aria-label": label, "aria-describedby": "cd-keyboard-help", draggable: state.editable ? "true" : "false"
    });
    var p = item.prescription || {};
    if (p.superset) { card.appendChild(el("span", { "class": "label label-primary cd-superset", title: fmt(S.superset, { label: p.superset }) }, p.superset)); }
    card.appendChild(el("span", { "class": "cd-card-name" }, item.name));
    var summary = summarise(item);
    if (summary) { card.appendChild(el("span", { "class": "cd-card-rx" }, summary)); }
    if (state.editable) {
      var remove = el("button", { type: "button", "class": "close cd-remove", tabindex: "-1", "aria-label": S.remove + " " + item.name }, "×");
      remove.addEventListener("click", function (ev) { ev.stopPropagation(); removeItem(item); });
      card.appendChild(remove);
      card.addEventListener("dragstart", function (ev) {
        ev.dataTransfer.setData("text/plain", JSON.stringify({ src: "card", uid: item.uid }));
        ev.dataTransfer.effectAllowed = "move";
      });
      // A finger drags a card by its handle; elsewhere on the card it scrolls the page as usual.
      var grip = el("i", { "class": "fa fa-grip-vertical cd-grip", "aria-hidden": "true", title: S.drag_handle });
      card.insertBefore(grip, card.firstChild);
      card.classList.add("cd-has-grip");
      touchDrag(card, { src: "card", uid: item.uid }, grip);
    }
    card.addEventListener("click", function (ev) { ev.stopPropagation(); selectDay(item.week, item.day, true); openEditor(item); });
    card.addEventListener("keydown", function (ev) { onCardKey(ev, item); });
    return card;
  }

  function summarise(item) {
    var p = item.prescription || {};
    if (item.item_type === "EXERCISE") {
      var parts = [];
      if (p.sets && p.reps) { parts.push(p.sets + "×" + p.reps); } else if (p.sets) { parts.push(p.sets + "×"); }
      if (p.load_kg !== undefined) { parts.push(p.load_kg + " kg"); }
      if (p.tempo) { parts.push(p.tempo); }
      if (p.rest_seconds !== undefined) { parts.push(p.rest_seconds + " s"); }
      return parts.join(" · ");
    }
    if (item.item_type === "MEAL") { return [p.servings, codeLabel(p.time_of_day)].filter(Boolean).join(" · "); }
    return [p.target, codeLabel(p.frequency)].filter(Boolean).join(" · ");
  }

  function selectDay(w, d, quiet) {
    selectedDay = { week: w, day: d };
    Array.prototype.forEach.call(document.querySelectorAll(".cd-day"), function (c) {
      var on = Number(c.getAttribute("data-week")) === w && Number(c.getAttribute("data-day")) === d;
      c.classList.toggle("cd-day-selected", on);
      c.setAttribute("tabindex", on ? "0" : "-1");  // roving tab stop: one day in the tab order
    });
    if (!quiet) { announce(fmt(S.week, { n: w + 1 }) + ", " + DAYS[d]); }
  }

  // Days: arrows move between days (left/right) and weeks (up/down); Enter goes to the day's first item;
  // Ctrl+C / Ctrl+V copy and paste the whole day.
  function onDayKey(ev, w, d) {
    var flat = w * 7 + d;
    var target = null;
    if (ev.key === "ArrowLeft") { target = flat - 1; }
    else if (ev.key === "ArrowRight") { target = flat + 1; }
    else if (ev.key === "ArrowUp") { target = flat - 7; }
    else if (ev.key === "ArrowDown") { target = flat + 7; }
    else if (ev.key === "Enter") {
      var first = ev.currentTarget.querySelector(".cd-card");
      if (first) { ev.preventDefault(); first.focus(); }
      return;
    } else if ((ev.ctrlKey || ev.metaKey) && ev.key === "c" && state.editable) {
      ev.preventDefault(); copyDay(w, d); focusDay(w, d, true); return;
    } else if ((ev.ctrlKey || ev.metaKey) && ev.key === "v" && state.editable) {
      ev.preventDefault(); pasteDay(w, d); focusDay(w, d, true); return;
    } else { return; }
    ev.preventDefault();
    if (target < 0 || target >= state.weeks * 7) { return; }
    focusDay(Math.floor(target / 7), target % 7);
  }
  var quietFocus = false;  // programmatic focus after copy/paste must not drown their announcement
  function focusDay(w, d, quiet) {
    selectDay(w, d, true);
    var cell = document.querySelector('.cd-day[data-week="' + w + '"][data-day="' + d + '"]');
    quietFocus = !!quiet;
    if (cell) { cell.focus(); }
    quietFocus = false;
  }

  // --- drag and drop -------------------------------------------------------------------------------------
  function dropIndex(cell, clientY) {
    var cards = cell.querySelectorAll(".cd-card");
    for (var i = 0; i < cards.length; i++) {
      var box = cards[i].getBoundingClientRect();
      if (clientY < box.top + box.height / 2) { return i; }
    }
    return cards.length;
  }
  function onDragOver(ev) {
    if (!state.editable) { return; }
    ev.preventDefault();
    ev.currentTarget.classList.add("cd-drop-target");
  }
  function onDrop(ev) {
    ev.preventDefault();
    var cell = ev.currentTarget;
    cell.classList.remove("cd-drop-target");
    if (!state.editable) { return; }
    var data;
    try { data = JSON.parse(ev.dataTransfer.getData("text/plain")); } catch (e) { return; }
    dropOn(cell, ev.clientY, data);
  }
  function dropOn(cell, clientY, data) {
    var w = Number(cell.getAttribute("data-week"));
    var d = Number(cell.getAttribute("data-day"));
    var index = dropIndex(cell, clientY);
    if (data.src === "card") {
      var item = byUid(data.uid);
      if (!item) { return; }
      var before = dayItems(w, d).indexOf(item);
      if (before !== -1 && before < index) { index -= 1; }
      place(item, w, d, index);
      markDirty();
      render(item.uid);
      announce(fmt(S.moved_to, whereText(item)));
    } else if (data.src === "library") {
      addItem(data.entry, w, d, index);
    }
  }

  // Touch screens send no HTML5 drag events: a finger drags a card (by its handle, ``touch-action: none``) or a
  // library item (sideways: ``pan-y``) with pointer events, a ghost follows the finger, and lifting it drops as a
  // mouse would.
  function touchDrag(source, data, handle) {
    (handle || source).addEventListener("pointerdown", function (down) {
      if (down.pointerType !== "touch" || !state.editable) { return; }
      var ghost = null;
      var target = null;
      function cellAt(x, y) {
        var hit = document.elementFromPoint(x, y);
        return hit ? hit.closest(".cd-day") : null;
      }
      function move(ev) {
        if (ev.pointerId !== down.pointerId) { return; }
        if (!ghost) {
          if (Math.abs(ev.clientX - down.clientX) + Math.abs(ev.clientY - down.clientY) < 8) { return; }
          ghost = source.cloneNode(true);
          ghost.classList.add("cd-touch-ghost");
          ghost.style.width = source.offsetWidth + "px";
          document.body.appendChild(ghost);
        }
        ev.preventDefault();
        ghost.style.left = (ev.clientX + 6) + "px";
        ghost.style.top = (ev.clientY + 6) + "px";
        var cell = cellAt(ev.clientX, ev.clientY);
        if (cell !== target) {
          if (target) { target.classList.remove("cd-drop-target"); }
          target = cell;
          if (target) { target.classList.add("cd-drop-target"); }
        }
      }
      function end(ev) {
        if (ev.pointerId !== down.pointerId) { return; }
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", end);
        document.removeEventListener("pointercancel", end);
        if (target) { target.classList.remove("cd-drop-target"); }
        if (!ghost) { return; }
        ghost.remove();
        var cell = ev.type === "pointerup" ? cellAt(ev.clientX, ev.clientY) : null;
        if (cell) { dropOn(cell, ev.clientY, data); }
      }
      document.addEventListener("pointermove", move, { passive: false });
      document.addEventListener("pointerup", end);
      document.addEventListener("pointercancel", end);
    });
  }

  // --- editing -------------------------------------------------------------------------------------------
  function addItem(entry, w, d, index) {
    var item = { uid: ++uidSeq, id: null, item_type: entry.item_type, item_id: entry.item_id, name: entry.name, week: w, day: d, prescription: {}, _pos: 1e9 };
    state.items.push(item);
    place(item, w, d, index === undefined ? dayItems(w, d).length : index);
    markDirty();
    selectDay(w, d, true);
    render(item.uid);
    announce(fmt(S.added_to, whereText(item)));
  }

  function removeItem(item) {
    var neighbours = dayItems(item.week, item.day);
    var next = neighbours[neighbours.indexOf(item) + 1] || neighbours[neighbours.indexOf(item) - 1];
    state.items = state.items.filter(function (it) { return it !== item; });
    if (editing === item.uid) { closeEditor(); }
    markDirty();
    render(next ? next.uid : null);
    if (!next) {
      var cell = document.querySelector('.cd-day[data-week="' + item.week + '"][data-day="' + item.day + '"]');
      if (cell) { cell.focus(); }
    }
    announce(fmt(S.removed, { name: item.name }));
  }

  function onCardKey(ev, item) {
    if (!state.editable && ev.key !== "Enter") { return; }
    var list = dayItems(item.week, item.day);
    var pos = list.indexOf(item);
    var handled = true;
    if (ev.key === "ArrowUp" && pos > 0) {
      place(item, item.week, item.day, pos - 1);
    } else if (ev.key === "ArrowDown" && pos < list.length - 1) {
      place(item, item.week, item.day, pos + 1);
    } else if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
      var flat = item.week * 7 + item.day + (ev.key === "ArrowLeft" ? -1 : 1);
      if (flat < 0 || flat >= state.weeks * 7) { return; }
      var w = Math.floor(flat / 7);
      var d = flat % 7;
      place(item, w, d, dayItems(w, d).length);
    } else if (ev.key === "Enter") {
      openEditor(item);
      ev.preventDefault();
      return;
    } else if (ev.key === "Delete" || ev.key === "Backspace") {
      ev.preventDefault();
      removeItem(item);
      return;
    } else {
      handled = false;
    }
    if (handled) {
      ev.preventDefault();
      if (ev.key.indexOf("Arrow") === 0) {
        markDirty();
        selectDay(item.week, item.day, true);
        render(item.uid);
        announce(fmt(S.moved_to, whereText(item)));
      }
    }
  }

  function copyWeek(w) {
    if (state.weeks >= 104) { return; }
    var target = state.weeks;
    state.weeks += 1;
    state.items.filter(function (it) { return it.week === w; }).forEach(function (it) {
      state.items.push({ uid: ++uidSeq, id: null, item_type: it.item_type, item_id: it.item_id, name: it.name, week: target, day: it.day, prescription: JSON.parse(JSON.stringify(it.prescription || {})), _pos: 1e9 + it._pos });
    });
    sortItems();
    markDirty();
    render();
    announce(fmt(S.week_copied, { from: w + 1, to: target + 1 }));
  }

  function removeWeek(w) {
    if (state.weeks <= 1) { announce(S.min_one_week); status(S.min_one_week); return; }
    if (dayItemsOfWeek(w).length && !window.confirm(fmt(S.confirm_remove_week, { n: w + 1 }))) { return; }
    state.items = state.items.filter(function (it) { return it.week !== w; });
    state.items.forEach(function (it) { if (it.week > w) { it.week -= 1; } });
    state.weeks -= 1;
    if (selectedDay.week >= state.weeks) { selectedDay = { week: state.weeks - 1, day: selectedDay.day }; }
    closeEditor();
    markDirty();
    render();
    announce(fmt(S.week_removed, { n: w + 1 }));
  }
  function dayItemsOfWeek(w) { return state.items.filter(function (it) { return it.week === w; }); }

  function copyDay(w, d) {
    copiedDay = dayItems(w, d).map(function (it) { return { item_type: it.item_type, item_id: it.item_id, name: it.name, prescription: JSON.parse(JSON.stringify(it.prescription || {})) }; });
    selectDay(w, d, true);
    render();
    announce(S.day_copied);
    status(S.day_copied);
  }
  function pasteDay(w, d) {
    if (!copiedDay) { return; }
    copiedDay.forEach(function (c) {
      var item = { uid: ++uidSeq, id: null, item_type: c.item_type, item_id: c.item_id, name: c.name, week: w, day: d, prescription: JSON.parse(JSON.stringify(c.prescription)), _pos: 1e9 };
      state.items.push(item);
      place(item, w, d, dayItems(w, d).length);
    });
    markDirty();
    render();
    announce(fmt(S.day_pasted, { week: w + 1, day: DAYS[d] }));
  }

  // --- prescription editor -------------------------------------------------------------------------------
  var editor = document.getElementById("cd-editor");
  var editorForm = document.getElementById("cd-editor-form");
  var NUMERIC = { sets: "int", load_kg: "float", rest_seconds: "int", duration_seconds: "int", servings: "float" };

  function openEditor(item) {
    editing = item.uid;
    editor.classList.remove("hidden");
    document.getElementById("cd-editor-name").textContent = item.name + " · " + typeLabel(item.item_type);
    Array.prototype.forEach.call(editorForm.querySelectorAll("fieldset"), function (fs) {
      var on = fs.getAttribute("data-for") === item.item_type;
      fs.classList.toggle("hidden", !on);
      fs.disabled = !on;
    });
    var p = item.prescription || {};
    Array.prototype.forEach.call(editorForm.elements, function (field) {
      if (!field.name) { return; }
      field.value = p[field.name] === undefined || p[field.name] === null ? "" : p[field.name];
      field.readOnly = !state.editable;
    });
    Array.prototype.forEach.call(document.querySelectorAll(".cd-card-editing"), function (c) { c.classList.remove("cd-card-editing"); });
    var card = document.querySelector('.cd-card[data-uid="' + item.uid + '"]');
    if (card) { card.classList.add("cd-card-editing"); }
    var first = editorForm.querySelector("fieldset:not(.hidden) input, fieldset:not(.hidden) select");
    if (first) { first.focus(); }
  }
  function closeEditor() {
    var uid = editing;
    editing = null;
    editor.classList.add("hidden");
    if (uid) {
      var card = document.querySelector('.cd-card[data-uid="' + uid + '"]');
      if (card) { card.classList.remove("cd-card-editing"); card.focus(); }
    }
  }
  function applyEditor(ev) {
    ev.preventDefault();
    var item = byUid(editing);
    if (!item || !state.editable) { closeEditor(); return; }
    var p = {};
    Array.prototype.forEach.call(editorForm.elements, function (field) {
      if (!field.name || field.disabled || field.closest("fieldset.hidden")) { return; }
      var value = field.value.trim();
      if (value === "") { return; }
      if (NUMERIC[field.name] === "int") { value = parseInt(value, 10); }
      else if (NUMERIC[field.name] === "float") { value = parseFloat(value); }
      else if (field.name === "reps" && /^\d+$/.test(value)) { value = parseInt(value, 10); }
      else if (field.name === "superset") { value = value.toUpperCase(); }
      if (typeof value === "number" && isNaN(value)) { return; }
      p[field.name] = value;
    });
    item.prescription = p;
    markDirty();
    render(item.uid);
    closeEditor();
  }
  editorForm.addEventListener("submit", applyEditor);
  document.getElementById("cd-editor-close").addEventListener("click", closeEditor);
  editorForm.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { closeEditor(); } });

  // --- library -------------------------------------------------------------------------------------------
  var libForm = document.getElementById("cd-library-form");
  var libType = document.getElementById("cd-lib-type");
  function showFilters() {
    Array.prototype.forEach.call(libForm.querySelectorAll(".cd-filter"), function (f) {
      f.classList.toggle("hidden", f.getAttribute("data-for") !== libType.value);
    });
  }
  function searchLibrary(page) {
    libPage = page || 1;
    var params = new URLSearchParams();
    params.set("type", libType.value);
    params.set("page", libPage);
    params.set("page_size", 15);
    Array.prototype.forEach.call(libForm.elements, function (f) {
      if (f.name && f.name !== "type" && f.value && !f.closest(".cd-filter.hidden")) { params.set(f.name, f.value); }
    });
    fetch(root.getAttribute("data-library-url") + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        var list = document.getElementById("cd-lib-results");
        list.textContent = "";
        if (!res.ok) { list.appendChild(el("li", { "class": "text-danger" }, res.body.error || S.error)); return; }
        libPages = res.body.pages;
        document.getElementById("cd-lib-page").textContent = fmt(S.page_of, { page: res.body.page, pages: res.body.pages });
        if (!res.body.results.length) { list.appendChild(el("li", { "class": "text-muted" }, S.no_results)); }
        res.body.results.forEach(function (entry) { list.appendChild(renderLibraryEntry(entry)); });
      })
      .catch(function () { status(S.network_error); });
  }
  function renderLibraryEntry(entry) {
    var details = [entry.category, codeLabel(entry.difficulty), entry.equipment, entry.allergens, codeLabel(entry.frequency)].filter(Boolean).join(" · ");
    var li = el("li", {
      "class": "cd-lib-item cd-type-" + entry.item_type.toLowerCase(), tabindex: "0", draggable: state.editable ? "true" : "false",
      "data-name": entry.name, role: "button", "aria-label": entry.name + " (" + typeLabel(entry.item_type) + "). " + S.add_to_selected
    });
    li.appendChild(el("span", { "class": "cd-card-name" }, entry.name));
    if (details) { li.appendChild(el("span", { "class": "cd-card-rx" }, details)); }
    if (state.editable) {
      var add = el("button", { type: "button", "class": "btn btn-default btn-xs cd-lib-add", tabindex: "-1", title: S.add_to_selected, "aria-label": S.add_to_selected + ": " + entry.name }, "+");
      add.addEventListener("click", function () { addItem(entry, selectedDay.week, selectedDay.day); });
      li.appendChild(add);
      li.addEventListener("dragstart", function (ev) {
        ev.dataTransfer.setData("text/plain", JSON.stringify({ src: "library", entry: entry }));
        ev.dataTransfer.effectAllowed = "copy";
      });
      touchDrag(li, { src: "library", entry: entry });
      li.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); addItem(entry, selectedDay.week, selectedDay.day); }
      });
    }
    return li;
  }
  libType.addEventListener("change", function () { showFilters(); searchLibrary(1); });
  libForm.addEventListener("submit", function (ev) { ev.preventDefault(); searchLibrary(1); });
  document.getElementById("cd-lib-prev").addEventListener("click", function () { if (libPage > 1) { searchLibrary(libPage - 1); } });
  document.getElementById("cd-lib-next").addEventListener("click", function () { if (libPage < libPages) { searchLibrary(libPage + 1); } });

  // --- saving --------------------------------------------------------------------------------------------
  function payload() {
    var order = {};
    return {
      version: state.version,
      weeks: state.weeks,
      follow_future: !!(document.getElementById("cd-follow") || {}).checked,
      items: state.items.map(function (it) {
        var key = it.week + ":" + it.day;
        order[key] = (order[key] || 0);
        return { id: it.id, item_type: it.item_type, item_id: it.item_id, week: it.week, day: it.day, order: order[key]++, prescription: it.prescription || {} };
      })
    };
  }
  function showError(message, reload) {
    document.getElementById("cd-alert-text").textContent = message;
    document.getElementById("cd-alert").classList.remove("hidden");
    var button = document.getElementById("cd-reload");
    button.classList.toggle("hidden", !reload);
    button.textContent = S.conflict_reload;
    announce(message);
  }
  function save() {
    var sent = state.items.slice();
    document.getElementById("cd-alert").classList.add("hidden");
    status(S.saving);
    var button = document.getElementById("cd-save");
    button.disabled = true;
    fetch(root.getAttribute("data-save-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(payload())
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; }, function () { return { status: r.status, body: {} }; });
    }).then(function (res) {
      button.disabled = false;
      if (res.status === 200) {
        loadDocument(res.body.program);
        dirty = false;
        render();
        var msg = fmt(S.saved, { v: res.body.version });
        status(msg);
        announce(msg);
        return;
      }
      status(S.unsaved);
      showError((res.body && res.body.error) || S.error + " " + res.status, res.status === 409);
      if (res.status === 400 && res.body && typeof res.body.item === "number" && sent[res.body.item]) {
        var card = document.querySelector('.cd-card[data-uid="' + sent[res.body.item].uid + '"]');
        if (card) { card.classList.add("cd-card-invalid"); card.focus(); }
      }
    }).catch(function () {
      button.disabled = false;
      status(S.unsaved);
      showError(S.network_error, false);
    });
  }
  function reloadLatest() {
    fetch(root.getAttribute("data-program-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        loadDocument(body);
        dirty = false;
        document.getElementById("cd-alert").classList.add("hidden");
        closeEditor();
        render();
        status(fmt(S.saved, { v: body.version }));
      })
      .catch(function () { showError(S.network_error, true); });
  }
  var saveButton = document.getElementById("cd-save");
  if (saveButton) { saveButton.addEventListener("click", save); }
  document.getElementById("cd-reload").addEventListener("click", reloadLatest);
  var addWeek = document.getElementById("cd-add-week");
  if (addWeek) {
    addWeek.addEventListener("click", function () {
      if (state.weeks >= 104) { return; }
      state.weeks += 1;
      markDirty();
      render();
      announce(fmt(S.week, { n: state.weeks }));
    });
  }
  document.addEventListener("keydown", function (ev) {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "s" && saveButton) { ev.preventDefault(); save(); }
  });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });

  // --- assigning -----------------------------------------------------------------------------------------
  var assignForm = document.getElementById("cd-assign-form");
  if (assignForm) {
    var chosen = {};
    var q = document.getElementById("cd-customer-q");
    var options = document.getElementById("cd-customer-options");
    var timer = null;
    var renderChosen = function () {
      var list = document.getElementById("cd-customer-chosen");
      list.textContent = "";
      Object.keys(chosen).forEach(function (id) {
        var li = el("li", { "class": "cd-chip" });
        li.appendChild(el("span", {}, chosen[id]));
        var rm = el("button", { type: "button", "class": "close", "aria-label": S.remove + " " + chosen[id] }, "×");
        rm.addEventListener("click", function () { delete chosen[id]; renderChosen(); q.focus(); });
        li.appendChild(rm);
        list.appendChild(li);
      });
    };
    var choose = function (c) { chosen[c.id] = c.text; renderChosen(); options.textContent = ""; q.value = ""; q.setAttribute("aria-expanded", "false"); q.focus(); };
    var lookup = function () {
      fetch(root.getAttribute("data-customers-url") + "?q=" + encodeURIComponent(q.value), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          options.textContent = "";
          (body.results || []).forEach(function (c) {
            var li = el("li", { role: "option", tabindex: "0", "class": "cd-customer-option", "data-id": c.id }, c.text);
            li.addEventListener("click", function () { choose(c); });
            li.addEventListener("keydown", function (ev) {
              if (ev.key === "Enter") { ev.preventDefault(); choose(c); }
              if (ev.key === "ArrowDown" && li.nextSibling) { li.nextSibling.focus(); }
              if (ev.key === "ArrowUp") { (li.previousSibling || q).focus(); }
            });
            options.appendChild(li);
          });
          q.setAttribute("aria-expanded", options.children.length ? "true" : "false");
        });
    };
    q.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(lookup, 200); });
    q.addEventListener("focus", lookup);
    q.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown" && options.firstChild) { ev.preventDefault(); options.firstChild.focus(); }
    });
    var result = document.getElementById("cd-assign-result");
    var bar = document.getElementById("cd-assign-progress");
    var showDone = function (body) {
      result.textContent = fmt(S.assign_done, { created: body.created, existing: body.existing });
      (body.plans || []).forEach(function (url) {
        result.appendChild(document.createTextNode(" "));
        result.appendChild(el("a", { href: url, "class": "cd-plan-link" }, S.plan_link));
      });
    };
    var poll = function (url) {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          var pct = job.total ? Math.round(100 * job.done / job.total) : 0;
          bar.firstElementChild.style.width = pct + "%";
          bar.firstElementChild.setAttribute("aria-valuenow", pct);
          if (job.status === "finished") { bar.classList.add("hidden"); showDone(job.result || {}); return; }
          if (job.status === "failed" || job.status === "stopped" || job.status === "canceled") {
            bar.classList.add("hidden");
            result.textContent = fmt(S.assign_failed, { error: job.error || job.status });
            return;
          }
          result.textContent = fmt(S.assign_running, { done: job.done, total: job.total });
          window.setTimeout(function () { poll(url); }, 1000);
        })
        .catch(function () { window.setTimeout(function () { poll(url); }, 3000); });
    };
    assignForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var week = parseInt(document.getElementById("cd-start-week").value || "1", 10);
      var body = { program_id: doc.id, customers: Object.keys(chosen), start_date: document.getElementById("cd-start-date").value || null, start_week: isNaN(week) ? 1 : week };
      result.textContent = "";
      fetch(root.getAttribute("data-assign-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (b) { return { status: r.status, body: b }; });
      }).then(function (res) {
        if (res.status === 202) { bar.classList.remove("hidden"); poll(res.body.status_url); return; }
        if (res.status !== 200) { result.textContent = fmt(S.assign_failed, { error: res.body.error || res.status }); return; }
        showDone(res.body);
      }).catch(function () { result.textContent = S.network_error; });
    });
  }

  loadDocument(doc);
  render();
  showFilters();
  searchLibrary(1);
}());

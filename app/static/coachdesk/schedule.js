/* Coachdesk schedule calendar: FullCalendar (vendored) over the /schedule/ JSON endpoints.
 * The calendar runs in UTC coercion: the server sends wall-clock times in the viewer's zone without an
 * offset, and this script sends wall-clock times back, so the grid shows the console account's zone
 * whatever the browser's own is. Every visible string comes from #cd-schedule-strings (translated on
 * the server); user content is set with textContent only. */
(function () {
  "use strict";

  var root = document.getElementById("cd-schedule");
  if (!root || !window.FullCalendar) { return; }
  var S = JSON.parse(document.getElementById("cd-schedule-strings").textContent);
  var C = JSON.parse(document.getElementById("cd-schedule-config").textContent);
  var O = JSON.parse(document.getElementById("cd-schedule-options").textContent);
  var csrf = root.getAttribute("data-csrf");
  var panelTitle = document.getElementById("cd-panel-title");
  var panelBody = document.getElementById("cd-panel-body");
  var availMode = false;
  var retry = null;  // the last refused request, for "Save anyway"

  function fmt(template, values) {
    return String(template).replace(/%\(([a-z_]+)\)s/g, function (m, key) {
      return values && values[key] !== undefined && values[key] !== null ? String(values[key]) : m;
    });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== null && attrs[k] !== false) { node.setAttribute(k, attrs[k] === true ? "" : attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return node;
  }
  function idUrl(template, id) { return template.replace(/\/0(?=[\/.]|$)/, "/" + encodeURIComponent(id)); }
  function status(message) { document.getElementById("cd-status").textContent = message || ""; }
  function wall(date) { return date.toISOString().slice(0, 16); }  // UTC fields are the viewer's wall clock
  function hhmm(date) { return date.toISOString().slice(11, 16); }
  function label(map, key) { return (map && map[key]) || key; }
  function showTime(text) { return text ? text.replace("T", " ").slice(0, 16) : ""; }

  function hideAlert() {
    document.getElementById("cd-alert").classList.add("hidden");
    document.getElementById("cd-save-anyway").classList.add("hidden");
    retry = null;
  }
  function showError(data, again) {
    var box = document.getElementById("cd-alert");
    var list = document.getElementById("cd-alert-list");
    list.textContent = "";
    var conflicts = (data && data.conflicts) || [];
    document.getElementById("cd-alert-text").textContent = conflicts.length ? S.conflict_title : ((data && data.error) || S.error);
    conflicts.forEach(function (c) { list.appendChild(el("li", { text: c.message })); });
    var anyway = document.getElementById("cd-save-anyway");
    retry = data && data.overridable && again ? again : null;
    anyway.classList.toggle("hidden", !retry);
    box.classList.remove("hidden");
  }

  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRFToken"] = csrf;
      opts.body = JSON.stringify(body || {});
    }
    return fetch(url, opts).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        return { ok: resp.ok, status: resp.status, data: data };
      });
    }, function () { return { ok: false, status: 0, data: { error: S.network_error } }; });
  }

  // One write: on success run ``done``; on refusal show why, offering "Save anyway" when allowed
  // (the same request again with override), and run ``undo`` (revert a drag).
  function write(url, body, done, undo) {
    status(S.saving);
    return api("POST", url, body).then(function (r) {
      if (r.ok) { hideAlert(); status(S.saved); if (done) { done(r.data); } return r; }
      status("");
      if (undo) { undo(); }
      if (r.data && r.data.code === "stale") {
        showError({ error: S.stale });
        calendar.refetchEvents();
      } else {
        showError(r.data, function () {
          var again = Object.assign({}, body, { override: true });
          write(url, again, done, null);
        });
      }
      return r;
    });
  }

  function filterQuery(info, editing) {
    var q = new URLSearchParams();
    q.set("start", info.startStr.slice(0, 19));
    q.set("end", info.endStr.slice(0, 19));
    ["coach", "location", "type", "status"].forEach(function (name) {
      var v = document.getElementById("cd-f-" + name).value;
      if (v) { q.set(name, v); }
    });
    if (editing) { q.set("editing", "1"); }
    return q;
  }
  function availabilityCoach() {
    return document.getElementById("cd-f-coach").value || C.own_coach_id || "";
  }

  function sessionsSource(info, success, failure) {
    if (availMode) { success([]); return; }
    api("GET", C.urls.events + "?" + filterQuery(info).toString()).then(function (r) {
      if (r.ok) { success(r.data); } else { showError(r.data); failure(r.data); }
    });
  }
  function availabilitySource(info, success, failure) {
    var coach = availabilityCoach();
    if (!coach) { success([]); if (availMode) { status(S.pick_coach); } return; }
    var q = filterQuery(info, availMode);
    q.set("coach", coach);
    ["location", "type", "status"].forEach(function (n) { q.delete(n); });
    api("GET", C.urls.availability + "?" + q.toString()).then(function (r) {
      if (r.ok) { success(r.data); } else { showError(r.data); failure(r.data); }
    });
  }

  function eventContent(arg) {
    var p = arg.event.extendedProps;
    if (arg.event.display === "background") { return true; }
    if (p.kind === "availability") {
      var name = p.block_kind === "time_off" ? S.time_off : (p.source === "weekly" ? S.weekly_slot : S.available);
      return { domNodes: [el("div", { "class": "cd-ev-time", text: arg.timeText }), el("div", { "class": "cd-ev-title", text: name })] };
    }
    var nodes = [el("div", { "class": "cd-ev-time", text: arg.timeText }), el("div", { "class": "cd-ev-title", text: arg.event.title })];
    var fill = fmt(S.fill, { booked: p.booked, capacity: p.capacity });
    if (p.waitlisted) { fill += " · " + fmt(S.waitlist_n, { n: p.waitlisted }); }
    nodes.push(el("div", { "class": "cd-ev-fill", text: fill }));
    if (p.own) { nodes.push(el("div", { "class": "cd-ev-zone", text: fmt(S.own_zone, { time: p.own.start.slice(11, 16), zone: p.own.zone }) })); }
    return { domNodes: nodes };
  }
  function eventDidMount(arg) {
    var p = arg.event.extendedProps;
    if (p.kind !== "session") { return; }
    var parts = [arg.event.title, label(S.session_types, p.session_type), label(S.statuses, p.status),
      fmt(S.fill, { booked: p.booked, capacity: p.capacity })];
    if (p.waitlisted) { parts.push(fmt(S.waitlist_n, { n: p.waitlisted })); }
    if (p.coach_name) { parts.push(p.coach_name); }
    if (p.location) { parts.push(p.location); }
    if (p.own) { parts.push(fmt(S.own_zone, { time: showTime(p.own.start), zone: p.own.zone })); }
    arg.el.setAttribute("title", parts.join(" · "));
    arg.el.setAttribute("aria-label", parts.join(", "));
    arg.el.setAttribute("data-session-id", arg.event.id);
  }

  // --- moving and resizing -------------------------------------------------------------------------
  function askScope(event, then) {
    panelSeq++;
    if (!event.extendedProps.series_id) { then("one"); return; }
    var box = el("div", { "class": "cd-scope" }, [el("p", { text: S.scope_question })]);
    var one = el("button", { type: "button", "class": "btn btn-default btn-sm", text: S.scope_one });
    var following = el("button", { type: "button", "class": "btn btn-default btn-sm", text: S.scope_following });
    one.addEventListener("click", function () { then("one"); });
    following.addEventListener("click", function () { then("following"); });
    box.appendChild(one); box.appendChild(following);
    panelTitle.textContent = event.title;
    panelBody.textContent = "";
    panelBody.appendChild(box);
    one.focus();
  }
  function moved(info) {
    var ev = info.event;
    if (ev.extendedProps.kind === "availability") { movedSlot(info); return; }
    askScope(ev, function (scope) {
      write(idUrl(C.urls.update, ev.id), {
        version: ev.extendedProps.version, scope: scope,
        changes: { start: wall(ev.start), end: wall(ev.end || ev.start) }
      }, function () { status(S.moved); calendar.refetchEvents(); openSession(ev.id); }, function () { info.revert(); });
    });
  }
  function movedSlot(info) {
    var ev = info.event;
    if (ev.extendedProps.source !== "weekly") { info.revert(); return; }
    write(idUrl(C.urls.slot_update, ev.extendedProps.source_id), {
      day_of_week: (ev.start.getUTCDay() + 6) % 7, start_time: hhmm(ev.start), end_time: hhmm(ev.end), timezone: C.zone
    }, function () { calendar.refetchEvents(); }, function () { info.revert(); });
  }

  // --- the side panel: a session ----------------------------------------------------------------------
  function field(labelText, input) {
    var id = "cd-in-" + Math.random().toString(36).slice(2);
    input.id = id;
    if (!input.className) { input.className = "form-control input-sm"; }
    return el("div", { "class": "form-group form-group-sm" }, [el("label", { "for": id, text: labelText }), input]);
  }
  function select(name, pairs, value) {
    var s = el("select", { name: name, "class": "form-control input-sm" });
    pairs.forEach(function (p) { var o = el("option", { value: p[0], text: p[1] }); if (p[0] === value) { o.selected = true; } s.appendChild(o); });
    return s;
  }
  function typePairs() { return Object.keys(S.session_types).map(function (k) { return [k, S.session_types[k]]; }); }
  function coachPairs() { return (O.coaches || []).map(function (c) { return [c.value, c.label]; }); }

  var panelSeq = 0;  // only the latest request fills the panel (an earlier, slower answer is dropped)
  function openSession(id) {
    var mine = ++panelSeq;
    api("GET", idUrl(C.urls.session, id)).then(function (r) {
      if (mine !== panelSeq) { return; }
      if (!r.ok) { showError(r.data); return; }
      renderSession(r.data);
    });
  }

  function renderSession(d) {
    var s = d.session;
    panelTitle.textContent = s.title || S.details;
    panelBody.textContent = "";
    var dl = el("dl", { "class": "cd-facts" });
    function fact(k, v) { if (v !== null && v !== undefined && v !== "") { dl.appendChild(el("dt", { text: k })); dl.appendChild(el("dd", { text: String(v) })); } }
    fact(S.type, label(S.session_types, s.session_type));
    fact(S.status, label(S.statuses, s.status));
    fact(S.starts, showTime(s.start));
    fact(S.ends, showTime(s.end));
    if (s.timezone !== s.viewer_zone) { fact(S.zone, fmt(S.own_zone, { time: showTime(s.own_start), zone: s.timezone })); }
    fact(S.coach, s.coach_name);
    fact(S.location, s.location);
    fact(S.capacity, fmt(S.fill, { booked: d.booked.length, capacity: s.capacity }) + (d.waitlist.length ? " · " + fmt(S.waitlist_n, { n: d.waitlist.length }) : ""));
    if (s.series_id) { fact(S.details, S.series); }
    panelBody.appendChild(dl);
    if (s.join_link) {
      panelBody.appendChild(el("p", {}, [el("a", { href: s.join_link, target: "_blank", rel: "noopener noreferrer", "class": "btn btn-primary btn-sm", text: S.join })]));
    }
    panelBody.appendChild(el("p", {}, [el("a", { href: idUrl(C.urls.session_ics, s.id), "class": "btn btn-default btn-sm", id: "cd-ics", download: "session-" + s.id + ".ics", text: S.ics })]));
    if (d.can.edit && s.status === "SCHEDULED") { panelBody.appendChild(editForm(s)); }
    panelBody.appendChild(rosterSection(d));
  }

  function editForm(s) {
    var form = el("form", { "class": "cd-edit", id: "cd-edit-form" }, [el("h3", { "class": "h5", text: S.edit_session })]);
    var title = el("input", { name: "title", maxlength: "200", value: s.title || "" });
    var type = select("session_type", typePairs(), s.session_type);
    var cap = el("input", { name: "capacity", type: "number", min: "1", max: "10000", value: String(s.capacity) });
    var loc = el("input", { name: "location", maxlength: "200", value: s.location || "" });
    var link = el("input", { name: "join_link", type: "url", maxlength: "2000", value: s.join_link || "" });
    [field(S.title, title), field(S.type, type), field(S.capacity, cap), field(S.location, loc), field(S.join_link, link)].forEach(function (f) { form.appendChild(f); });
    var save = el("button", { type: "submit", "class": "btn btn-primary btn-sm", text: S.save });
    form.appendChild(save);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var changes = {};
      if (title.value !== (s.title || "")) { changes.title = title.value; }
      if (type.value !== s.session_type) { changes.session_type = type.value; }
      if (loc.value !== (s.location || "")) { changes.location = loc.value; }
      if (link.value !== (s.join_link || "")) { changes.join_link = link.value; }
      var capacity = parseInt(cap.value, 10);
      var afterFields = function () {
        if (capacity === s.capacity || isNaN(capacity)) { calendar.refetchEvents(); openSession(s.id); return; }
        write(idUrl(C.urls.capacity, s.id), { capacity: capacity }, function (data) {
          if (data.promoted && data.promoted.length) { status(data.promoted.map(function (n) { return fmt(S.promoted, { name: n }); }).join(" ")); }
          calendar.refetchEvents(); openSession(s.id);
        });
      };
      if (!Object.keys(changes).length) { afterFields(); return; }
      var send = function (scope) { write(idUrl(C.urls.update, s.id), { version: s.version, scope: scope, changes: changes }, afterFields); };
      if (s.series_id) { askScope({ title: s.title, extendedProps: { series_id: s.series_id } }, send); } else { send("one"); }
    });
    var cancelOne = el("button", { type: "button", "class": "btn btn-danger btn-sm", id: "cd-cancel-one", text: S.cancel_one });
    cancelOne.addEventListener("click", function () { cancelSession(s, "one"); });
    var row = el("p", { "class": "cd-cancel-row" }, [cancelOne]);
    if (s.series_id) {
      var cancelFollowing = el("button", { type: "button", "class": "btn btn-danger btn-sm", text: S.cancel_following });
      cancelFollowing.addEventListener("click", function () { cancelSession(s, "following"); });
      row.appendChild(cancelFollowing);
    }
    form.appendChild(row);
    return form;
  }
  function cancelSession(s, scope) {
    if (!window.confirm(scope === "one" ? S.confirm_cancel : S.confirm_cancel_following)) { return; }
    write(idUrl(C.urls.cancel, s.id), { version: s.version, scope: scope }, function () { calendar.refetchEvents(); openSession(s.id); });
  }

  function rosterSection(d) {
    var s = d.session;
    var box = el("section", { "class": "cd-roster", "aria-label": S.roster });
    var canRoster = d.can.roster && s.status === "SCHEDULED";
    box.appendChild(el("h3", { "class": "h5", text: S.roster + " (" + fmt(S.fill, { booked: d.booked.length, capacity: s.capacity }) + ")" }));
    var list = el("ul", { "class": "list-unstyled cd-booked", id: "cd-booked" });
    if (!d.booked.length) { list.appendChild(el("li", { "class": "text-muted", text: S.nobody })); }
    d.booked.forEach(function (p) { list.appendChild(personRow(s, p, canRoster, d.can.roster)); });
    box.appendChild(list);
    if (d.can.roster && d.booked.length) {
      var all = el("button", { type: "button", "class": "btn btn-default btn-xs", id: "cd-mark-all", text: S.mark_all });
      all.addEventListener("click", function () {
        write(idUrl(C.urls.attendance, s.id), { all: true, status: "ATTENDED" }, function (data) { status(fmt(S.attendance_saved, { n: data.count })); openSession(s.id); });
      });
      box.appendChild(all);
    }
    box.appendChild(el("h3", { "class": "h5", text: S.waitlist + " (" + d.waitlist.length + ")" }));
    var wl = el("ol", { "class": "cd-waitlist", id: "cd-waitlist" });
    if (!d.waitlist.length) { wl.className += " list-unstyled"; wl.appendChild(el("li", { "class": "text-muted", text: S.nobody })); }
    d.waitlist.forEach(function (p) {
      var li = el("li", { "data-customer": p.customer_id }, [el("span", { "class": "cd-name", text: p.name })]);
      if (canRoster) { li.appendChild(removeButton(s, p)); }
      wl.appendChild(li);
    });
    box.appendChild(wl);
    if (d.cancelled.length) {
      box.appendChild(el("h3", { "class": "h5", text: S.cancelled_bookings }));
      var cl = el("ul", { "class": "list-unstyled text-muted cd-cancelled" });
      d.cancelled.forEach(function (p) { cl.appendChild(el("li", { text: p.name + " · " + label(S.attendance_statuses, p.attendance) })); });
      box.appendChild(cl);
    }
    if (canRoster) { box.appendChild(addCustomer(s)); }
    return box;
  }
  function removeButton(s, p) {
    var b = el("button", { type: "button", "class": "btn btn-link btn-xs cd-remove", text: S.remove, "aria-label": S.remove + " " + p.name });
    b.addEventListener("click", function () {
      write(idUrl(C.urls.cancel_booking, s.id), { customer_id: p.customer_id }, function (data) {
        var msg = data.late ? S.removed_late : S.removed;
        (data.promoted || []).forEach(function (n) { msg += " " + fmt(S.promoted, { name: n }); });
        status(msg); calendar.refetchEvents(); openSession(s.id);
      });
    });
    return b;
  }
  function personRow(s, p, canRoster, canMark) {
    var li = el("li", { "class": "cd-person", "data-customer": p.customer_id }, [el("div", { "class": "cd-name", text: p.name })]);
    if (canMark) {
      var pairs = ["REGISTERED", "ATTENDED", "NO_SHOW", "LATE_CANCEL"].map(function (k) { return [k, label(S.attendance_statuses, k)]; });
      var att = select("attendance", pairs, p.attendance);
      att.setAttribute("aria-label", S.attendance + " " + p.name);
      att.addEventListener("change", function () {
        write(idUrl(C.urls.attendance, s.id), { customer_ids: [p.customer_id], status: att.value }, function (data) { status(fmt(S.attendance_saved, { n: data.count })); openSession(s.id); });
      });
      var scores = [["", S.no_score], ["1", "1"], ["2", "2"], ["3", "3"], ["4", "4"], ["5", "5"]];
      var fb = select("feedback", scores, p.feedback ? String(p.feedback) : "");
      fb.setAttribute("aria-label", S.feedback + " " + p.name);
      fb.addEventListener("change", function () {
        write(idUrl(C.urls.feedback, s.id), { customer_id: p.customer_id, score: fb.value ? parseInt(fb.value, 10) : null });
      });
      li.appendChild(att); li.appendChild(fb);
    }
    if (canRoster) { li.appendChild(removeButton(s, p)); }
    return li;
  }
  function addCustomer(s) {
    var form = el("form", { "class": "cd-add-customer", id: "cd-add-customer" });
    var listId = "cd-customer-options";
    var input = el("input", { name: "customer", list: listId, autocomplete: "off", placeholder: S.search_customers, maxlength: "100" });
    var options = el("datalist", { id: listId });
    var found = {};
    var timer = null;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        api("GET", C.urls.customers + "?q=" + encodeURIComponent(input.value)).then(function (r) {
          if (!r.ok) { return; }
          options.textContent = "";  // ``found`` keeps earlier matches: the chosen text no longer matches itself
          r.data.results.forEach(function (c) { found[c.text] = c.id; options.appendChild(el("option", { value: c.text })); });
        });
      }, 200);
    });
    form.appendChild(field(S.add_customer, input));
    form.appendChild(options);
    form.appendChild(el("button", { type: "submit", "class": "btn btn-primary btn-sm", id: "cd-book", text: S.book }));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var id = found[input.value];
      if (!id) { showError({ error: S.search_customers }); return; }
      write(idUrl(C.urls.book, s.id), { customer_id: id }, function (data) {
        status(fmt(S[data.outcome] || S.booked, { name: data.name })); calendar.refetchEvents(); openSession(s.id);
      });
    });
    return form;
  }

  // --- creating a session, or availability, by selecting a range ---------------------------------------
  function createForm(info) {
    panelSeq++;
    panelTitle.textContent = S.new_session;
    panelBody.textContent = "";
    var form = el("form", { id: "cd-create-form" });
    var title = el("input", { name: "title", maxlength: "200", required: true });
    var type = select("session_type", typePairs(), "CLASS");
    var cap = el("input", { name: "capacity", type: "number", min: "1", max: "10000", value: "10" });
    var loc = el("input", { name: "location", maxlength: "200" });
    var link = el("input", { name: "join_link", type: "url", maxlength: "2000" });
    form.appendChild(el("p", { "class": "text-muted", text: showTime(wall(info.start)) + " – " + showTime(wall(info.end)) }));
    [field(S.title, title), field(S.type, type)].forEach(function (f) { form.appendChild(f); });
    var coach = null;
    if (C.staff) { coach = select("coach_id", coachPairs(), document.getElementById("cd-f-coach").value); form.appendChild(field(S.coach, coach)); }
    [field(S.capacity, cap), field(S.location, loc), field(S.join_link, link)].forEach(function (f) { form.appendChild(f); });
    var repeat = el("input", { type: "checkbox", name: "repeat", id: "cd-repeat" });
    form.appendChild(el("div", { "class": "checkbox" }, [el("label", {}, [repeat, " " + S.repeat])]));
    var rep = el("fieldset", { "class": "cd-repeat hidden", id: "cd-repeat-fields" }, [el("legend", { "class": "h6", text: S.repeat_days })]);
    var day0 = (info.start.getUTCDay() + 6) % 7;
    var boxes = S.weekdays.map(function (name, i) {
      var b = el("input", { type: "checkbox", value: String(i), name: "weekday" });
      if (i === day0) { b.checked = true; }
      rep.appendChild(el("label", { "class": "checkbox-inline" }, [b, " " + name]));
      return b;
    });
    var count = el("input", { name: "count", type: "number", min: "1", max: "500", value: "10" });
    var until = el("input", { name: "until", type: "date" });
    rep.appendChild(field(S.repeat_count, count));
    rep.appendChild(field(S.repeat_until, until));
    form.appendChild(rep);
    repeat.addEventListener("change", function () { rep.classList.toggle("hidden", !repeat.checked); });
    form.appendChild(el("button", { type: "submit", "class": "btn btn-primary btn-sm", id: "cd-create", text: S.create }));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = {
        title: title.value, session_type: type.value, start: wall(info.start), end: wall(info.end),
        capacity: parseInt(cap.value, 10), location: loc.value, join_link: link.value
      };
      if (coach) { body.coach_id = coach.value; }
      if (repeat.checked) {
        body.repeat = { weekdays: boxes.filter(function (b) { return b.checked; }).map(function (b) { return parseInt(b.value, 10); }) };
        if (until.value) { body.repeat.until = until.value; } else { body.repeat.count = parseInt(count.value, 10); }
      }
      write(C.urls.create, body, function (data) {
        calendar.unselect(); calendar.refetchEvents();
        if (data.sessions && data.sessions.length) { openSession(data.sessions[0].id); }
      });
    });
    panelBody.appendChild(form);
    title.focus();
  }

  function availabilityForm(info) {
    panelSeq++;
    panelTitle.textContent = S.add_availability;
    panelBody.textContent = "";
    var coach = availabilityCoach();
    if (!coach) { panelBody.appendChild(el("p", { text: S.pick_coach })); return; }
    var form = el("form", { id: "cd-avail-form" }, [el("p", { "class": "text-muted", text: showTime(wall(info.start)) + " – " + showTime(wall(info.end)) })]);
    var kind = select("kind", [["weekly", S.weekly_slot], ["EXTRA", S.extra], ["TIME_OFF", S.time_off]], info.allDay ? "TIME_OFF" : "weekly");
    var note = el("input", { name: "note", maxlength: "200" });
    form.appendChild(field(S.type, kind));
    form.appendChild(field(S.note, note));
    form.appendChild(el("button", { type: "submit", "class": "btn btn-primary btn-sm", id: "cd-avail-save", text: S.save }));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var done = function () { calendar.unselect(); calendar.refetchEvents(); status(S.saved); };
      if (kind.value === "weekly") {
        write(C.urls.slot_add, { coach_id: coach, day_of_week: (info.start.getUTCDay() + 6) % 7, start_time: hhmm(info.start), end_time: hhmm(info.end), timezone: C.zone }, done);
      } else {
        write(C.urls.exception_add, { coach_id: coach, kind: kind.value, starts_at: wall(info.start), ends_at: wall(info.end), note: note.value }, done);
      }
    });
    panelBody.appendChild(form);
  }

  function openBlock(ev) {
    panelSeq++;
    var p = ev.extendedProps;
    panelTitle.textContent = p.block_kind === "time_off" ? S.time_off : (p.source === "weekly" ? S.weekly_slot : S.extra);
    panelBody.textContent = "";
    panelBody.appendChild(el("p", { text: showTime(wall(ev.start)) + " – " + showTime(wall(ev.end)) }));
    var del = el("button", { type: "button", "class": "btn btn-danger btn-sm", id: "cd-avail-delete", text: S.delete });
    del.addEventListener("click", function () {
      if (!window.confirm(S.confirm_delete)) { return; }
      var url = p.source === "weekly" ? idUrl(C.urls.slot_delete, p.source_id) : idUrl(C.urls.exception_delete, p.source_id);
      write(url, {}, function () { status(S.deleted); calendar.refetchEvents(); panelBody.textContent = ""; });
    });
    panelBody.appendChild(del);
  }

  // --- the calendar ----------------------------------------------------------------------------------
  var offsetMs = (C.zone_offset_minutes || 0) * 60000;
  var calendar = new window.FullCalendar.Calendar(document.getElementById("cd-calendar"), {
    timeZone: "UTC",
    now: function () { return new Date(Date.now() + offsetMs); },
    locale: C.locale,
    firstDay: 1,
    initialView: "timeGridWeek",
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek" },
    nowIndicator: true,
    scrollTime: "07:00:00",
    height: "auto",
    expandRows: true,
    selectable: !!(C.can.sessions || C.can.availability),
    selectMirror: true,
    editable: !!C.can.sessions,
    eventStartEditable: true,
    eventDurationEditable: true,
    eventSources: [{ id: "sessions", events: sessionsSource }, { id: "availability", events: availabilitySource }],
    eventContent: eventContent,
    eventDidMount: eventDidMount,
    select: function (info) {
      hideAlert();
      if (availMode) { availabilityForm(info); } else if (C.can.sessions) { createForm(info); }
    },
    eventClick: function (info) {
      info.jsEvent.preventDefault();
      var p = info.event.extendedProps;
      if (p.kind === "availability") { if (availMode) { openBlock(info.event); } return; }
      openSession(info.event.id);
    },
    eventDrop: moved,
    eventResize: moved
  });
  calendar.render();
  root.calendar = calendar;  // for the browser tests and the keyboard shortcuts below

  document.getElementById("cd-filters").addEventListener("change", function (e) {
    if (e.target.id === "cd-avail-mode") {
      availMode = e.target.checked;
      root.classList.toggle("cd-avail-editing", availMode);
      status(availMode ? S.availability_help : "");
    }
    calendar.refetchEvents();
  });
  document.getElementById("cd-alert-close").addEventListener("click", hideAlert);
  document.getElementById("cd-save-anyway").addEventListener("click", function () { if (retry) { var again = retry; hideAlert(); again(); } });
  var help = document.getElementById("cd-help");
  var helpToggle = document.getElementById("cd-help-toggle");
  function toggleHelp() { help.classList.toggle("hidden"); helpToggle.setAttribute("aria-expanded", String(!help.classList.contains("hidden"))); }
  helpToggle.addEventListener("click", toggleHelp);
  var feedButton = document.getElementById("cd-feed-rotate");
  if (feedButton) {
    feedButton.addEventListener("click", function () {
      if (!window.confirm(S.feed_confirm)) { return; }
      write(C.urls.feed_rotate, { coach_id: C.own_coach_id }, function (data) {
        var box = document.getElementById("cd-feed-url");
        box.textContent = "";
        box.appendChild(el("span", { text: S.feed_rotated + " " }));
        box.appendChild(el("code", { id: "cd-feed-address", text: data.url }));
        box.classList.remove("hidden");
      });
    });
  }

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || (t && /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) || (t && t.isContentEditable)) { return; }
    var views = { d: "timeGridDay", w: "timeGridWeek", m: "dayGridMonth", l: "listWeek" };
    if (e.key === "t") { calendar.today(); } else if (e.key === "ArrowLeft") { calendar.prev(); } else if (e.key === "ArrowRight") { calendar.next(); } else if (views[e.key]) { calendar.changeView(views[e.key]); } else if (e.key === "?") { toggleHelp(); } else if (e.key === "a") {
      var box = document.getElementById("cd-avail-mode");
      if (!box) { return; }
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    } else { return; }
    e.preventDefault();
  });
}());

/* Coachdesk automation rule editor: a rule built from selects, inputs and buttons, never typed as JSON.
 * The page carries the catalogue (#cd-re-catalogue), the strings (#cd-re-strings, translated on the
 * server) and the rule (#cd-re-config). Every change is checked by the server (rules.check), whose
 * problems are shown beside the widget their path names ("condition.all[1].value",
 * "actions[0].params.url") and in a summary at the top. User content is set with textContent only. */
(function () {
  "use strict";

  var root = document.getElementById("cd-rule-editor");
  if (!root) { return; }
  var S = JSON.parse(document.getElementById("cd-re-strings").textContent);
  var K = JSON.parse(document.getElementById("cd-re-catalogue").textContent);
  var C = JSON.parse(document.getElementById("cd-re-config").textContent);
  var csrf = root.getAttribute("data-csrf");
  var readOnly = !C.can_write;
  var rule = C.rule;             // the saved rule's document, or null for a new one
  var draft = C.draft;           // what the editor edits: rules.RuleDraft as JSON
  var tree = null;               // the condition as editable groups and comparisons
  var customerId = "";           // the customer previews are made with
  var customerLabel = "";
  var dirty = false;
  var checkTimer = null;
  var checkSeq = 0;
  var uid = 0;
  var previewTimers = {};
  var showLive = !!C.rule;       // a new rule's problems wait for its first save, not its first keystroke

  function $(id) { return document.getElementById(id); }
  function fmt(template, values) {
    return String(template).replace(/%\(([a-z_]+)\)s/g, function (m, key) {
      return values && values[key] !== undefined && values[key] !== null ? String(values[key]) : m;
    });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (k === "text") { node.textContent = v; } else if (v !== null && v !== undefined && v !== false) { node.setAttribute(k, v === true ? "" : v); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return node;
  }
  function nextId(prefix) { uid += 1; return "cd-re-" + prefix + "-" + uid; }
  function idUrl(template, id) { return template.replace(/\/0(?=[\/.]|$)/, "/" + encodeURIComponent(id)); }
  function option(value, label, selected) {
    return el("option", { value: value, selected: selected ? true : null, text: label });
  }
  function fillSelect(select, items, current, empty) {
    select.textContent = "";
    if (empty !== undefined && empty !== null) { select.appendChild(option("", empty, !current)); }
    items.forEach(function (item) { select.appendChild(option(item.value, item.label, item.value === current)); });
    if (current && !items.some(function (i) { return i.value === current; })) {
      select.appendChild(option(current, current, true));  // a stored value the catalogue no longer offers
    }
  }
  function unitLabel(code) { return (S.units && S.units[code]) || code; }
  function message(text) { $("cd-re-message").textContent = text || ""; }
  function find(list, key, value) {
    for (var i = 0; i < list.length; i += 1) { if (list[i][key] === value) { return list[i]; } }
    return null;
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

  // ---- the trigger ---------------------------------------------------------------------------------------------

  function triggerSpec() { return find(K.triggers, "value", draft.trigger_type) || K.triggers[0]; }
  function eventSpec(name) { return find(K.events, "name", name || ""); }
  function conditionFields() {
    var spec = triggerSpec();
    if (spec.source !== "event") { return K.segment_fields; }
    var ev = eventSpec(draft.trigger_event);
    return ev && spec.events.indexOf(ev.name) >= 0 ? ev.fields : [];
  }
  function fieldSpec(name) { return find(conditionFields(), "name", name); }

  function renderTrigger() {
    var spec = triggerSpec();
    $("cd-re-trigger-help").textContent = spec.help;
    $("cd-re-event-group").classList.toggle("hidden", spec.source !== "event");
    $("cd-re-schedule-group").classList.toggle("hidden", spec.source !== "schedule");
    $("cd-re-inactivity-group").classList.toggle("hidden", spec.source !== "inactivity");
    var eventSelect = $("cd-re-event");
    var events = K.events.filter(function (e) { return spec.events.indexOf(e.name) >= 0; })
      .map(function (e) { return { value: e.name, label: e.label }; });
    fillSelect(eventSelect, events, draft.trigger_event, spec.fixed_event ? null : S.choose);
    eventSelect.disabled = readOnly || !!spec.fixed_event;
    var ev = eventSpec(draft.trigger_event);
    $("cd-re-event-help").textContent = ev ? ev.description : "";
  }

  function setTrigger(value) {
    draft.trigger_type = value;
    var spec = triggerSpec();
    if (spec.fixed_event) {
      draft.trigger_event = spec.fixed_event;
    } else if (spec.events.indexOf(draft.trigger_event) < 0) {
      draft.trigger_event = null;
    }
    if (spec.source === "schedule" && !draft.schedule_timezone) { draft.schedule_timezone = C.zone; }
    if (spec.source === "schedule" && !draft.schedule_cron) { draft.schedule_cron = K.cron_presets[0].value; $("cd-re-cron").value = draft.schedule_cron; }
    if (spec.source === "inactivity" && !draft.inactivity_days) { draft.inactivity_days = 14; $("cd-re-inactivity").value = "14"; }
    renderTrigger();
    forgetMissingFields(tree);
    renderCondition();
    changed();
  }

  // ---- the condition: groups (all / any / not) of comparisons ---------------------------------------------------

  function group(kind, children) { return { type: "group", kind: kind, children: children || [], path: "" }; }
  function leaf(fieldName, op, value) { return { type: "leaf", field: fieldName || "", op: op || "", value: value, path: "" }; }

  function fromJson(node) {
    if (!node || typeof node !== "object") { return leaf(); }
    if (Array.isArray(node.all)) { return group("all", node.all.map(fromJson)); }
    if (Array.isArray(node.any)) { return group("any", node.any.map(fromJson)); }
    if (node.not && typeof node.not === "object") {
      var inner = node.not;
      return group("not", Array.isArray(inner.all) ? inner.all.map(fromJson) : [fromJson(inner)]);
    }
    return leaf(node.field, node.op, node.value);
  }
  function rootFromJson(condition) {
    if (!condition || !Object.keys(condition).length) { return group("all", []); }
    var node = fromJson(condition);
    return node.type === "group" ? node : group("all", [node]);
  }

  // The JSON of a node; records each node's path, which the server's problems name.
  function join(path, key) { return path ? path + "." + key : key; }
  function toJson(node, path) {
    node.path = path;
    if (node.type === "leaf") {
      var out = { field: node.field, op: node.op };
      if (node.value !== undefined && node.value !== null) { out.value = node.value; }
      return out;
    }
    if (node.kind === "not") {
      if (node.children.length === 1) { return { not: toJson(node.children[0], join(path, "not")) }; }
      return { not: { all: node.children.map(function (c, i) { return toJson(c, join(path, "not.all[" + i + "]")); }) } };
    }
    var key = node.kind;
    var body = {};
    body[key] = node.children.map(function (c, i) { return toJson(c, join(path, key + "[" + i + "]")); });
    return body;
  }
  function conditionJson() {
    if (tree.kind !== "not" && !tree.children.length) { tree.path = ""; return null; }
    return toJson(tree, "");
  }
  function countLeaves(node) {
    return node.type === "leaf" ? 1 : node.children.reduce(function (n, c) { return n + countLeaves(c); }, 0);
  }
  function forgetMissingFields(node) {
    if (node.type === "leaf") {
      if (node.field && !fieldSpec(node.field)) { node.field = ""; node.op = ""; node.value = null; }
      return;
    }
    node.children.forEach(forgetMissingFields);
  }

  function operatorsFor(spec) { return spec ? (K.operators.by_kind[spec.kind] || []) : []; }
  function operatorLabel(spec, op) {
    if (spec && (spec.kind === "date" || spec.kind === "datetime") && K.operators.date_labels[op]) { return K.operators.date_labels[op]; }
    return K.operators.labels[op] || op;
  }
  function defaultValue(spec, op) {
    if (!spec) { return null; }
    if (op === "exists") { return true; }
    if (op === "in") { return []; }
    if (spec.kind === "enum") { return spec.choices[0].value; }
    if (spec.kind === "boolean") { return true; }
    return null;
  }

  // Values between JSON and widgets, by the field's kind.
  function parseScalar(kind, text) {
    var raw = String(text).trim();
    if (raw === "") { return null; }
    if (kind === "number" || kind === "integer") { var n = Number(raw); return isFinite(n) ? n : raw; }
    if (kind === "datetime") { return raw.length === 16 ? raw + ":00+00:00" : raw; }
    if (kind === "boolean") { return raw === "true"; }
    return raw;
  }
  function showScalar(kind, value) {
    if (value === null || value === undefined) { return ""; }
    if (kind === "datetime") {
      var d = new Date(value);
      return isNaN(d.getTime()) ? String(value) : d.toISOString().slice(0, 16);  // shown in UTC
    }
    return String(value);
  }

  function valueWidget(node, spec, id) {
    var attrs = { id: id, class: "form-control input-sm cd-re-value", "data-path": join("condition", join(node.path, "value")) };
    var widget;
    var kind = spec.kind;
    if (node.op === "exists" || kind === "boolean") {
      widget = el("select", attrs, [option("true", S.yes, node.value !== false), option("false", S.no, node.value === false)]);
      widget.addEventListener("change", function () { node.value = widget.value === "true"; changed(); });
      return widget;
    }
    if (node.op === "in" && kind === "enum") {
      attrs.multiple = true;
      attrs.size = String(Math.min(6, spec.choices.length));
      var chosen = Array.isArray(node.value) ? node.value : [];
      widget = el("select", attrs, spec.choices.map(function (c) { return option(c.value, c.label, chosen.indexOf(c.value) >= 0); }));
      widget.addEventListener("change", function () {
        node.value = Array.prototype.filter.call(widget.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
        changed();
      });
      return widget;
    }
    if (kind === "enum") {
      widget = el("select", attrs, spec.choices.map(function (c) { return option(c.value, c.label, c.value === node.value); }));
      widget.addEventListener("change", function () { node.value = widget.value; changed(); });
      return widget;
    }
    if (node.op === "in") {
      attrs.type = "text";
      attrs.title = S.values_help;
      attrs.placeholder = S.values_help;
      widget = el("input", attrs);
      widget.value = (Array.isArray(node.value) ? node.value : []).map(function (v) { return showScalar(kind, v); }).join(", ");
      widget.addEventListener("input", function () {
        node.value = widget.value.split(",").map(function (p) { return parseScalar(kind, p); }).filter(function (v) { return v !== null; });
        changed();
      });
      return widget;
    }
    attrs.type = { number: "number", integer: "number", date: "date", datetime: "datetime-local" }[kind] || "text";
    if (kind === "number") { attrs.step = "any"; }
    if (kind === "integer") { attrs.step = "1"; }
    widget = el("input", attrs);
    widget.value = showScalar(kind, node.value);
    widget.addEventListener("input", function () { node.value = parseScalar(kind, widget.value); changed(); });
    return widget;
  }

  function renderLeaf(node, parent, index) {
    var spec = fieldSpec(node.field);
    var base = join("condition", node.path);
    var fieldId = nextId("field"), opId = nextId("op"), valueId = nextId("value");
    var n = index + 1;
    var fieldSelect = el("select", { id: fieldId, class: "form-control input-sm", "data-path": join(base, "field"),
      "data-focus": join(base, "field"), disabled: readOnly });
    fillSelect(fieldSelect, conditionFields().map(function (f) { return { value: f.name, label: f.label }; }), node.field, S.choose_field);
    fieldSelect.addEventListener("change", function () {
      node.field = fieldSelect.value;
      var next = fieldSpec(node.field);
      node.op = operatorsFor(next)[0] || "";
      node.value = defaultValue(next, node.op);
      renderCondition(fieldId);
      changed();
    });
    var parts = [el("label", { for: fieldId, class: "sr-only", text: S.field + " " + n }), fieldSelect];
    if (spec) {
      var opSelect = el("select", { id: opId, class: "form-control input-sm", "data-path": join(base, "op"),
        "data-focus": join(base, "op"), disabled: readOnly });
      fillSelect(opSelect, operatorsFor(spec).map(function (op) { return { value: op, label: operatorLabel(spec, op) }; }), node.op);
      opSelect.addEventListener("change", function () {
        var before = node.op;
        node.op = opSelect.value;
        if (before === "in" || node.op === "in" || before === "exists" || node.op === "exists") { node.value = defaultValue(spec, node.op); }
        renderCondition(opId);
        changed();
      });
      var value = valueWidget(node, spec, valueId);
      value.disabled = readOnly;
      parts.push(el("label", { for: opId, class: "sr-only", text: S.operator + " " + n }), opSelect,
        el("label", { for: valueId, class: "sr-only", text: S.value + " " + n }), value);
      if (spec.unit && (spec.kind === "number" || spec.kind === "integer")) { parts.push(el("span", { class: "cd-re-unit", text: unitLabel(spec.unit) })); }
      if (spec.kind === "datetime" && node.op !== "exists") { parts.push(el("span", { class: "cd-re-unit", text: S.utc })); }
    }
    if (!readOnly) {
      var remove = el("button", { type: "button", class: "btn btn-default btn-sm cd-re-remove", "aria-label": S.remove + " " + n, text: S.remove });
      remove.addEventListener("click", function () { parent.children.splice(index, 1); renderCondition(); changed(); });
      parts.push(remove);
    }
    return el("div", { class: "cd-re-leaf", "data-path": base }, parts);
  }

  function renderGroup(node, parent, index, depth) {
    var base = node.path ? join("condition", node.path) : "condition";
    var kindId = nextId("group");
    var kindSelect = el("select", { id: kindId, class: "form-control input-sm", "data-focus": base + "/kind", disabled: readOnly }, [
      option("all", S.all_of, node.kind === "all"), option("any", S.any_of, node.kind === "any"), option("not", S.none_of, node.kind === "not"),
    ]);
    kindSelect.addEventListener("change", function () { node.kind = kindSelect.value; renderCondition(kindId); changed(); });
    var head = el("div", { class: "cd-re-group-head" }, [el("label", { for: kindId, text: S.group_kind }), kindSelect]);
    if (parent && !readOnly) {
      var removeGroup = el("button", { type: "button", class: "btn btn-default btn-sm", text: S.remove_group });
      removeGroup.addEventListener("click", function () { parent.children.splice(index, 1); renderCondition(); changed(); });
      head.appendChild(removeGroup);
    }
    var list = el("div", { class: "cd-re-children" });
    node.children.forEach(function (child, i) {
      list.appendChild(child.type === "group" ? renderGroup(child, node, i, depth + 1) : renderLeaf(child, node, i));
    });
    if (!parent && !node.children.length) { list.appendChild(el("p", { class: "text-muted cd-re-always", text: S.always })); }
    var box = el("fieldset", { class: "cd-re-group cd-re-depth-" + Math.min(depth, 4), "data-path": base }, [
      el("legend", { class: "sr-only", text: S.group_kind }), head, list,
    ]);
    if (!readOnly) {
      var foot = el("div", { class: "cd-re-group-foot" });
      var addLeaf = el("button", { type: "button", class: "btn btn-default btn-sm", text: S.add_comparison });
      addLeaf.addEventListener("click", function () {
        if (countLeaves(tree) >= K.limits.max_leaves) { return; }
        node.children.push(leaf());
        renderCondition();
        focusLast(box, "select");
        changed();
      });
      foot.appendChild(addLeaf);
      if (depth < K.limits.max_depth - 2) {
        var addGroup = el("button", { type: "button", class: "btn btn-default btn-sm", text: S.add_group });
        addGroup.addEventListener("click", function () {
          node.children.push(group("any", [leaf()]));
          renderCondition();
          focusLast(box, "select");
          changed();
        });
        foot.appendChild(addGroup);
      }
      box.appendChild(foot);
    }
    return box;
  }

  function focusLast(box, selector) {
    var again = document.querySelector('#cd-re-condition fieldset[data-path="' + box.getAttribute("data-path") + '"]');
    var children = again && again.querySelector(".cd-re-children");
    var last = children && children.lastElementChild;
    var target = last && (last.matches(selector) ? last : last.querySelector(selector));
    if (target) { target.focus(); }
  }

  // Re-draw the condition; ``focusId`` names the widget that had the focus, found again by its data-focus key.
  function renderCondition(focusId) {
    var holder = $("cd-re-condition");
    var focusKey = focusId && $(focusId) ? $(focusId).getAttribute("data-focus") : null;
    var json = conditionJson();
    holder.textContent = "";
    holder.appendChild(renderGroup(tree, null, 0, 1));
    $("cd-re-condition-json").textContent = JSON.stringify(json, null, 2);
    var target = focusKey ? holder.querySelector('[data-focus="' + focusKey + '"]') : null;
    if (target) { target.focus(); }
  }

  // ---- actions -------------------------------------------------------------------------------------------------

  function actionSpec(code) { return find(K.actions, "code", code); }

  function placeholderTokens(spec) {
    return (spec.placeholders || []).map(function (p) {
      if (typeof p === "string") { return { token: p.charAt(0) === "{" ? p : "{" + p + "}", label: p }; }
      return { token: p.token || "{" + p.name + "}", label: p.label || p.name };
    });
  }

  function paramValue(param, raw) {
    if (raw === "" || raw === null || raw === undefined) { return undefined; }
    if (param.kind === "number") { var n = Number(raw); return isFinite(n) ? n : raw; }
    return raw;
  }

  function paramWidget(action, index, param, spec) {
    var id = nextId("param");
    var path = "actions[" + index + "].params." + param.name;
    var current = action.params[param.name];
    var attrs = { id: id, class: "form-control", "data-path": path, disabled: readOnly, required: param.required ? true : null };
    var widget;
    var choices = param.choices || (K.options[param.kind] && K.options[param.kind].length ? K.options[param.kind] : null);
    var label = el("label", { for: id, text: param.label + (param.required ? " *" : "") });
    var extra = [];
    if (param.kind === "template") {
      attrs.rows = "4";
      if (param.max_length) { attrs.maxlength = String(param.max_length); }
      widget = el("textarea", attrs);
      widget.value = current || "";
      var tokens = placeholderTokens(spec);
      if (tokens.length && !readOnly) {
        var chips = el("div", { class: "cd-re-chips", role: "group", "aria-label": S.placeholders }, [el("span", { class: "cd-re-chips-label", text: S.placeholders })]);
        tokens.forEach(function (t) {
          var chip = el("button", { type: "button", class: "btn btn-default btn-xs cd-re-chip", title: t.label, text: t.token });
          chip.addEventListener("click", function () {
            var start = widget.selectionStart || 0, end = widget.selectionEnd || 0;
            widget.setRangeText(t.token, start, end, "end");
            widget.dispatchEvent(new Event("input"));
            widget.focus();
            message(fmt(S.inserted, { token: t.token }));
          });
          chips.appendChild(chip);
        });
        extra.push(chips);
      }
    } else if (choices && (param.kind === "enum" || param.kind === "badge" || param.kind === "coach")) {
      widget = el("select", attrs);
      fillSelect(widget, choices, current === undefined || current === null ? "" : String(current),
        param.required && param.default !== undefined ? null : S.choose);
    } else {
      attrs.type = { number: "number", url: "url" }[param.kind] || "text";
      if (param.kind === "number") {
        attrs.step = "any";
        if (param.minimum !== undefined) { attrs.min = String(param.minimum); }
        if (param.maximum !== undefined) { attrs.max = String(param.maximum); }
      }
      if (param.max_length) { attrs.maxlength = String(param.max_length); }
      if (param.kind === "segment" && K.options.segment.length) {
        attrs.list = id + "-list";
        extra.push(el("datalist", { id: id + "-list" }, K.options.segment.map(function (o) { return option(o.value, o.label); })));
      }
      widget = el("input", attrs);
      widget.value = current === undefined || current === null ? "" : String(current);
    }
    var eventName = widget.tagName === "SELECT" ? "change" : "input";
    widget.addEventListener(eventName, function () {
      var value = paramValue(param, widget.value);
      if (value === undefined) { delete action.params[param.name]; } else { action.params[param.name] = value; }
      changed();
      schedulePreview(index);
      if (builtin) { builtin.textContent = builtinText(spec, widget.value); }
    });
    var builtin = null;
    if (spec.builtin_texts && param.kind === "enum" && param.name === "template_key") {
      builtin = el("p", { class: "cd-re-builtin", text: builtinText(spec, widget.value) });
      extra.push(builtin);
    }
    var inner = [widget];
    if (param.unit) { inner = [el("div", { class: "input-group" }, [widget, el("span", { class: "input-group-addon", text: unitLabel(param.unit) })])]; }
    var help = param.help ? el("p", { class: "help-block", text: param.help }) : null;
    return el("div", { class: "form-group" }, [label].concat(inner, extra, [help]));
  }

  function builtinText(spec, key) {
    var found = key ? find(spec.builtin_texts || [], "key", key) : null;
    return found ? found.text : "";
  }

  function renderActions(focusSelector) {
    var list = $("cd-re-action-list");
    list.textContent = "";
    if (!draft.actions.length) { list.appendChild(el("li", { class: "text-muted", text: K.actions.length ? S.no_actions : S.no_catalogue })); }
    draft.actions.forEach(function (action, index) {
      var spec = actionSpec(action.type) || { code: action.type, label: action.type, description: "", params: [] };
      var title = el("h3", { class: "panel-title", text: fmt(S.action_n, { n: index + 1 }) + ": " + spec.label });
      var tools = el("div", { class: "btn-group btn-group-xs cd-re-action-tools" });
      if (!readOnly) {
        [["up", S.move_up, index > 0], ["down", S.move_down, index < draft.actions.length - 1], ["remove", S.remove, true]].forEach(function (b) {
          var button = el("button", { type: "button", class: "btn btn-default", "data-do": b[0], disabled: b[2] ? null : true,
            "aria-label": b[1] + ": " + fmt(S.action_n, { n: index + 1 }), text: b[1] });
          button.addEventListener("click", function () { moveAction(index, b[0]); });
          tools.appendChild(button);
        });
      }
      var body = el("div", { class: "panel-body" }, [spec.description ? el("p", { class: "text-muted", text: spec.description }) : null]);
      spec.params.forEach(function (param) { body.appendChild(paramWidget(action, index, param, spec)); });
      var previewButton = el("button", { type: "button", class: "btn btn-default btn-sm", text: S.preview });
      previewButton.addEventListener("click", function () { preview(index); });
      var output = el("div", { class: "cd-re-preview-out", id: "cd-re-preview-" + index, "aria-live": "polite" });
      body.appendChild(el("div", { class: "cd-re-preview" }, [previewButton, output]));
      list.appendChild(el("li", { class: "panel panel-default cd-re-action", "data-path": "actions[" + index + "]", "data-type": action.type }, [
        el("div", { class: "panel-heading" }, [title, tools]), body,
      ]));
    });
    if (focusSelector) { var target = list.querySelector(focusSelector); if (target) { target.focus(); } }
  }

  function moveAction(index, how) {
    var actions = draft.actions;
    var focus = null;
    if (how === "remove") {
      actions.splice(index, 1);
      focus = null;
    } else {
      var to = how === "up" ? index - 1 : index + 1;
      var moved = actions.splice(index, 1)[0];
      actions.splice(to, 0, moved);
      focus = '[data-path="actions[' + to + ']"] [data-do="' + how + '"]:not([disabled])';
    }
    renderActions(focus);
    if (how === "remove") { $("cd-re-action-type") && $("cd-re-action-type").focus(); }
    changed();
    refreshPreviews();
  }

  function addAction() {
    var code = $("cd-re-action-type").value;
    var spec = actionSpec(code);
    if (!spec || draft.actions.length >= K.limits.max_actions) { return; }
    var params = {};
    spec.params.forEach(function (p) { if (p.default !== undefined && p.default !== null) { params[p.name] = p.default; } });
    draft.actions.push({ type: code, params: params });
    renderActions('[data-path="actions[' + (draft.actions.length - 1) + ']"] .form-control');
    changed();
    refreshPreviews();
  }

  // ---- previews with a real customer ---------------------------------------------------------------------------

  function preview(index) {
    var out = $("cd-re-preview-" + index);
    var action = draft.actions[index];
    if (!out || !action) { return; }
    if (!customerId) { out.className = "cd-re-preview-out text-muted"; out.textContent = S.pick_customer; return; }
    out.className = "cd-re-preview-out text-muted";
    out.textContent = S.previewing;
    api("POST", C.urls.preview, { action: action, step: index, customer_id: customerId, trigger_event: draft.trigger_event, name: draft.name })
      .then(function (r) {
        if (!$("cd-re-preview-" + index)) { return; }
        if (r.ok && r.data.preview !== null && r.data.preview !== undefined) {
          out.className = "cd-re-preview-out alert alert-info";
          out.textContent = r.data.preview;
        } else {
          out.className = "cd-re-preview-out alert alert-warning";
          var reason = r.ok ? r.data.problem : ((r.data.problems || []).map(function (p) { return p.message; }).join(" ") || r.data.error || S.error);
          out.textContent = r.ok ? fmt(S.preview_failed, { reason: reason }) : reason;
        }
      });
  }
  function schedulePreview(index) {
    if (!customerId) { return; }
    clearTimeout(previewTimers[index]);
    previewTimers[index] = setTimeout(function () { preview(index); }, 600);
  }
  function refreshPreviews() { draft.actions.forEach(function (a, i) { if (customerId) { schedulePreview(i); } else { preview(i); } }); }

  var searchTimer = null;
  function searchCustomers() {
    var q = $("cd-re-customer-q").value;
    api("GET", C.urls.customers + "?q=" + encodeURIComponent(q)).then(function (r) {
      if (!r.ok) { return; }
      var select = $("cd-re-customer");
      var items = r.data.map(function (c) { return { value: c.id, label: c.text }; });
      if (customerId && !find(items, "value", customerId)) { items.unshift({ value: customerId, label: customerLabel }); }
      fillSelect(select, items, customerId, items.length ? S.choose : S.no_customers);
    });
  }

  // ---- settings ------------------------------------------------------------------------------------------------

  function renderSettings() {
    fillSelect($("cd-re-frequency"), K.frequencies, draft.frequency);
    $("cd-re-frequency-days").value = draft.frequency_days || "";
    $("cd-re-frequency-days-group").classList.toggle("hidden", draft.frequency !== "ONCE_PER_PERIOD");
    $("cd-re-quiet-start").value = draft.quiet_start || "";
    $("cd-re-quiet-end").value = draft.quiet_end || "";
    fillSelect($("cd-re-coach"), K.options.coach, draft.coach_id || "", S.all_customers);
  }

  // ---- checking, problems and the rule's state -----------------------------------------------------------------

  function currentDraft() {
    var out = {};
    Object.keys(draft).forEach(function (k) { out[k] = draft[k]; });
    out.condition = conditionJson();
    out.actions = draft.actions.map(function (a) { return { type: a.type, params: a.params }; });
    return out;
  }

  function changed() {
    $("cd-re-condition-json").textContent = JSON.stringify(conditionJson(), null, 2);
    if (!readOnly && !dirty) {
      dirty = true;
      $("cd-re-dirty").classList.remove("hidden");
      renderState();  // lifecycle steps wait for the save
    }
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, 400);
  }

  function check() {
    checkSeq += 1;
    var seq = checkSeq;
    return api("POST", C.urls.check, { draft: currentDraft() }).then(function (r) {
      if (seq !== checkSeq) { return r; }
      if (!r.ok) { showProblems([{ path: "", message: r.data.error || S.error }]); return r; }
      if (showLive) { showProblems(r.data.problems); }
      var next = $("cd-re-next-list");
      next.textContent = "";
      (r.data.next_fires.length ? r.data.next_fires : [S.no_next_runs]).forEach(function (t) { next.appendChild(el("li", { text: t })); });
      $("cd-re-condition-text").textContent = r.data.condition_text ? fmt(S.condition_in_words, { text: r.data.condition_text }) : "";
      return r;
    });
  }

  // The widget a problem's path names: the path itself, else the nearest enclosing one.
  function targetFor(path) {
    var p = path;
    while (p) {
      var found = root.querySelector('[data-path="' + p.replace(/"/g, "") + '"]');
      if (found) { return found; }
      var cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      p = cut > 0 ? p.slice(0, cut) : "";
    }
    return null;
  }

  // A problem as the summary says it: which action or the condition it is about, then the message.
  function summaryText(problem) {
    var action = /^actions\[(\d+)\]/.exec(problem.path || "");
    if (action) { return fmt(S.problem_in_action, { n: Number(action[1]) + 1, message: problem.message }); }
    if ((problem.path || "").indexOf("condition") === 0) { return fmt(S.problem_in_condition, { message: problem.message }); }
    return problem.message;
  }

  // Problems beside their widgets: a form group turns red, a comparison's control is marked invalid, a group
  // or list gets a red edge; each message also goes to the summary, whose links move the focus to the widget.
  function showProblems(problems) {
    Array.prototype.forEach.call(root.querySelectorAll(".cd-re-problem"), function (n) { n.parentNode.removeChild(n); });
    Array.prototype.forEach.call(root.querySelectorAll(".has-error, .cd-re-error"), function (n) { n.classList.remove("has-error", "cd-re-error"); });
    Array.prototype.forEach.call(root.querySelectorAll("[aria-invalid]"), function (n) { n.removeAttribute("aria-invalid"); n.removeAttribute("aria-describedby"); });
    var list = $("cd-re-problem-list");
    list.textContent = "";
    (problems || []).forEach(function (problem) {
      var target = targetFor(problem.path);
      var id = nextId("problem");
      var note = el("p", { id: id, class: "help-block cd-re-problem", "data-for": problem.path, text: problem.message });
      if (target && target.matches("input, select, textarea")) {
        var holder = target.closest(".form-group, .cd-re-leaf") || target.parentNode;
        if (holder.classList.contains("form-group")) { holder.classList.add("has-error"); }
        holder.appendChild(note);
        target.setAttribute("aria-invalid", "true");
        target.setAttribute("aria-describedby", id);
      } else if (target && target.classList.contains("form-group")) {
        target.classList.add("has-error");
        target.appendChild(note);
      } else if (target) {
        target.classList.add("cd-re-error");
        var before = target.tagName === "FIELDSET" ? target.querySelector(".cd-re-children") : null;
        target.insertBefore(note, before);
      }
      var text = summaryText(problem);
      var item = el("li", {}, [target ? el("a", { href: "#", text: text }) : text]);
      if (target) {
        item.firstChild.addEventListener("click", function (event) {
          event.preventDefault();
          var focusable = target.matches("input, select, textarea, button") ? target : target.querySelector("input, select, textarea, button");
          (focusable || target).focus();
        });
      }
      list.appendChild(item);
    });
    $("cd-re-problems").classList.toggle("hidden", !(problems && problems.length));
  }

  function renderState() {
    var statusBox = $("cd-re-status");
    var transitions = $("cd-re-transitions");
    if (!rule) {
      statusBox.textContent = S.new_rule;
      statusBox.className = "label label-default cd-re-status";
      ["cd-re-version", "cd-re-streak", "cd-re-updated"].forEach(function (id) { $(id).textContent = ""; });
      $("cd-re-paused").classList.add("hidden");
      if (transitions) { transitions.textContent = ""; }
      return;
    }
    statusBox.textContent = rule.status_label;
    statusBox.className = "label cd-re-status cd-re-status-" + rule.status;
    $("cd-re-version").textContent = fmt(S.version, { v: rule.version });
    $("cd-re-streak").textContent = fmt(S.streak, { n: rule.failure_streak });
    $("cd-re-updated").textContent = rule.updated_at ? fmt(S.updated, { when: rule.updated_at }) : "";
    var paused = $("cd-re-paused");
    paused.textContent = rule.paused_reason || "";
    paused.classList.toggle("hidden", !rule.paused_reason);
    if (!transitions) { return; }
    transitions.textContent = "";
    rule.transitions.forEach(function (t) {
      var style = t.to === "ACTIVE" ? "btn-success" : (t.to === "ARCHIVED" ? "btn-danger" : "btn-default");
      var button = el("button", { type: "button", class: "btn " + style, "data-to": t.to, disabled: dirty ? true : null,
        title: dirty ? S.save_first : null, text: t.label });
      button.addEventListener("click", function () { transition(t.to); });
      transitions.appendChild(button);
    });
  }

  function adopt(doc) {
    rule = doc;
    draft = doc.draft;
    tree = rootFromJson(draft.condition);
    draft.actions = (draft.actions || []).map(function (a) { return { type: a.type, params: a.params || {} }; });
    dirty = false;
    $("cd-re-dirty").classList.add("hidden");
    $("cd-re-title").textContent = draft.name;
    document.title = draft.name;
    renderState();
  }

  function save() {
    showLive = true;
    message(S.saving);
    var body = { draft: currentDraft() };
    var request = rule ? api("PUT", idUrl(C.urls.update, rule.id), { draft: body.draft, version: rule.version }) : api("POST", C.urls.create, body);
    return request.then(function (r) {
      if (r.ok) {
        var unchanged = rule && r.data.rule.version === rule.version;
        adopt(r.data.rule);
        if (window.history && window.history.replaceState) { window.history.replaceState(null, "", rule.url); }
        message(unchanged ? S.unchanged : fmt(S.saved, { v: rule.version }));
        showProblems([]);
        renderTrigger();
        renderSettings();
        renderCondition();
        renderActions();
        if (customerId) { refreshPreviews(); }
        return r;
      }
      message(r.status === 409 ? S.stale : "");
      showProblems(r.data.problems || [{ path: "", message: r.data.error || S.error }]);
      if (r.data.problems && r.data.problems.length) { $("cd-re-problems").focus(); }
      return r;
    });
  }

  function transition(to) {
    if (to === "ARCHIVED" && !window.confirm(S.confirm_archive)) { return; }
    api("POST", idUrl(C.urls.status, rule.id), { to: to }).then(function (r) {
      if (r.ok) {
        adopt(r.data.rule);
        message(fmt(S.status_changed, { status: rule.status_label }));
        showProblems([]);
        return;
      }
      message("");
      showProblems(r.data.problems || [{ path: "", message: r.data.error || S.error }]);
    });
  }

  // ---- the dry run ---------------------------------------------------------------------------------------------

  function bigNumber(value, label) {
    return el("div", { class: "cd-re-stat" }, [el("span", { class: "cd-re-stat-n", text: String(value) }), el("span", { class: "cd-re-stat-label", text: label })]);
  }

  function renderDryRun(data) {
    var out = $("cd-re-dry-results");
    out.textContent = "";
    var event = data.trigger === "event";
    out.appendChild(el("p", { class: "cd-re-dry-intro", text: event ? fmt(S.dry_event_intro, { days: data.days }) : S.dry_segment_intro }));
    out.appendChild(el("div", { class: "cd-re-stats" }, [
      bigNumber(data.scanned, event ? S.scanned_events : S.scanned_customers),
      bigNumber(data.matched, S.matched),
      bigNumber(data.customers, S.customers),
      bigNumber(data.would_run, S.would_run),
    ]));
    var sample = data.sample || [];
    if (!sample.length) { out.appendChild(el("p", { class: "text-muted", text: S.no_matches })); return; }
    var rows = sample.map(function (row) {
      var why = el("ul", { class: "cd-re-why" }, (row.why || []).map(function (w) { return el("li", { text: w }); }));
      var acts = el("ol", { class: "cd-re-would" }, (row.actions || []).map(function (a) {
        return el("li", {}, [el("strong", { text: a.label + ": " }), a.preview || ""]);
      }));
      return el("tr", {}, [
        el("td", { "data-label": S.col_customer, text: row.customer || row.customer_id || "" }),
        el("td", { "data-label": S.col_when, text: row.occurred_at ? showScalar("datetime", row.occurred_at).replace("T", " ") + " " + S.utc : "" }),
        el("td", { "data-label": S.col_why }, [why]), el("td", { "data-label": S.col_actions }, [acts]),
      ]);
    });
    var head = el("tr", {}, [S.col_customer, S.col_when, S.col_why, S.col_actions].map(function (t) { return el("th", { scope: "col", text: t }); }));
    out.appendChild(el("div", { class: "table-responsive" }, [
      el("table", { class: "table table-condensed table-striped cd-re-sample" }, [el("thead", {}, [head]), el("tbody", {}, rows)]),
    ]));
    if (data.truncated) { out.appendChild(el("p", { class: "text-muted", text: S.truncated })); }
  }

  function dryRun() {
    var out = $("cd-re-dry-results");
    var days = Number($("cd-re-dry-days").value);
    out.textContent = S.dry_running;
    var body = { draft: currentDraft(), days: isFinite(days) && $("cd-re-dry-days").value !== "" ? days : null };
    if (rule) { body.rule_id = rule.id; }
    api("POST", C.urls.dry_run, body).then(function (r) {
      if (r.ok) { renderDryRun(r.data); return; }
      out.textContent = "";
      out.appendChild(el("div", { class: "alert alert-danger", role: "alert", text: r.data.error || S.error }));
      if (r.data.problems) { showProblems(r.data.problems); }
    });
  }

  // ---- wiring --------------------------------------------------------------------------------------------------

  function bindInput(id, key, parse, eventName) {
    var input = $(id);
    input.disabled = readOnly;
    input.addEventListener(eventName || "input", function () { draft[key] = parse ? parse(input.value) : input.value; changed(); });
  }
  function wholeOrText(text) { var raw = String(text).trim(); if (raw === "") { return null; } var n = Number(raw); return Number.isInteger(n) ? n : raw; }
  function textOrNull(text) { return text === "" ? null : text; }

  function init() {
    draft.actions = (draft.actions || []).map(function (a) { return { type: a.type, params: a.params || {} }; });
    tree = rootFromJson(draft.condition);
    $("cd-re-name").value = draft.name || "";
    fillSelect($("cd-re-trigger-type"), K.triggers.map(function (t) { return { value: t.value, label: t.label }; }), draft.trigger_type);
    $("cd-re-cron").value = draft.schedule_cron || "";
    fillSelect($("cd-re-cron-preset"), K.cron_presets, "", S.choose);
    fillSelect($("cd-re-zone"), K.zones.map(function (z) { return { value: z, label: z }; }), draft.schedule_timezone || C.zone);
    $("cd-re-inactivity").value = draft.inactivity_days || "";
    renderTrigger();
    renderSettings();
    renderCondition();
    renderActions();
    renderState();

    bindInput("cd-re-name", "name");
    $("cd-re-trigger-type").disabled = readOnly;
    $("cd-re-trigger-type").addEventListener("change", function () { setTrigger(this.value); });
    $("cd-re-event").addEventListener("change", function () {
      draft.trigger_event = this.value || null;
      renderTrigger();
      forgetMissingFields(tree);
      renderCondition();
      changed();
    });
    bindInput("cd-re-cron", "schedule_cron");
    $("cd-re-cron-preset").disabled = readOnly;
    $("cd-re-cron-preset").addEventListener("change", function () {
      if (!this.value) { return; }
      $("cd-re-cron").value = this.value;
      draft.schedule_cron = this.value;
      changed();
    });
    bindInput("cd-re-zone", "schedule_timezone", null, "change");
    bindInput("cd-re-inactivity", "inactivity_days", wholeOrText);
    bindInput("cd-re-frequency", "frequency", null, "change");
    $("cd-re-frequency").addEventListener("change", function () {
      $("cd-re-frequency-days-group").classList.toggle("hidden", draft.frequency !== "ONCE_PER_PERIOD");
    });
    bindInput("cd-re-frequency-days", "frequency_days", wholeOrText);
    bindInput("cd-re-quiet-start", "quiet_start", textOrNull);
    bindInput("cd-re-quiet-end", "quiet_end", textOrNull);
    bindInput("cd-re-coach", "coach_id", textOrNull, "change");

    if (!readOnly) {
      fillSelect($("cd-re-action-type"), K.actions.map(function (a) { return { value: a.code, label: a.label }; }), "", K.actions.length ? S.choose : S.no_catalogue);
      $("cd-re-action-add").addEventListener("click", addAction);
      $("cd-re-save").addEventListener("click", save);
    }
    $("cd-re-dry-run").addEventListener("click", dryRun);
    $("cd-re-customer-q").addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(searchCustomers, 300); });
    $("cd-re-customer").addEventListener("change", function () {
      customerId = this.value;
      customerLabel = this.selectedIndex >= 0 ? this.options[this.selectedIndex].text : "";
      refreshPreviews();
    });
    window.addEventListener("beforeunload", function (event) { if (dirty) { event.preventDefault(); event.returnValue = ""; } });
    searchCustomers();
    check();
  }

  init();
}());

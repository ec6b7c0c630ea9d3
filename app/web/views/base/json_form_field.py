"""The WTForms field that edits a ``*_json`` column with the inputs ``json_form`` generates, and its show view.

One field renders every input of the schema (named ``<column>.<property path>``) and puts the JSON back
together on submit; a marker input says the form was posted, so an all-blank form is told from no form.
An Admin also gets the raw JSON in a disclosure: ticking "save the raw JSON" (opening it ticks it) saves
that text instead, still checked against the schema. Nothing reaches the row unless the whole value is valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from flask import g, render_template
from flask_babel import gettext as _
from markupsafe import Markup
from wtforms import Field
from wtforms.utils import unset_value
from wtforms.validators import ValidationError

from app.policy.roles import ADMIN
from app.policy.scope import role_names
from app.web.views.base.json_form import EXTRA_KEY, Assembly, Node, assemble, build_tree, error_paths
from app.web.views.base.json_form_labels import code_label, property_label

PRESENT = "__present"
RAW = "__raw"
USE_RAW = "__use_raw"


def viewer_is_admin() -> bool:
    user = getattr(g, "user", None)
    return user is not None and ADMIN in role_names(user)


def pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False, default=str)


class JSONFormWidget:
    """Renders ``coachdesk/widgets/json_form.html``: one input per property, errors beside each."""

    def __call__(self, field: JSONSchemaField, **kwargs: Any) -> Markup:
        return Markup(  # noqa: S704 (a Jinja template with autoescape)
            render_template(
                "coachdesk/widgets/json_form.html", field=field, tree=field.tree, admin=viewer_is_admin(),
                raw_text=field.raw_text(), names={"present": PRESENT, "raw": RAW, "use_raw": USE_RAW,
                                                  "extra": EXTRA_KEY},
            )
        )  # fmt: skip


class JSONSchemaField(Field):
    """A JSON column edited through inputs generated from its schema; ``data`` is the JSON value."""

    widget = JSONFormWidget()

    def __init__(
        self, label: Any = None, schema: Mapping[str, Any] | None = None, optional: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(label, **kwargs)
        self.schema = dict(schema or {})
        tree = build_tree(self.schema)
        if tree is None:
            raise ValueError("this schema has no form; edit it as JSON")
        self.tree: Node = tree
        self.optional = optional
        self.sub_errors: dict[str, list[str]] = {}
        self.submitted: Any = None
        self.used_raw = False

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = self.data = data
        self.raw_data = None
        self.sub_errors, self.submitted, self.used_raw = {}, None, False
        if formdata is not None and f"{self.name}.{PRESENT}" in formdata:
            self.submitted = formdata
            self.raw_data = [formdata.get(f"{self.name}.{RAW}", "")]
            self._take(formdata)
        elif formdata is not None and self.name in formdata:
            # A client posting the column itself as JSON text (scripts, older forms): checked all the same.
            self.submitted = formdata
            self.raw_data = formdata.getlist(self.name)
            self._take_raw(formdata.get(self.name))

    def _take(self, formdata: Any) -> None:
        if formdata.get(f"{self.name}.{USE_RAW}") and viewer_is_admin():
            self._take_raw(formdata.get(f"{self.name}.{RAW}"))
            return
        out = Assembly()
        self.data = assemble(self.tree, self.name, formdata, out)
        self.sub_errors = out.errors

    def _take_raw(self, text: str | None) -> None:
        self.used_raw = True
        text = (text or "").strip()
        try:
            self.data = json.loads(text) if text else None
        except ValueError:
            self.data = None
            self.sub_errors = {"": [_("Not valid JSON.")]}

    def pre_validate(self, form: Any) -> None:
        typed = self.sub_errors  # inputs that did not parse; the schema still checks the others
        if self.data == {} and self.optional and not self.used_raw and not typed:
            self.data = None
        if self.data is None:
            if not self.optional and not typed:
                self.sub_errors = {"": [_("Required.")]}
        else:
            found = error_paths(self.schema, self.data, None if self.used_raw else self.tree)
            self.sub_errors = {**{p: m for p, m in found.items() if p not in typed}, **typed}
        if self.sub_errors:
            whole = self.sub_errors.get("")
            raise ValidationError("; ".join(whole) if whole else _("Check the values marked below."))

    # ---- what the template shows

    def errors_at(self, path: str) -> list[str]:
        return self.sub_errors.get(path, [])

    def input_name(self, path: str) -> str:
        return f"{self.name}.{path}"

    def input_id(self, path: str) -> str:
        return f"{self.id}-{path.replace('.', '-')}"

    def raw_text(self) -> str:
        if self.submitted is not None and self.used_raw:
            return self.submitted.get(f"{self.name}.{RAW}", self.submitted.get(self.name, ""))
        return pretty(self.data if isinstance(self.data, (dict, list)) else self.object_data)

    def value_of(self, node: Node) -> Any:
        """What an input shows: the text typed (after a failed submit) or the stored value as text."""
        name = self.input_name(node.path)
        if self.submitted is not None and not self.used_raw:
            return self.submitted.getlist(name) if node.kind == "enum_list" else self.submitted.get(name, "")
        value: Any = self.object_data if isinstance(self.object_data, Mapping) else {}
        for part in node.path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return _as_text(node, value)

    def extra_of(self, node: Node) -> str:
        path = f"{node.path}.{EXTRA_KEY}" if node.path else EXTRA_KEY
        if self.submitted is not None and not self.used_raw:
            return self.submitted.get(self.input_name(path), "")
        value: Any = self.object_data if isinstance(self.object_data, Mapping) else {}
        for part in node.path.split(".") if node.path else ():
            value = value.get(part) if isinstance(value, Mapping) else None
        if not isinstance(value, Mapping):
            return ""
        named = {c.key for c in node.children}
        extra = {k: v for k, v in value.items() if k not in named}
        return pretty(extra) if extra else ""


def _as_text(node: Node, value: Any) -> Any:
    if value is None:
        return [] if node.kind == "enum_list" else ""
    if node.kind == "enum_list":
        return [str(v) for v in value] if isinstance(value, list) else []
    if node.kind == "list" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if node.kind == "raw" or isinstance(value, (dict, list)):
        return pretty(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---- show pages


def display_rows(value: Any, schema: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A JSON object as (label, text | nested rows | table) rows, in the schema's property order."""
    schema = schema or {}
    props = schema.get("properties") if isinstance(schema.get("properties"), Mapping) else {}
    keys = [k for k in props if k in value] + [k for k in value if k not in props]
    rows = []
    for key in keys:
        sub = props.get(key) or {}
        rows.append({"label": property_label(key, sub), **_display_cell(value[key], sub)})
    return rows


def _display_cell(value: Any, schema: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {"rows": display_rows(value, schema)}
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
        return {"table": display_table(value, items)}
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
        return {"text": ", ".join(_display_scalar(v, items) for v in value)}
    return {"text": _display_scalar(value, schema)}


def display_table(values: list[Any], item_schema: Mapping[str, Any]) -> dict[str, Any]:
    props = item_schema.get("properties") if isinstance(item_schema.get("properties"), Mapping) else {}
    keys = [k for k in props if any(k in v for v in values)]
    keys += sorted({k for v in values for k in v if k not in props})
    return {
        "head": [property_label(k, props.get(k)) for k in keys],
        "rows": [[_display_scalar(v.get(k), props.get(k) or {}) for k in keys] for v in values],
    }  # fmt: skip


def _display_scalar(value: Any, schema: Mapping[str, Any]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, str):
        return code_label(value) if value in (schema.get("enum") or ()) else value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def render_json_value(value: Any, schema: Mapping[str, Any] | None) -> Markup | str:
    """A JSON column on a show page: a definition list (or table) rather than raw JSON."""
    if value is None or value == {} or value == []:
        return ""
    if isinstance(value, Mapping):
        context: dict[str, Any] = {"rows": display_rows(value, schema)}
    elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        items = (schema or {}).get("items")
        context = {"table": display_table(value, items if isinstance(items, Mapping) else {})}
    else:
        return _display_cell(value, schema or {}).get("text", "")
    html = render_template("coachdesk/widgets/json_show.html", **context)
    # Show pages print values with ``white-space: pre-line``: the template's own line breaks must go.
    return Markup(re.sub(r">\s+<", "><", html))  # noqa: S704 (autoescaped)

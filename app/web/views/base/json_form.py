"""A ``*_json`` column as form fields: its JSON Schema read into a tree of inputs, and the JSON put back.

The schema in ``app.models.json_schemas`` is the one contract, so the form is generated from it rather
than written by hand: an object's typed properties become inputs (text, number, a yes/no select, a select
of labelled codes, a list with one entry a line, a fieldset for a nested object). What cannot be mapped
(``oneOf``, an object with no named properties, an array of objects) is left to a JSON textarea. Errors of
the schema are reported per input, in the viewer's language.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from jsonschema import Draft202012Validator

from app.web.views.base.json_form_labels import code_label, property_label

#: Widget kinds a property can get; ``raw`` is a JSON textarea for one property.
SCALAR_KINDS = ("string", "text", "number", "integer", "scalar", "boolean", "enum")
LONG_TEXT = 200
EXTRA_KEY = "__extra"


@dataclass
class Node:
    """One input (or fieldset) of a generated JSON form."""

    key: str
    path: str
    kind: str
    schema: dict[str, Any]
    children: list[Node] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    item_kind: str = ""
    free: bool = False  # an object that also takes keys the schema does not name
    required: bool = False

    @property
    def label(self) -> str:
        return property_label(self.key, self.schema)

    def option_labels(self) -> list[tuple[str, str]]:
        return [(o, code_label(o)) for o in self.options]


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type")
    types = {declared} if isinstance(declared, str) else set(declared or ())
    return types - {"null"}


def _property_kind(schema: Mapping[str, Any]) -> tuple[str, list[str], str]:
    """(kind, options, item kind) of a property schema; ``raw`` when no input maps it."""
    if any(k in schema for k in ("oneOf", "anyOf", "$ref")):
        return "raw", [], ""
    if isinstance(schema.get("enum"), list) and all(isinstance(v, str) for v in schema["enum"]):
        return "enum", list(schema["enum"]), ""
    types = _types(schema)
    if types in ({"integer", "string"}, {"number", "string"}):
        return "scalar", [], ""
    if len(types) != 1:
        return "raw", [], ""
    (kind,) = types
    if kind == "string":
        return ("text" if schema.get("maxLength", LONG_TEXT + 1) > LONG_TEXT else "string"), [], ""
    if kind in ("number", "integer", "boolean"):
        return kind, [], ""
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, Mapping):
            return "raw", [], ""
        item_kind, options, _unused = _property_kind(items)
        if item_kind == "enum":
            return "enum_list", options, "enum"
        if item_kind in ("string", "text", "number", "integer", "scalar"):
            return "list", [], item_kind
        return "raw", [], ""
    if kind == "object" and isinstance(schema.get("properties"), Mapping):
        return "object", [], ""
    return "raw", [], ""


def build_tree(schema: Mapping[str, Any]) -> Node | None:
    """The form tree of a column's schema, or None when the whole value is better edited as JSON."""
    if _types(schema) != {"object"} or not isinstance(schema.get("properties"), Mapping):
        return None
    if any(k in schema for k in ("oneOf", "anyOf", "$ref")):
        return None
    return _object_node("", "", schema)


def _object_node(key: str, path: str, schema: Mapping[str, Any]) -> Node:
    required = set(schema.get("required") or ())
    node = Node(key, path, "object", dict(schema), free=schema.get("additionalProperties", True) is not False)
    for name, sub in schema["properties"].items():
        sub_path = f"{path}.{name}" if path else name
        kind, options, item_kind = _property_kind(sub)
        if kind == "object":
            child = _object_node(name, sub_path, sub)
        else:
            child = Node(name, sub_path, kind, dict(sub), options=options, item_kind=item_kind)
        child.required = name in required
        node.children.append(child)
    return node


# ---- form data -> JSON


class Assembly:
    """What a submission became: the JSON value and the problems found on the way, by input path."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)


def _number(text: str) -> int | float:
    value = decimal.Decimal(text)
    if not value.is_finite() or not -30 < value.adjusted() < 16:  # "1e999999999" must not become a huge int
        if value.is_zero():
            return 0
        raise decimal.InvalidOperation
    return int(value) if value == value.to_integral_value() else float(value)


def _scalar(kind: str, text: str, path: str, out: Assembly) -> Any:
    """One typed value from its text; ``None`` (with an error recorded) when it does not parse."""
    if kind in ("string", "text"):
        return text
    if kind == "integer":
        try:
            value = _number(text)
        except (decimal.InvalidOperation, ValueError):
            value = None
        if not isinstance(value, int):
            out.fail(path, _("Enter a whole number."))
            return None
        return value
    if kind == "number":
        try:
            return _number(text)
        except (decimal.InvalidOperation, ValueError):
            out.fail(path, _("Enter a number."))
            return None
    if kind == "scalar":  # a number where it reads as one ("10"), else the text ("8-12")
        try:
            return _number(text)
        except (decimal.InvalidOperation, ValueError):
            return text
    if kind == "boolean":
        if text in ("true", "false"):
            return text == "true"
        out.fail(path, _("Choose yes or no."))
        return None
    return text  # enum: checked against the schema afterwards


def assemble(node: Node, prefix: str, formdata: Any, out: Assembly) -> dict[str, Any]:
    """The JSON object an object node's inputs (named ``prefix.path``) describe; blank inputs are left out."""
    value: dict[str, Any] = {}
    for child in node.children:
        name = f"{prefix}.{child.path}"
        if child.kind == "object":
            nested = assemble(child, prefix, formdata, out)
            if nested:
                value[child.key] = nested
            continue
        if child.kind == "enum_list":
            picked = [v for v in formdata.getlist(name) if v]
            if picked:
                value[child.key] = picked
            continue
        text = (formdata.get(name) or "").strip()
        if not text:
            continue
        if child.kind == "list":
            entries = [line.strip() for line in text.splitlines() if line.strip()]
            parsed = [_scalar(child.item_kind, e, child.path, out) for e in entries]
            value[child.key] = parsed
        elif child.kind == "raw":
            try:
                value[child.key] = json.loads(text)
            except ValueError:
                out.fail(child.path, _("Not valid JSON."))
        else:
            parsed = _scalar(child.kind, text, child.path, out)
            if parsed is not None:
                value[child.key] = parsed
    if node.free:
        _merge_extra(node, prefix, formdata, out, value)
    return value


def _merge_extra(node: Node, prefix: str, formdata: Any, out: Assembly, value: dict[str, Any]) -> None:
    extra_path = f"{node.path}.{EXTRA_KEY}" if node.path else EXTRA_KEY
    text = (formdata.get(f"{prefix}.{extra_path}") or "").strip()
    if not text:
        return
    try:
        extra = json.loads(text)
    except ValueError:
        out.fail(extra_path, _("Not valid JSON."))
        return
    if not isinstance(extra, dict):
        out.fail(extra_path, _('Other values must be a JSON object, like {"key": "value"}.'))
        return
    named = {c.key for c in node.children}
    for key, item in extra.items():
        if key in named:
            out.fail(extra_path, _("%(key)s has its own field above.", key=key))
        else:
            value[key] = item


# ---- schema errors per input


def error_message(error: Any) -> str:
    """A schema error in words a person reads, in their language."""
    v, expected = error.validator, error.validator_value
    if v == "required":
        return _("Required.")
    if v in ("minimum", "exclusiveMinimum"):
        return _("Must be at least %(min)s.", min=expected)
    if v in ("maximum", "exclusiveMaximum"):
        return _("Must be at most %(max)s.", max=expected)
    if v == "minLength":
        return _("Must have at least %(n)s characters.", n=expected)
    if v == "maxLength":
        return _("Must have at most %(n)s characters.", n=expected)
    if v == "pattern":
        return _("Not in the expected format.")
    if v in ("enum", "const"):
        return _("Not one of the choices.")
    if v == "type":
        return _("Not the expected kind of value.")
    if v == "minItems":
        return _("Needs at least %(n)s entries.", n=expected)
    if v in ("maxItems", "maxProperties"):
        return _("Holds at most %(n)s entries.", n=expected)
    if v == "uniqueItems":
        return _("Each entry may appear only once.")
    if v == "additionalProperties":
        return _("Holds keys this value does not take.")
    return str(error.message)


def error_paths(schema: Mapping[str, Any], value: Any, tree: Node | None) -> dict[str, list[str]]:
    """Each schema error of ``value`` under the input it belongs to ('' for the value as a whole)."""
    known = _paths(tree) if tree is not None else set()
    found: dict[str, list[str]] = {}
    for error in sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path)):
        parts = [str(p) for p in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, Mapping):
            missing = [p for p in error.validator_value if p not in error.instance]
            parts = [*parts, str(missing[0])] if missing else parts
        path = ""
        for n in range(len(parts), 0, -1):  # the deepest input the error sits in (a list's entry -> the list)
            if ".".join(parts[:n]) in known:
                path = ".".join(parts[:n])
                break
        if not path and error.validator == "additionalProperties" and tree is not None and tree.free:
            path = EXTRA_KEY
        message = error_message(error)
        if message not in found.get(path, []):
            found.setdefault(path, []).append(message)
    return found


def _paths(node: Node) -> set[str]:
    out = {node.path} if node.path else set()
    for child in node.children:
        out |= _paths(child)
    return out

"""Add/edit form fields for a console view, replacing FAB's defaults.

FAB loads whole related tables into dropdowns, fails on unknown enum values, stores naive
datetimes and demands a tick on every NOT NULL flag; the fields of ``app.web.views.fields``
(autocomplete relations, safe enums, JSON editors, aware datetimes) are installed instead.
One look on every form: selects are searchable (Select2), dates and times use the browser's own
pickers (``type=date``/``datetime-local``/``time``), numbers, e-mail addresses and phone numbers
typed inputs, and a ``*_json`` column is a form generated from its JSON Schema (``json_form``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for
from sqlalchemy import orm
from wtforms import BooleanField, DateField, DecimalField, TimeField
from wtforms import validators as wtv
from wtforms.fields.choices import SelectFieldBase
from wtforms.fields.core import UnboundField

from app.web.views.base.columns import column_type
from app.web.views.base.json_form import build_tree
from app.web.views.base.json_form_field import JSONSchemaField
from app.web.views.fields import AutocompleteField, AwareDateTimeField, EnumSelectField, JSONTextField

TEXT_MAX_LENGTH = 10_000


class FormFieldsMixin:
    """Builds ``add_form_extra_fields``/``edit_form_extra_fields`` from the model's columns."""

    datamodel: Any
    money_columns: dict[str, str]
    text_max_length: int
    #: The add page loads the widgets' script and styles like the edit page (FAB's own template does not).
    add_template = "coachdesk/model/add.html"

    def autocomplete_url(self, column: str) -> Any:
        view_name = type(self).__name__
        return lambda: url_for(f"{view_name}.autocomplete", column=column)

    def _install_form_fields(self) -> None:
        """Replace FAB's field choices: autocomplete relations, safe enums, JSON editors, aware datetimes."""
        model = self.datamodel.obj
        mapper = sa.inspect(model)
        self.validators_columns = dict(self.validators_columns or {})
        for attr, extra_attr in (("add_columns", "add_form_extra_fields"), ("edit_columns", "edit_form_extra_fields")):
            extra = dict(getattr(self, extra_attr) or {})
            for column in getattr(self, attr) or []:
                if column in extra:
                    continue
                built = self._field_for(mapper, column)
                if built is not None:
                    extra[column] = built
            setattr(self, extra_attr, extra)

    def _field_for(self, mapper: Any, column: str) -> Any:
        prop = mapper.attrs.get(column)
        label = self._label(column)
        description = (self.description_columns or {}).get(column, "")
        if isinstance(prop, orm.RelationshipProperty):
            if prop.uselist:
                return None
            required = not all(c.nullable for c in prop.local_columns)
            checks = [wtv.DataRequired()] if required else [wtv.Optional()]
            return AutocompleteField(
                label,
                model=prop.mapper.class_,
                url=self.autocomplete_url(column),
                validators=checks,
                description=description,
            )
        if prop is None or not hasattr(prop, "columns"):
            return None
        col = prop.columns[0]
        required = not col.nullable and col.default is None and col.server_default is None
        checks: list[Any] = [wtv.InputRequired()] if required else [wtv.Optional()]
        checks += list(self.validators_columns.get(column, []))
        if "json_schema" in col.info and build_tree(col.info["json_schema"]) is not None:
            # No WTForms validators: an empty optional form is None, a required one says so per input.
            return JSONSchemaField(
                label, schema=col.info["json_schema"], optional=col.nullable, description=description
            )
        if "json_schema" in col.info:
            return JSONTextField(
                label, field_name=f"{mapper.local_table.name}.{column}", schema=col.info["json_schema"],
                validators=checks, description=description,
            )  # fmt: skip
        enum_class = getattr(col.type, "enum_class", None)
        if enum_class is not None:
            return EnumSelectField(
                label, enum_class=enum_class, allow_blank=col.nullable, validators=checks, description=description
            )
        if isinstance(column_type(col), sa.DateTime):
            return AwareDateTimeField(
                label, validators=checks, description=description, render_kw={"class": "form-control cd-datetime"}
            )
        if isinstance(column_type(col), sa.Date):
            return DateField(label, validators=checks, description=description, render_kw={"class": "form-control"})
        if isinstance(col.type, sa.Boolean):
            # Unticked means False; FAB's converter would demand a tick on every NOT NULL flag.
            return BooleanField(label, description=description)
        if isinstance(col.type, sa.Time):
            return TimeField(label, validators=checks, description=description, render_kw={"class": "form-control"})
        if column in self.money_columns:
            self.validators_columns.setdefault(column, [wtv.NumberRange(min=0)])
        if isinstance(col.type, sa.Numeric) and not isinstance(col.type, sa.Float) and column in self.money_columns:
            return DecimalField(
                label, places=2, validators=checks + [wtv.NumberRange(min=0)], description=description,
                render_kw={"step": "0.01", "min": "0", "type": "number"},
            )  # fmt: skip
        if isinstance(col.type, sa.String) and not isinstance(col.type, sa.Enum):
            length = col.type.length or self.text_max_length
            self.validators_columns[column] = [*self.validators_columns.get(column, []), wtv.Length(max=length)]
        return None

    def _init_forms(self) -> None:
        """Typed inputs for FAB's converted fields (it renders numbers and addresses as plain text); every
        select, the views' own forms' too, the searchable widget."""
        super()._init_forms()  # type: ignore[misc]
        mapper = sa.inspect(self.datamodel.obj)
        for form_cls in (self.add_form, self.edit_form):  # type: ignore[attr-defined]
            for name, unbound in list(vars(form_cls).items()):
                if not isinstance(unbound, UnboundField):
                    continue
                render_kw = dict(unbound.kwargs.get("render_kw") or {})
                if issubclass(unbound.field_class, SelectFieldBase):
                    classes = str(render_kw.get("class", "form-control")).split()
                    searchable = {"cd-select2", "cd-autocomplete", "my_select2"}
                    render_kw["class"] = " ".join(classes if searchable & set(classes) else [*classes, "cd-select2"])
                unbound.kwargs["render_kw"] = {**input_attributes(mapper, name), **render_kw}


def input_attributes(mapper: Any, column: str) -> dict[str, str]:
    """The HTML input type (and step) a plain column's value wants."""
    prop = mapper.attrs.get(column)
    if prop is None or not hasattr(prop, "columns"):
        return {}
    ctype = column_type(prop.columns[0])
    if isinstance(ctype, (sa.Enum, sa.Boolean)):
        return {}
    if isinstance(ctype, sa.Integer):
        return {"type": "number", "step": "1"}
    if isinstance(ctype, sa.Float):
        return {"type": "number", "step": "any"}
    if isinstance(ctype, sa.Numeric):
        scale = ctype.scale
        return {"type": "number", "step": f"{10**-scale:.{scale}f}" if scale else "any"}
    if isinstance(ctype, sa.String) and not isinstance(ctype, sa.Text):
        if "email" in column:
            return {"type": "email"}
        if "phone" in column:
            return {"type": "tel"}
    return {}

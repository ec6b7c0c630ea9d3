"""Add/edit form fields for a console view, replacing FAB's defaults.

FAB loads whole related tables into dropdowns, fails on unknown enum values, stores naive
datetimes and demands a tick on every NOT NULL flag; the fields of ``app.web.views.fields``
(autocomplete relations, safe enums, JSON editors, aware datetimes) are installed instead.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for
from sqlalchemy import orm
from wtforms import BooleanField, DecimalField, TimeField
from wtforms import validators as wtv

from app.web.views.base.columns import column_type
from app.web.views.fields import AutocompleteField, AwareDateTimeField, EnumSelectField, JSONTextField

TEXT_MAX_LENGTH = 10_000


class FormFieldsMixin:
    """Builds ``add_form_extra_fields``/``edit_form_extra_fields`` from the model's columns."""

    datamodel: Any
    money_columns: dict[str, str]
    text_max_length: int

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
            return AwareDateTimeField(label, validators=checks, description=description)
        if isinstance(col.type, sa.Boolean):
            # Unticked means False; FAB's converter would demand a tick on every NOT NULL flag.
            return BooleanField(label, description=description)
        if isinstance(col.type, sa.Time):
            return TimeField(label, validators=checks, description=description)
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

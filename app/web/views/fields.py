"""Form fields for the console's generated add/edit forms.

FAB's defaults load whole related tables into a dropdown, 500 on an unknown enum
value, store naive datetimes and show JSON as a Python repr; these replace them.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

from flask import current_app, g
from flask_babel import get_timezone
from flask_babel import gettext as _
from markupsafe import Markup, escape
from wtforms import Field, SelectField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import StopValidation, ValidationError

from app.extensions import db
from app.models.base import JSONValidationError, validate_json_value
from app.models.labels import choices as enum_choices
from app.services.data_access import get_scoped, pk_column
from app.services.timezones import TimezoneError, as_local, available_zones, clean_zone


class EnumSelectField(SelectField):
    """An enum select whose unknown values are a form error, not a KeyError."""

    def __init__(self, label: Any = None, enum_class: type[enum.Enum] | None = None, **kwargs: Any) -> None:
        assert enum_class is not None
        self.enum_class = enum_class
        kwargs.setdefault("render_kw", {"class": "form-control cd-select2"})
        choices = enum_choices(enum_class)
        if kwargs.pop("allow_blank", False):
            choices = [("", "—")] + choices
        super().__init__(label, choices=choices, coerce=self._coerce, **kwargs)

    def _coerce(self, value: Any) -> Any:
        if value is None or value == "" or isinstance(value, self.enum_class):
            return value or None
        try:
            return self.enum_class(value)
        except ValueError:
            return value  # kept as text so pre_validate reports it

    def pre_validate(self, form: Any) -> None:
        if self.data is None and ("", "—") in self.choices:
            return
        if not isinstance(self.data, self.enum_class):
            # FAB renders field errors as safe markup, so anything typed by the user is escaped here.
            raise ValidationError(_("Not a valid choice: %(value)s", value=escape(str(self.data)[:50])))

    def _value(self) -> str:
        return self.data.value if isinstance(self.data, enum.Enum) else (self.data or "")

    def iter_choices(self) -> Any:
        current = self._value()
        for value, label in self.choices:
            yield (value, label, value == current, {})


class JSONTextField(TextAreaField):
    """A JSON editor: shows pretty JSON and names the JSON field and problem on error."""

    def __init__(self, label: Any = None, field_name: str = "", schema: dict | None = None, **kwargs: Any) -> None:
        self.field_name = field_name
        self.schema = schema or {}
        kwargs.setdefault("render_kw", {"rows": 6, "class": "form-control cd-json", "spellcheck": "false"})
        super().__init__(label, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None or self.data == "":
            return ""
        return json.dumps(self.data, indent=2, ensure_ascii=False, default=str)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = valuelist[0].strip() if valuelist and valuelist[0] is not None else None
        if self.data == "":
            self.data = None

    def pre_validate(self, form: Any) -> None:
        if self.data is None or not isinstance(self.data, str):
            return
        try:
            self.data = validate_json_value(self.field_name, self.schema, self.data)
        except JSONValidationError as exc:
            problem = escape(exc.problem)  # may quote the user's JSON; FAB renders field errors unescaped
            raise ValidationError(_("%(field)s: %(problem)s", field=exc.field, problem=problem)) from None


class AwareDateTimeField(DateTimeLocalField):
    """A datetime typed in the viewer's timezone, stored as an aware UTC datetime."""

    def __init__(self, label: Any = None, **kwargs: Any) -> None:
        super().__init__(label, format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"], **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, dt.datetime):
            local = self.data.astimezone(get_timezone()) if self.data.tzinfo else self.data
            return local.strftime("%Y-%m-%dT%H:%M")
        return ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, dt.datetime) and self.data.tzinfo is None:
            tz = get_timezone()
            local = as_local(self.data, tz)
            self.data = local.astimezone(dt.UTC)


class AutocompleteWidget:
    """A ``<select>`` that Select2 fills from the view's scoped autocomplete endpoint."""

    def __call__(self, field: AutocompleteField, **kwargs: Any) -> Markup:
        obj = field.data if field.data is not None and not isinstance(field.data, str) else None
        option = ""
        if obj is not None:
            option = f'<option value="{escape(field.pk_of(obj))}" selected>{escape(str(obj))}</option>'
        elif field.raw_data and field.raw_data[0]:
            option = f'<option value="{escape(field.raw_data[0])}" selected>{escape(field.raw_data[0])}</option>'
        else:
            option = '<option value="" selected></option>'
        return Markup(  # noqa: S704 (every interpolated value is escaped above)
            f'<select id="{escape(field.id)}" name="{escape(field.name)}" class="form-control cd-autocomplete" '
            f'data-url="{escape(field.url())}" data-placeholder="{escape(_("Type to search"))}"'
            f"{' required' if field.flags.required else ''}>{option}</select>"
        )


class AutocompleteField(Field):
    """A many-to-one relation picked by AJAX; the chosen id is re-checked against the row scope."""

    widget = AutocompleteWidget()

    def __init__(self, label: Any = None, model: type | None = None, url: Any = None, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.model = model
        self.url = url

    def pk_of(self, obj: Any) -> str:
        return str(getattr(obj, pk_column(self.model).key))

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0].strip() if valuelist and valuelist[0] else ""
        self.data = raw or None

    def pre_validate(self, form: Any) -> None:
        if self.data is None or not isinstance(self.data, str):
            return
        obj = get_scoped(db.session, self.model, getattr(g, "user", None), self.data)
        if obj is None:
            self.data = None
            raise StopValidation(_("Choose an existing record from the list."))
        self.data = obj


class TimezoneField(SelectField):
    """An IANA time zone picked from a searchable list; blank means the configured default.

    The choice is checked by ``app.services.timezones.clean_zone`` (one rule for every
    place a zone is set), so an unknown name gets a message that says what to do.
    """

    def __init__(self, label: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"class": "form-control cd-select2"})
        super().__init__(label, choices=self._choices, validate_choice=False, **kwargs)

    @staticmethod
    def _choices() -> list[tuple[str, str]]:
        default = _("Default (%(zone)s)", zone=current_app.config["BABEL_DEFAULT_TIMEZONE"])
        return [("", default), *((z, z) for z in available_zones())]

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = valuelist[0] if valuelist else None

    def process_data(self, value: Any) -> None:
        self.data = value or ""

    def pre_validate(self, form: Any) -> None:
        if not self.raw_data:
            raise StopValidation(_("Choose a time zone."))
        try:
            self.data = clean_zone(self.data)
        except TimezoneError as exc:
            raise StopValidation(str(exc)) from None

    def populate_obj(self, obj: Any, name: str) -> None:
        setattr(obj, name, self.data or None)

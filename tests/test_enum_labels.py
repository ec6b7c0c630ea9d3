"""Every member of every enum in ``app.models`` has an explicit label (issue 17: no codes on screen).

Adding a member without a line in ``app/models/label_table.py`` fails here instead of showing
"Past due"-style fallbacks, or worse, the raw code, to people.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil

import app.models
from app.models import labels


def _model_enums() -> list[type[enum.Enum]]:
    found = []
    for info in pkgutil.iter_modules(app.models.__path__):
        module = importlib.import_module(f"app.models.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, enum.Enum) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_every_enum_member_has_an_explicit_label() -> None:
    enums = _model_enums()
    assert len(enums) >= 38
    missing = [f"{cls.__module__}.{cls.__name__}.{m.name}" for cls in enums for m in cls if m not in labels.LABELS]
    assert not missing, "enum members without a label in app/models/label_table.py: " + ", ".join(missing)


def test_labels_are_translated_in_the_viewers_language(sqlite_app) -> None:
    from app.models.automation import RuleStatus
    from app.models.scheduling import SessionType

    with sqlite_app.test_request_context(headers={"Accept-Language": "es"}):
        assert labels.enum_label(RuleStatus.DRAFT) == "Borrador"
        assert ("DRAFT", "Borrador") in labels.choices(RuleStatus)
    with sqlite_app.test_request_context(headers={"Accept-Language": "en"}):
        assert labels.enum_label(SessionType.ONE_ON_ONE) == "One-on-one"


def test_goal_codes_show_by_label_and_free_text_as_written() -> None:
    from app.models.json_schemas import GOALS

    for code in GOALS["properties"]["primary"]["enum"]:
        assert labels.code_label("goal", code) != code
    assert labels.code_label("goal", "Run a marathon") == "Run a marathon"
    assert labels.code_label("goal", None) == ""

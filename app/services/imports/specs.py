"""What each importable table expects: its columns, unique keys, references, cross-column rules.

A ``TableSpec`` is data: the view checks ``resources`` (write on each) before it lets a person import,
the preview and the commit share ``columns``, ``unique`` (checked within the file and against the
database in one query per key) and ``references`` (a name looked up in one query), and ``row_check``
holds the rules that span columns (a FIXED promotion needs a currency).
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models.commerce import DiscountType, Product, ProductCategory, Promotion
from app.models.customers import Gender
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole, UserStatus
from app.models.training import Difficulty, Exercise, Habit, HabitFrequency, Meal
from app.services.imports.columns import Column


@dataclass(frozen=True)
class Reference:
    """A column naming a row of another table (by a unique text), resolved to that row's id."""

    column: str
    query: Callable[[list[str]], sa.Select]  # names -> SELECT name, id for those that qualify
    message: Any


@dataclass(frozen=True)
class TableSpec:
    key: str
    label: Any
    resources: tuple[str, ...]  # entity resources a person must be able to write
    list_endpoint: str  # the entity's console list, for links back
    columns: tuple[Column, ...]
    unique: dict[str, sa.Column] = field(default_factory=dict)  # file column -> database column
    references: tuple[Reference, ...] = ()
    row_check: Callable[[dict[str, Any]], dict[str, str]] | None = None

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _promotion_check(row: dict[str, Any]) -> dict[str, str]:
    problems = {}
    if row.get("discount_type") == DiscountType.FIXED.value and not row.get("currency"):
        problems["currency"] = _("required for a FIXED discount")
    if row.get("discount_type") == DiscountType.PERCENT.value and (row.get("value") or 0) > 100:
        problems["value"] = _("a percentage above 100")
    if row.get("end_date") and row.get("start_date") and row["end_date"] < row["start_date"]:
        problems["end_date"] = _("before the start date")
    return problems


MACRO_COLUMNS = ("kcal", "protein_g", "carbs_g", "fat_g", "fiber_g")


def _meal_check(row: dict[str, Any]) -> dict[str, str]:
    if any(row.get(c) is not None for c in MACRO_COLUMNS[1:]) and row.get("kcal") is None:
        return {"kcal": _("required when other macros are given")}
    return {}


def _coaches(emails: list[str]) -> sa.Select:
    return (
        sa.select(sa.func.lower(PlatformUser.email), PlatformUser.id)
        .join(UserRole, UserRole.user_id == PlatformUser.id)
        .join(PlatformRole, PlatformRole.id == UserRole.role_id)
        .where(PlatformRole.code == RoleCode.COACH, sa.func.lower(PlatformUser.email).in_(emails))
    )


def _text(name: str, length: int, required: bool = False, **kw: Any) -> Column:
    return Column(name, "text", required=required, max_length=length, **kw)


def _money(name: str, required: bool = False) -> Column:
    return Column(name, "decimal", required=required, minimum=decimal.Decimal(0))


SPECS: dict[str, TableSpec] = {
    spec.key: spec
    for spec in (
        TableSpec(
            "exercises",
            _l("Exercises"),
            ("Exercises",),
            "ExerciseView.list",
            (
                _text("name", 200, True),
                _text("category", 50, True),
                Column("difficulty", "enum", required=True, enum_cls=Difficulty),
                _text("equipment", 200),
                Column("video_url", "url", max_length=2000),
                Column("transcript_url", "url", max_length=2000),
                Column("thumbnail_url", "url", max_length=2000),
            ),
        ),
        TableSpec(
            "meals",
            _l("Meals"),
            ("Meals",),
            "MealView.list",
            (
                _text("name", 200, True),
                *(
                    Column(c, "decimal", minimum=decimal.Decimal(0), maximum=decimal.Decimal(10000))
                    for c in MACRO_COLUMNS
                ),
                _text("allergens", 300),
                _text("instructions", 20000),
            ),
            row_check=_meal_check,
        ),
        TableSpec(
            "habits",
            _l("Habits"),
            ("Habits",),
            "HabitView.list",
            (
                _text("name", 200, True),
                _text("description", 20000),
                Column("frequency", "enum", required=True, enum_cls=HabitFrequency),
            ),
        ),
        TableSpec(
            "products",
            _l("Products"),
            ("Products",),
            "ProductView.list",
            (
                _text("name", 200, True),
                Column("category", "enum", required=True, enum_cls=ProductCategory),
                _text("description", 20000),
                _money("price", True),
                Column("currency", "currency", default="EUR"),
                Column("duration_weeks", "int", minimum=1, maximum=520),
                Column("interval_months", "int", minimum=1, maximum=36),
                Column("trial_days", "int", minimum=0, maximum=365, default=0),
            ),
        ),
        TableSpec(
            "promotions",
            _l("Promotions"),
            ("Promotions",),
            "PromotionView.list",
            (
                Column("code", "text", required=True, max_length=40),
                Column("discount_type", "enum", required=True, enum_cls=DiscountType),
                _money("value", True),
                Column("start_date", "date", required=True),
                Column("end_date", "date"),
                Column("usage_limit", "int", minimum=0, maximum=2**31 - 1),
                Column("duration_periods", "int", minimum=1, maximum=999, default=1),
                Column("currency", "currency"),
            ),
            unique={"code": Promotion.__table__.c.code},
            row_check=_promotion_check,
        ),
        TableSpec(
            "customers",
            _l("Customers"),
            ("Users", "CustomerProfiles"),
            "PlatformUserView.list",
            (
                Column("email", "email", required=True, max_length=320),
                _text("full_name", 200, True),
                _text("phone", 40),
                _text("locale", 10, default="en"),
                Column("status", "enum", enum_cls=UserStatus, default=UserStatus.ACTIVE.value),
                Column("date_of_birth", "date"),
                Column("gender", "enum", enum_cls=Gender),
                Column("timezone", "zone", max_length=64, default="UTC"),
                _text("risk_flags", 500),
                _text("emergency_contact", 300),
                Column("coach_email", "email", max_length=320),
            ),
            unique={"email": sa.func.lower(PlatformUser.__table__.c.email)},
            references=(Reference("coach_email", _coaches, _l("no coach with this email")),),
        ),
    )
}

# The tables each spec writes, for the audit row and the benchmark.
TABLE_MODELS = {
    "exercises": Exercise,
    "meals": Meal,
    "habits": Habit,
    "products": Product,
    "promotions": Promotion,
    "customers": PlatformUser,
}


def get_spec(key: str) -> TableSpec | None:
    return SPECS.get(key)

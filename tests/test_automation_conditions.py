"""The rule condition language: validation messages, evaluation and its explanations, the sentence,
and SQL that agrees with Python on real SQLite and PostgreSQL (a Hypothesis property test)."""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import enum
import pathlib
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.i18n import message_of
from app.models.analytics import MetricSource, ProgressMetric
from app.models.types import UTCDateTime
from app.services.automation import conditions as c
from app.services.automation.conditions import Field, InvalidCondition, NotInSql
from tests.support.plan_support import make_customer

STATUSES = ("ACTIVE", "PAUSED", "CANCELLED")
FIELDS = c.fields_by_name(
    [
        Field("status", "enum", choices=STATUSES, label="status"),
        Field("amount", "number", unit="EUR", label="amount"),
        Field("visits", "integer"),
        Field("due", "date"),
        Field("at", "datetime"),
        Field("flag", "boolean"),
        Field("note", "text"),
        Field("ref", "id"),
        Field("customer", "id"),
        Field("tags", "list"),
        Field("invoice.total", "number"),
    ]
)


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


def problems(condition: Any) -> list[tuple[str, str]]:
    return [(p.path, str(p.message)) for p in c.validate(condition, FIELDS)]


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "path", "fragment"),
    [
        (leaf("colour", "eq", "red"), "field", "no field “colour”"),
        ({"all": [leaf("amount", "gt", 1), leaf("nope", "eq", 1)]}, "all[1].field", "no field “nope”"),
        ({"not": leaf("amount", "contains", "1")}, "not.op", "amount cannot be compared that way"),
        (leaf("status", "gt", "ACTIVE"), "op", "choose one of: is, is not, is one of, is set"),
        (leaf("flag", "in", [True]), "op", "cannot be compared that way"),
        (leaf("amount", "like", 1), "op", "cannot be compared"),
        (leaf("status", "eq", "ASLEEP"), "value", "Choose one of Active, Paused, Cancelled for status"),
        (leaf("status", "in", ["ACTIVE", "ASLEEP"]), "value[1]", "Choose one of"),
        (leaf("amount", "gt", "100"), "value", "Enter a number for amount"),
        (leaf("amount", "gt", True), "value", "Enter a number for amount"),
        (leaf("visits", "eq", 1.5), "value", "Enter a whole number for visits"),
        (leaf("due", "lt", "01/05/2024"), "value", "Enter a date as YYYY-MM-DD for due"),
        (leaf("due", "lt", "2024-02-30"), "value", "Enter a date as YYYY-MM-DD"),
        (leaf("at", "gt", "2024-05-01T09:00:00"), "value", "with its offset"),
        (leaf("at", "gt", "yesterday"), "value", "with its offset"),
        (leaf("ref", "eq", False), "value", "Enter an id"),
        (leaf("flag", "eq", "yes"), "value", "Choose yes or no for flag"),
        (leaf("note", "contains", ""), "value", "Enter between 1 and 500 characters"),
        (leaf("note", "eq", 5), "value", "Enter some text for note"),
        (leaf("amount", "gt"), "value", "Enter a value to compare amount with"),
        (leaf("status", "in", []), "value", "Give between 1 and 100 values"),
        (leaf("status", "in", "ACTIVE"), "value", "Give between 1 and 100 values"),
        (leaf("note", "exists", "sometimes"), "value", "“is set” takes yes or no"),
        ({"field": "amount", "op": "gt", "value": 1, "sql": "1=1"}, "sql", "only a field, an operator and a value"),
        ({"all": []}, "all", "needs at least one condition"),
        ({"all": [leaf("amount", "gt", 1)], "any": []}, "", "exactly one of all, any or not"),
        ({"all": ["amount > 1"]}, "all[0]", "a group (all, any, not) or a comparison"),
        ([leaf("amount", "gt", 1)], "", "a group (all, any, not) or a comparison"),
    ],
)
def test_each_bad_condition_is_refused_with_its_path_and_a_clear_message(condition, path, fragment):
    found = problems(condition)
    assert any(p == path and fragment in m for p, m in found), found


def test_every_problem_is_reported_not_just_the_first():
    condition = {"any": [leaf("nope", "eq", 1), {"not": leaf("amount", "eq", "x")}, leaf("status", "eq", "ACTIVE")]}
    assert [p for p, _ in problems(condition)] == ["any[0].field", "any[1].not.value"]


def test_nesting_deeper_than_eight_groups_is_refused():
    def nested(depth: int) -> dict[str, Any]:
        node: dict[str, Any] = leaf("amount", "gt", 1)
        for _ in range(depth):
            node = {"not": node}
        return node

    assert problems(nested(8)) == []
    assert problems(nested(9)) == [(".".join(["not"] * 8), "Groups nest at most 8 deep.")]
    # A hostile depth is refused without recursing into it.
    assert problems(nested(5000))[0][1] == "Groups nest at most 8 deep."


def test_more_than_two_hundred_comparisons_are_refused():
    many = {"any": [{"all": [leaf("visits", "eq", i) for i in range(50)]} for _ in range(4)]}
    assert problems(many) == []
    many["any"].append(leaf("visits", "eq", 1))
    assert problems(many) == [("", "A condition holds at most 200 comparisons.")]


def test_an_empty_condition_always_matches_and_a_valid_one_has_no_problems():
    assert c.validate(None, FIELDS) == [] and c.validate({}, FIELDS) == []
    assert c.evaluate(None, {}, FIELDS).matched is True
    assert c.describe(None, FIELDS) == "always"
    good = {
        "all": [
            leaf("status", "in", ["ACTIVE"]),
            {"any": [leaf("amount", "gte", 1.5), {"not": leaf("note", "exists")}]},
        ]
    }
    assert c.validate(good, FIELDS) == []


def test_messages_keep_their_msgid_outside_a_request_so_they_can_be_translated_later():
    [problem] = c.validate(leaf("amount", "gt", "x"), FIELDS)
    message = message_of(problem.message)
    assert message is not None and message.msgid == "Enter a number for %(field)s."


# --- no eval, no attributes -------------------------------------------------------------------


class Trap:
    """An object any attribute read of which fails the test."""

    def __getattribute__(self, name: str) -> Any:
        raise AssertionError(f"attribute {name} was read")


@pytest.mark.parametrize("name", ["__class__", "a.__dict__", "amount.__class__", "_private", "Amount", "a..b", "a b"])
def test_a_field_that_is_not_a_plain_name_is_refused(name):
    assert problems(leaf(name, "exists")) == [("field", f"This trigger has no field “{name}”.")]
    with pytest.raises(ValueError, match="not a plain dotted path"):
        Field(name, "text")


def test_evaluation_reads_payloads_by_key_only_and_never_touches_an_object():
    fields = c.fields_by_name([Field("a.b", "text"), Field("a", "text")])
    payload = {"a": Trap()}
    assert c.evaluate(leaf("a.b", "exists"), payload, fields).matched is False
    assert c.evaluate(leaf("a", "exists"), payload, fields).matched is False  # not text: missing
    assert c.evaluate(leaf("a.b", "eq", "x"), {"a": {"b": "x"}}, fields).matched is True
    with pytest.raises(InvalidCondition) as refused:
        c.evaluate(leaf("__class__", "exists"), payload, FIELDS)
    assert refused.value.problems[0].path == "field"


def test_the_package_calls_no_eval_exec_getattr_or_import():
    forbidden = {"eval", "exec", "getattr", "setattr", "__import__", "compile", "globals", "locals", "vars"}
    package = pathlib.Path(c.__file__).parent
    calls = [
        (path.name, node.func.id)
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in forbidden
    ]
    assert calls == []


# --- evaluation and explanations --------------------------------------------------------------


def test_explanation_says_why_each_part_matched():
    condition = {
        "all": [leaf("amount", "gt", 100), {"any": [leaf("status", "in", ["PAUSED"]), leaf("flag", "eq", True)]}]
    }
    result = c.evaluate(condition, {"amount": decimal.Decimal("120.00"), "status": "ACTIVE", "flag": True}, FIELDS)
    assert result.matched is True
    assert result.lines() == [
        "all of: 2 of 2 met ✓",
        "  amount 120 > 100 ✓",
        "  any of: 1 of 2 met ✓",
        "    status ACTIVE in [PAUSED] ✗",
        "    flag True = True ✓",
    ]
    assert result.as_json()["children"][1]["children"][0] == {
        "matched": False,
        "text": "status ACTIVE in [PAUSED] ✗",
        "children": [],
    }
    missing = c.evaluate({"not": leaf("amount", "gt", 100)}, {}, FIELDS)
    assert missing.lines() == ["not ✓", "  amount (missing) > 100 ✗"]


@pytest.mark.parametrize(
    ("condition", "payload", "expected"),
    [
        # A missing value (absent, None, or not of the field's kind) fails every comparison, ne included...
        (leaf("amount", "ne", 5), {}, False),
        (leaf("amount", "ne", 5), {"amount": None}, False),
        (leaf("amount", "ne", 5), {"amount": "lots"}, False),
        # ...so NOT of a comparison on it holds, and exists tells missing from present.
        ({"not": leaf("amount", "eq", 5)}, {}, True),
        (leaf("amount", "exists"), {"amount": 0}, True),
        (leaf("amount", "exists", False), {"amount": None}, True),
        (leaf("amount", "exists", False), {"amount": "lots"}, True),
        # Numbers: JSON floats, Decimals and numeric text agree.
        (leaf("amount", "eq", 0.1), {"amount": decimal.Decimal("0.100")}, True),
        (leaf("amount", "gte", 100), {"amount": "100.0"}, True),
        (leaf("visits", "lt", 3), {"visits": 2.0}, True),
        (leaf("visits", "lt", 3), {"visits": True}, False),
        # Dates and instants: ISO text or objects; any offset names the same instant.
        (leaf("due", "lte", "2024-05-01"), {"due": dt.date(2024, 5, 1)}, True),
        (leaf("due", "gt", "2024-05-01"), {"due": "2024-05-02"}, True),
        (leaf("at", "eq", "2024-05-01T09:00:00+02:00"), {"at": "2024-05-01T07:00:00Z"}, True),
        (leaf("at", "lt", "2024-05-01T09:00:00+02:00"), {"at": dt.datetime(2024, 5, 1, 6, 59, tzinfo=dt.UTC)}, True),
        # Ids: "42" and 42, a UUID and its text.
        (leaf("ref", "eq", "42"), {"ref": 42}, True),
        (leaf("customer", "in", [str(uuid.UUID(int=7))]), {"customer": uuid.UUID(int=7)}, True),
        # Enums: a code or a Python enum member.
        (leaf("status", "eq", "PAUSED"), {"status": enum.Enum("S", {"PAUSED": "PAUSED"}).PAUSED}, True),
        # Text: eq is exact, contains ignores the case of A-Z only, and wildcards are plain characters.
        (leaf("note", "eq", "Hello"), {"note": "hello"}, False),
        (leaf("note", "contains", "HELLO"), {"note": "say hello!"}, True),
        (leaf("note", "contains", "É"), {"note": "é"}, False),
        (leaf("note", "contains", "50%"), {"note": "500"}, False),
        # Lists: contains an element.
        (leaf("tags", "contains", "vip"), {"tags": ["new", "vip"]}, True),
        (leaf("tags", "contains", "vi"), {"tags": ["new", "vip"]}, False),
        # Dotted paths walk nested objects.
        (leaf("invoice.total", "gt", 10), {"invoice": {"total": 11}}, True),
        (leaf("invoice.total", "gt", 10), {"invoice": 11}, False),
        ({"any": [leaf("visits", "eq", 1), leaf("visits", "eq", 2)]}, {"visits": 2}, True),
    ],
)
def test_evaluation(condition, payload, expected):
    assert c.evaluate(condition, payload, FIELDS).matched is expected
    assert c.compile_condition(condition, FIELDS).matches(payload) is expected


def test_describe_reads_as_a_sentence_with_labels_choices_and_units():
    condition = {"all": [leaf("status", "eq", "PAUSED"), leaf("amount", "gt", 100)]}
    assert c.describe(condition, FIELDS) == "status is Paused and amount greater than 100 EUR"
    nested = {
        "any": [
            {"all": [leaf("due", "lt", "2024-05-01"), leaf("flag", "eq", False)]},
            {"not": leaf("status", "in", ["ACTIVE", "CANCELLED"])},
            leaf("note", "exists", False),
        ]
    }
    assert c.describe(nested, FIELDS) == (
        "(due before 2024-05-01 and flag is no) or not (status is one of Active, Cancelled) or note is not set"
    )


# --- SQL ----------------------------------------------------------------------------------------

_META = sa.MetaData()
ROWS = sa.Table(
    "test_condition_rows",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(20)),
    sa.Column("amount", sa.Numeric(14, 3)),
    sa.Column("visits", sa.Integer),
    sa.Column("due", sa.Date),
    sa.Column("at", UTCDateTime()),
    sa.Column("flag", sa.Boolean),
    sa.Column("note", sa.Text),
    sa.Column("ref", sa.Integer),
    sa.Column("customer", sa.Uuid),
)
COLUMNS = {name: ROWS.c[name] for name in FIELDS if name in ROWS.c}


@pytest.fixture
def rows_table(app: Flask):
    """The typed table the SQL tests match against, created once per test and dropped after."""
    with app.app_context():
        _META.create_all(db.engine)
    yield app
    with app.app_context():
        _META.drop_all(db.engine)


def sql_ids(app: Flask, condition: Any, rows: list[dict[str, Any]]) -> set[int]:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(ROWS.delete())
        conn.execute(ROWS.insert(), [{column.name: row.get(column.name) for column in ROWS.c} for row in rows])
        query = sa.select(ROWS.c.id).where(c.to_sql(condition, COLUMNS, FIELDS))
        return set(conn.execute(query).scalars())


def python_ids(condition: Any, rows: list[dict[str, Any]]) -> set[int]:
    compiled = c.compile_condition(condition, FIELDS)
    return {row["id"] for row in rows if compiled.matches(row)}


def test_sql_matches_the_same_rows_as_python_including_nulls(rows_table):
    rows = [
        {"id": 1, "status": "PAUSED", "amount": decimal.Decimal("120"), "note": "Big 50% Deal"},
        {"id": 2, "status": "ACTIVE", "amount": decimal.Decimal("80.5"), "note": "small_print"},
        {"id": 3, "status": None, "amount": None, "note": None},
        {"id": 4, "status": "CANCELLED", "amount": decimal.Decimal("0"), "note": "Émile"},
    ]
    cases = {
        "paused and over 100": ({"all": [leaf("status", "eq", "PAUSED"), leaf("amount", "gt", 100)]}, {1}),
        "not over 100 (NULL counts)": ({"not": leaf("amount", "gt", 100)}, {2, 3, 4}),
        "ne skips NULL": (leaf("status", "ne", "PAUSED"), {2, 4}),
        "not ne keeps NULL": ({"not": leaf("status", "ne", "PAUSED")}, {1, 3}),
        "exists": (leaf("amount", "exists"), {1, 2, 4}),
        "is not set": (leaf("amount", "exists", False), {3}),
        "percent is literal": (leaf("note", "contains", "50%"), {1}),
        "underscore is literal": (leaf("note", "contains", "L_P"), {2}),
        "only A-Z fold": (leaf("note", "contains", "é"), set()),
        "A-Z fold": (leaf("note", "contains", "ÉMILE"), {4}),
        "any of nothing true": ({"any": [leaf("visits", "eq", 1), leaf("flag", "eq", True)]}, set()),
        "always": (None, {1, 2, 3, 4}),
    }
    for name, (condition, expected) in cases.items():
        assert sql_ids(rows_table, condition, rows) == expected == python_ids(condition, rows), name


def test_a_field_without_a_column_or_a_list_field_is_not_expressible_in_sql():
    with pytest.raises(NotInSql) as missing:
        c.to_sql(leaf("invoice.total", "gt", 1), COLUMNS, FIELDS)
    assert missing.value.field == "invoice.total"
    with pytest.raises(NotInSql):
        c.to_sql(leaf("tags", "contains", "vip"), {**COLUMNS, "tags": ROWS.c.note}, FIELDS)


def test_sql_on_a_real_table_with_an_enum_a_uuid_and_a_timestamp(app_ctx):
    first, second = make_customer("Ana Costa"), make_customer("Ben Ode")
    at = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
    for customer, value, source in [(first, "81.5", MetricSource.WEARABLE), (second, "79", MetricSource.MANUAL)]:
        db.session.add(
            ProgressMetric(
                customer_id=customer,
                metric_type="WEIGHT",
                value=decimal.Decimal(value),
                unit="kg",
                recorded_at=at,
                source=source,
            )
        )
    db.session.commit()
    fields = c.fields_by_name(
        [
            Field("customer_id", "id"),
            Field("metric_type", "text"),
            Field("value", "number", unit="kg"),
            Field("recorded_at", "datetime"),
            Field("source", "enum", choices=tuple(s.value for s in MetricSource)),
        ]
    )
    columns = {name: getattr(ProgressMetric, name) for name in fields}
    condition = {
        "all": [
            leaf("metric_type", "contains", "weig"),
            leaf("value", "gte", 80),
            leaf("source", "in", ["WEARABLE"]),
            leaf("recorded_at", "lt", "2024-05-01T10:30:00+02:00"),
            {"not": leaf("customer_id", "eq", str(second))},
        ]
    }
    found = db.session.scalars(sa.select(ProgressMetric.customer_id).where(c.to_sql(condition, columns, fields)))
    assert list(found) == [first]
    assert c.describe(condition, fields).startswith("metric type contains “weig” and value at least 80 kg and")


# --- Python and SQL agree: a property test ---------------------------------------------------

_NOTE = st.text(alphabet="aAbéÉ%_/ ", max_size=4)
_AT = [dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=h) for h in range(4)]
_CUSTOMERS = [uuid.UUID(int=n) for n in (1, 2, 3)]
_VALUES = {
    "status": st.sampled_from(STATUSES),
    "amount": st.integers(-4, 4).map(lambda n: decimal.Decimal(n) / 2),
    "visits": st.integers(-2, 2),
    "due": st.integers(0, 3).map(lambda d: dt.date(2024, 1, 1) + dt.timedelta(days=d)),
    "at": st.sampled_from(_AT),
    "flag": st.booleans(),
    "note": _NOTE,
    "ref": st.integers(1, 3),
    "customer": st.sampled_from(_CUSTOMERS),
}


def _as_json(name: str, value: Any) -> Any:
    """A row value as the editor would send it in a condition."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    if isinstance(value, (dt.date, uuid.UUID)):
        return str(value)
    return value


@st.composite
def _leaves(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(_VALUES)))
    op = draw(st.sampled_from(c.OPERATORS_BY_KIND[FIELDS[name].kind]))
    if op == "exists":
        return leaf(name, op, draw(st.booleans()))
    if op == "in":
        values = _VALUES[name] if name != "note" else _NOTE.filter(bool)
        return leaf(name, op, [_as_json(name, v) for v in draw(st.lists(values, min_size=1, max_size=3))])
    if op == "contains":
        return leaf(name, op, draw(st.text(alphabet="aAbéÉ%_/ ", min_size=1, max_size=2)))
    values = _VALUES[name] if name != "note" else _NOTE.filter(bool)  # an empty text value is refused
    return leaf(name, op, _as_json(name, draw(values)))


CONDITIONS = st.recursive(
    _leaves(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        inner.map(lambda x: {"not": x}),
    ),
    max_leaves=8,
)
ROW_LISTS = st.lists(
    st.fixed_dictionaries({}, optional={name: st.one_of(st.none(), values) for name, values in _VALUES.items()}),
    min_size=1,
    max_size=6,
).map(lambda rows: [{**row, "id": index} for index, row in enumerate(rows)])


# database=None: no example database written into the work tree.
@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=CONDITIONS, rows=ROW_LISTS)
def test_python_and_sql_agree_on_random_conditions_and_rows(rows_table, condition, rows):
    assert c.validate(condition, FIELDS) == []
    assert sql_ids(rows_table, condition, rows) == python_ids(condition, rows)

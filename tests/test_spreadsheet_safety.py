"""Files meant for spreadsheets never start a formula (CSV/XLSX injection); chart labels never render as HTML.

Every export path gets the same hostile text and must neutralise it with OWASP's leading quote:
console list CSV, dashboard and entity chart CSVs, catalogue grid CSV and XLSX, audit export CSV
(rendered in SQL on PostgreSQL, in Python on SQLite). Numbers in numeric columns stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json

import openpyxl
import pytest
import sqlalchemy as sa

from app import models as m
from app.extensions import db
from app.models.analytics import MetricSource
from app.models.commerce import InvoiceStatus, PaymentMethod, PaymentStatus, ProductCategory, SubscriptionStatus
from app.models.training import Difficulty
from app.services import csv_export, spreadsheet_safety
from app.services.analytics import charting as ch
from app.services.analytics import entity_charts as ec
from app.services.analytics import reports as rp
from app.services.analytics.rollups import refresh_rollups
from app.services.audit import chain as audit
from app.services.compliance import audit_export as ex
from app.services.jobs.context import run_inline
from tests.support.jobworker import jobs_env  # noqa: F401
from tests.support.web import login

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+2",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    " =1+2",
    "\n=1+2",
    "\r=1+2",
    " \n\t-1",
]
BENIGN = ["", "plain", "a=b", "'quoted", " plain", "\nplain", "x\t=1", "12", "é=1"]
DAY = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
RANGE = "from=2025-01-01&to=2025-01-31"
LINK = '<a href="http://evil.example">click</a>'
SPAN = '<span style="position:fixed;top:0;left:0;width:100%;height:100%;background:red">covered</span>'


def rows_of(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


def assert_neutralised(cells: list[str], xml: bool = False) -> None:
    expected = ["'" + (h.replace("\r", "\n") if xml else h) for h in HOSTILE]
    assert sorted(cells) == sorted(expected)


# --------------------------------------------------------------------------- the rule


def test_the_rule_quotes_formula_starts_also_after_blanks():
    for value in HOSTILE:
        assert spreadsheet_safety.neutralise(value) == "'" + value, repr(value)
        assert spreadsheet_safety.safe_cell(value) == "'" + value
        assert spreadsheet_safety.safe_cell(value, numeric=True) == "'" + value  # not a number: still text
    for value in BENIGN:
        assert spreadsheet_safety.neutralise(value) == value, repr(value)


def test_numbers_stay_numbers_by_column_type():
    safe = spreadsheet_safety.safe_cell
    assert safe(decimal.Decimal("-12.50")) == decimal.Decimal("-12.50") and safe(-3) == -3 and safe(-0.5) == -0.5
    for text in ("-12.50", "-3", "-1E+3", "-1e-05"):
        assert safe(text, numeric=True) == text  # a numeric column rendered to text first
        assert safe(text) == "'" + text  # the same text in a text column is text
    assert safe(float("-inf")) == "'-inf" and safe(True) == "True" and safe(None) == ""
    assert csv_export.numeric_columns(m.ProgressMetric, ["value", "metric_type", "customer", "customer.full_name"]) == [
        True,
        False,
        False,
        False,
    ]
    assert csv_export.numeric_columns(m.Payment, ["invoice.amount", "id", "status", "nope"]) == [
        True,
        True,
        False,
        False,
    ]


def test_the_sql_twin_renders_the_same_cells(pg_app):
    with pg_app.app_context():
        for value in [*HOSTILE, *BENIGN, None]:
            cell = sa.select(spreadsheet_safety.neutralise_sql(sa.literal(value, sa.Text)))
            expected = None if value is None else spreadsheet_safety.neutralise(value)
            assert db.session.scalar(cell) == expected, repr(value)


# --------------------------------------------------------------------------- data


def _customer(name: str = "Customer") -> m.PlatformUser:
    user = m.PlatformUser(email=f"{abs(hash(name))}@example.test", full_name=name)
    db.session.add(user)
    db.session.flush()
    return user


def _failed_payments(reasons: list[str]) -> None:
    """One failed payment per reason, on 2025-01-15."""
    customer = _customer()
    product = m.Product(name="Plan", category=ProductCategory.COACHING, price=decimal.Decimal("10"), currency="EUR")
    db.session.add(product)
    db.session.flush()
    sub = m.Subscription(
        customer_id=customer.id, product_id=product.id, status=SubscriptionStatus.ACTIVE, start_date=DAY.date()
    )
    db.session.add(sub)
    db.session.flush()
    invoice = m.Invoice(
        subscription_id=sub.id,
        amount=decimal.Decimal("10"),
        currency="EUR",
        due_date=DAY.date(),
        status=InvoiceStatus.OPEN,
    )
    db.session.add(invoice)
    db.session.flush()
    for reason in reasons:
        db.session.add(
            m.Payment(
                invoice_id=invoice.id,
                provider="stripe",
                method=PaymentMethod.CARD,
                amount=decimal.Decimal("10"),
                currency="EUR",
                status=PaymentStatus.FAILED,
                failure_reason=reason,
                created_at=DAY,
            )
        )
    db.session.commit()


def _metrics() -> None:
    """One progress metric per hostile type, each a loss of 2.5 kg."""
    customer = _customer("=Customer")
    for kind in HOSTILE:
        db.session.add(
            m.ProgressMetric(
                customer_id=customer.id,
                metric_type=kind,
                value=decimal.Decimal("-2.5"),
                unit="kg",
                source=MetricSource.MANUAL,
                recorded_at=DAY,
            )
        )
    db.session.commit()


# --------------------------------------------------------------------------- console, charts, dashboards


def test_console_list_csv(app, client, accounts):
    with app.app_context():
        _metrics()
    login(client, "admin", "admin-Passw0rd!")
    rows = rows_of(client.get("/progress-metrics/export/"))
    header, body = rows[0], rows[1:]
    kind, value, customer = header.index("Metric"), header.index("Value"), header.index("Customer")
    assert_neutralised([r[kind] for r in body])
    assert {r[value] for r in body} == {"-2.500"}  # a numeric column: the minus sign is a number's
    assert all(r[customer].startswith("'=") for r in body)


def test_entity_chart_csv(app, client, accounts):
    with app.app_context():
        _failed_payments(HOSTILE)
        _metrics()
    login(client, "admin", "admin-Passw0rd!")
    rows = rows_of(client.get(f"/charts/payments/data.csv?by=failure_reason&{RANGE}&bucket=month"))
    assert_neutralised([r[1] for r in rows[1:] if r[2] != "0"])
    rows = rows_of(client.get(f"/charts/progressmetrics/data.csv?measure=value&{RANGE}&bucket=month"))
    assert rows[1:] == [["2025-01-01", str(-2.5 * len(HOSTILE))]]


def test_dashboard_csv(app, client, accounts):
    with app.app_context():
        _failed_payments(HOSTILE)
        refresh_rollups(db.session)
    login(client, "manager", "manager-Passw0rd!")
    rows = rows_of(client.get(f"/dashboards/revenue/revenue_failed_payments.csv?{RANGE}"))
    assert rows[0] == ["failure_reason", "failed_payments"]
    assert_neutralised([r[0] for r in rows[1:]])
    assert {r[1] for r in rows[1:]} == {"1"}


# --------------------------------------------------------------------------- catalogue grids


def test_grid_csv_and_xlsx(app, client, accounts):
    with app.app_context():
        for name in HOSTILE:
            db.session.add(m.Exercise(name=name, category="=cat", difficulty=Difficulty.BEGINNER))
        db.session.add(
            m.Product(
                name="+Product", category=ProductCategory.COACHING, price=decimal.Decimal("99.00"), currency="EUR"
            )
        )
        db.session.commit()
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    rows = rows_of(client.get("/admin/exercises/export/csv/"))
    assert_neutralised([r[0] for r in rows[1:]])
    assert {r[1] for r in rows[1:]} == {"'=cat"}
    assert rows_of(client.get("/admin/products/export/csv/"))[1][:3] == ["'+Product", "COACHING", "99.00"]

    resp = client.get("/admin/exercises/export/xlsx/")
    assert resp.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert cells and all(c.data_type == "s" and c.value.startswith("'") for c in cells)
    # XML reads a raw CR back as LF (openpyxl writes it as it is); the cell's text is otherwise as exported.
    assert_neutralised([c.value for c in cells], xml=True)
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]


# --------------------------------------------------------------------------- audit export


@pytest.mark.usefixtures("jobs_env")
def test_audit_csv_on_both_databases(app):
    with app.app_context():
        with db.engine.begin() as conn:
            audit.append(
                conn,
                [
                    {"action": h, "resource_type": h, "resource_id": h, "user_agent": h, "ip_address": h}
                    for h in HOSTILE
                ],
            )
        run = run_inline(ex.request_export(ex.build_params("2000-01-01", "2100-01-01", "csv"), None, enqueue=False))
        assert run.status == "succeeded", run.error
        manifest = ex.verify_export(app.config["EXPORTS_DIR"] / run.result["manifest"])
        path = app.config["EXPORTS_DIR"] / manifest["file"]
        rows = [r for r in ex.read_rows(path, "csv") if r["action"] != "export.audit"]
        for column in ("action", "resource_type", "resource_id", "user_agent", "ip_address"):
            assert_neutralised([r[column] for r in rows])
        # PostgreSQL renders the lines in SQL, SQLite in Python: the same bytes either way.
        params = ex.build_params("2000-01-01", "2100-01-01", "csv")
        batch = [r for r in ex._fetch(ex._filters(params), 0, 10_000, "csv") if r.id <= manifest["last_id"]]
        assert path.read_bytes().split(b"\n", 1)[1] == ex._encode_batch(batch, "csv")


# --------------------------------------------------------------------------- chart labels


def _no_markup(figure_json: str) -> None:
    fig = json.loads(figure_json)
    text = json.dumps(fig["data"]) + json.dumps({k: v for k, v in fig["layout"].items() if k != "template"})
    assert "<a" not in text and "<span" not in text, text
    assert "&lt;a href=&#34;http://evil.example&#34;&gt;click&lt;/a&gt;" in text


def test_entity_chart_figure_escapes_labels(app, accounts):
    with app.app_context():
        _failed_payments([LINK, SPAN])
        entity = ec.get_entity("payments")
        for args in ({"by": "failure_reason", "bucket": "month"}, {"by": "failure_reason"}):
            data = ec.entity_chart(db.session, entity, sa.select(entity.model), ec.parse_request(entity, args))
            _no_markup(ch.figure_json(ec.figure(entity, data, ch.FigureOptions(title=LINK))))


def test_dashboard_report_figure_escapes_labels(app, accounts):
    with app.app_context():
        _failed_payments([LINK, SPAN])
        ctx = rp.ReportContext(
            db.session, rp.parse_filters({"from": "2025-01-01", "to": "2025-01-31"}), use_rollups=False
        )
        report = rp.all_reports()["revenue_failed_payments"]
        data = report.query(ctx)
        assert {r[0] for r in data.rows} == {LINK, SPAN}  # the data (and its CSV) keep the text as it is
        _no_markup(ch.figure_json(report.figure(data, ctx)))


def test_escaping_keeps_the_codes_own_markup():
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(z=[[1]], x=["a&b"], y=[LINK], hovertemplate="%{y}<extra></extra>"))
    out = json.loads(ch.figure_json(fig))
    assert out["data"][0]["hovertemplate"] == "%{y}<extra></extra>"
    assert out["data"][0]["x"] == ["a&amp;b"] and out["data"][0]["z"] == [[1]]
    assert "<a" not in json.dumps(out["data"])

"""A dashboard in Spanish, in a real browser: plotly's own month names come from the locally served
locale file ("Ene", not "Jan"), and each legend sits clear of its chart's axis titles and tick labels.

Chromium missing: the test fails when CI=true and is skipped otherwise.
"""

from __future__ import annotations

import pytest

from tests.e2e.browser import live_app, pass_mfa, recording_page

pytestmark = pytest.mark.e2e

BOXES = """() => Array.from(document.querySelectorAll('.cd-chart .main-svg')).map(svg => {
  const box = sel => Array.from(svg.parentNode.querySelectorAll(sel)).map(el => el.getBoundingClientRect().toJSON());
  return {legend: box('.legend'), titles: box('.g-xtitle text, .g-ytitle text'), ticks: box('.xtick text')};
})"""


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def test_spanish_month_names_and_legends_clear_of_axes(tmp_path):
    from app.extensions import db
    from app.services.analytics.rollups import refresh_rollups
    from tests.support import dashboard_data

    with live_app(tmp_path) as (base, app):
        with app.app_context():
            dashboard_data.build(dashboard_data.coach_platform_id())
            refresh_rollups(db.session)
        with recording_page(base, locale="es-ES") as page:
            page.goto("/login/")
            page.fill("input[name=username]", "manager")
            page.fill("input[name=password]", "manager-Passw0rd!")
            page.click("form[name=login] [type=submit]")
            pass_mfa(page, app, "manager")
            page.goto("/dashboards/revenue/?from=2025-01-01&to=2025-03-31")
            page.locator("#chart-revenue_mrr .xtick text").first.wait_for()
            ticks = page.locator("#chart-revenue_mrr .xtick text").all_text_contents()
            assert any("Ene" in t for t in ticks) and not any("Jan" in t for t in ticks), ticks
            for chart in page.evaluate(BOXES):
                for legend in chart["legend"]:
                    assert not any(overlaps(legend, other) for other in chart["titles"] + chart["ticks"]), chart
            assert page.requested_hosts == {base.removeprefix("http://")}

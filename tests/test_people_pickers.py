"""The audit export's actor and the data-subject request's user are picked by name or email, not typed as UUIDs."""

from __future__ import annotations

import re

from flask import Flask

from app.extensions import db
from app.models.identity import PlatformUser
from app.services.audit import chain as audit
from tests.support.apps import make_accounts
from tests.support.web import login


def test_compliance_pickers_offer_people_by_name_and_post_their_id(sqlite_app: Flask) -> None:
    accounts = make_accounts(sqlite_app)
    with sqlite_app.app_context():
        ana = PlatformUser(email="ana.pick@example.test", full_name="Ana Pickering", locale="en")
        db.session.add(ana)
        audit.system_user_id(db.session.connection())
        db.session.commit()
        ana_id = str(ana.id)
    client = sqlite_app.test_client()
    login(client, "compliance", accounts["Compliance"].password)
    for page_url, field, people_url in (
        ("/compliance/subjects/", "user", "/compliance/subjects/people"),
        ("/compliance/exports/", "actor", "/compliance/exports/people"),
    ):
        page = client.get(page_url).get_data(as_text=True)
        picker = re.search(rf'<select name="{field}"[^>]*>', page)
        assert picker and "cd-autocomplete" in picker.group(0) and f'data-url="{people_url}"' in picker.group(0)
        assert f'<input class="form-control" name="{field}"' not in page
        found = client.get(people_url, query_string={"q": "pickering"}).get_json()["results"]
        assert found == [{"id": ana_id, "text": "Ana Pickering <ana.pick@example.test>"}]
    # The system user acts in the audit trail, but is nobody's personal data.
    system = {"q": audit.SYSTEM_EMAIL}
    assert len(client.get("/compliance/exports/people", query_string=system).get_json()["results"]) == 1
    assert client.get("/compliance/subjects/people", query_string=system).get_json()["results"] == []
    # A role without the page gets no people either.
    coach = sqlite_app.test_client()
    login(coach, "coach", accounts["Coach"].password)
    assert coach.get("/compliance/subjects/people", query_string={"q": "ana"}).status_code in (302, 403)

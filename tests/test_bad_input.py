"""Bad input gets a clear message or a 400/404, never a 500, and changes nothing."""

from __future__ import annotations

import decimal
import uuid

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models.commerce import Product, Promotion
from app.models.customers import CoachAssignment
from app.models.engagement import Message, Thread
from app.models.identity import Consent, PlatformUser
from app.models.scheduling import ScheduledSession
from tests.support.web import login, session_csrf
from tests.support.world import make_world, pk_of


@pytest.fixture
def admin(app: Flask, accounts: dict) -> dict:
    with app.app_context():
        world = make_world("coach@coachdesk.test", tag="x")
        ids = {m: pk_of(o) for m, o in world.items()}
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    return {"client": client, "token": session_csrf(app, client), "ids": ids}


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def post(admin: dict, url: str, **data: str):
    return admin["client"].post(url, data={"csrf_token": admin["token"], **data})


def text_of(resp) -> str:
    assert resp.status_code < 500
    return resp.get_data(as_text=True)


def test_malformed_and_invalid_json_name_the_field_and_change_nothing(app: Flask, admin: dict) -> None:
    user = admin["ids"][PlatformUser]
    before = count(app, Consent)
    page = text_of(post(admin, "/consents/add", user=user, consent_type="x", metadata_json="{not json"))
    assert "Not valid JSON." in page
    # The generated form's inputs: the error stands beside the input it is about.
    form = {"user": user, "consent_type": "x", "metadata_json.__present": "1", "metadata_json.channel": "FAX"}
    page = text_of(post(admin, "/consents/add", **form))
    channel = page.split('for="metadata_json-channel"', 1)[1].split("</div>", 1)[0]
    assert "Not one of the choices." in channel
    assert count(app, Consent) == before
    consent = admin["ids"][Consent]
    page = text_of(post(admin, f"/consents/edit/{consent}", consent_type="y", metadata_json="[1,"))
    assert "Not valid JSON." in page
    with app.app_context():
        row = db.session.get(Consent, int(consent))
        assert row.consent_type == "marketing" and row.metadata_json == {"source": "x"}


def test_negative_amounts_are_refused(app: Flask, admin: dict) -> None:
    before = count(app, Product)
    page = text_of(post(admin, "/products/add", name="Bad", category="COACHING", price="-5", currency="EUR"))
    assert "at least 0" in page
    assert count(app, Product) == before
    page = text_of(
        post(admin, "/promotions/add", code="NEG", discount_type="FIXED", value="-1", start_date="2025-01-01")
    )
    assert "at least 0" in page
    assert count(app, Promotion) == 1


def test_end_before_start_is_a_message_and_rolls_back(app: Flask, admin: dict) -> None:
    before = count(app, ScheduledSession)
    resp = post(
        admin,
        "/scheduled-sessions/add",
        title="Backwards",
        session_type="CLASS",
        start_time="2025-05-01T10:00",
        end_time="2025-05-01T09:00",
        timezone="UTC",
        capacity="5",
        status="SCHEDULED",
    )
    page = text_of(resp)
    assert "Not saved" in page and "end after start" in page
    assert count(app, ScheduledSession) == before
    page = text_of(
        post(
            admin,
            "/promotions/add",
            code="BACKWARDS",
            discount_type="FIXED",
            value="5",
            start_date="2025-05-02",
            end_date="2025-05-01",
        )
    )
    assert "end after start" in page
    assert count(app, Promotion) == 1


def test_unknown_enum_values_are_refused_in_forms_and_filters(app: Flask, admin: dict) -> None:
    before = count(app, Product)
    page = text_of(post(admin, "/products/add", name="Odd", category="SPACESHIP", price="5", currency="EUR"))
    assert "Not a valid choice" in page
    assert count(app, Product) == before
    page = text_of(admin["client"].get("/products/list/?f_category=SPACESHIP"))
    assert "unknown value SPACESHIP" in page
    page = text_of(admin["client"].get("/subscriptions/list/?f_start_date_from=yesterday"))
    assert "dates must look like" in page
    page = text_of(admin["client"].get("/subscriptions/list/?f_start_date_from=2025-02-01&f_start_date_to=2025-01-01"))
    assert "the end is before the start" in page


def test_oversize_text_is_refused(app: Flask, admin: dict) -> None:
    ids = admin["ids"]
    before = count(app, Message)
    # Messages are written in the Inbox only (its own tests send an oversize body); the record form is gone.
    resp = post(admin, "/messages/add", thread=ids[Thread], sender=ids[PlatformUser], body="x" * 20001)
    assert resp.status_code == 404
    assert count(app, Message) == before
    page = text_of(post(admin, "/products/add", name="n" * 201, category="COACHING", price="5", currency="EUR"))
    assert "longer than 200" in page
    assert count(app, Product) == 1


def test_duplicates_are_named_and_nothing_changes(app: Flask, admin: dict) -> None:
    with app.app_context():
        code = db.session.scalars(select(Promotion.code)).one()
    page = text_of(post(admin, "/promotions/add", code=code, discount_type="FIXED", value="5", start_date="2025-01-01"))
    assert "already exists" in page.lower()
    assert count(app, Promotion) == 1
    # a composite unique key only the database knows about: the IntegrityError becomes a message
    with app.app_context():
        pair = db.session.scalars(select(CoachAssignment)).one()
        customer, coach = str(pair.customer_id), str(pair.coach_id)
    before = count(app, CoachAssignment)
    page = text_of(post(admin, "/coach-assignments/add", customer=customer, coach=coach, is_primary="y"))
    assert "Not saved: a record with the same" in page and "already exists" in page
    assert "INSERT" not in page and "SELECT" not in page and "IntegrityError" not in page
    assert count(app, CoachAssignment) == before


@pytest.mark.parametrize(
    "url",
    [
        "/platform-users/show/not-a-uuid",
        "/platform-users/edit/not-a-uuid",
        "/customer-profiles/show/12345",
        "/products/show/abc",
        "/products/show/99999999999999999999999",
        "/products/edit/1.5",
        "/platform-users/show/00000000-0000-0000-0000-000000000000",
    ],
)
def test_wrong_keys_in_urls_are_404(app: Flask, admin: dict, url: str) -> None:
    assert admin["client"].get(url).status_code == 404


def test_wrong_keys_in_write_routes_are_404(app: Flask, admin: dict) -> None:
    assert post(admin, "/platform-users/delete/not-a-uuid").status_code == 404
    assert post(admin, "/platform-users/edit/zzz", full_name="x").status_code == 404
    assert post(admin, "/products/delete/abc").status_code == 404
    assert post(admin, "/products/action/none/abc").status_code == 404


def test_missing_csrf_token_is_400_and_changes_nothing(app: Flask, admin: dict) -> None:
    client, ids = admin["client"], admin["ids"]
    before = count(app, Product)
    assert (
        client.post("/products/add", data={"name": "NoToken", "category": "COACHING", "price": "1"}).status_code == 400
    )
    assert client.post(f"/products/delete/{ids[Product]}").status_code == 400
    assert client.get(f"/products/delete/{ids[Product]}").status_code == 405
    assert count(app, Product) == before
    resp = client.post("/subscriptions/action_post", data={"action": "pause", "rowid": "1"})
    assert resp.status_code == 400


def test_page_and_page_size_are_validated_and_capped(app: Flask, admin: dict) -> None:
    client = admin["client"]
    with app.app_context():
        for i in range(130):
            db.session.add(Product(name=f"P{i:03}", category="COACHING", price=decimal.Decimal(i)))
        db.session.commit()
    assert client.get("/products/list/?psize_ProductView=abc").status_code == 400
    assert client.get("/products/list/?page_ProductView=abc").status_code == 400
    page = text_of(client.get("/products/list/?psize_ProductView=100000"))
    assert page.count("/products/show/") == 100
    page = text_of(client.get("/products/list/?psize_ProductView=-3&page_ProductView=-2"))
    assert page.count("/products/show/") == 1
    page = text_of(client.get("/products/list/?page_ProductView=99999999"))
    assert "Page numbers stop at" in page
    # sorting by a column the view does not offer (a secret, say) is ignored
    with app.app_context():
        db.session.get(PlatformUser, uuid.UUID(admin["ids"][PlatformUser])).password_hash = "scrypt:leaky-hash-value"
        db.session.commit()
    page = text_of(client.get("/platform-users/list/?_oc_PlatformUserView=password_hash&_od_PlatformUserView=asc"))
    assert "leaky-hash-value" not in page
    export = client.get("/platform-users/export/?_oc_PlatformUserView=password_hash").get_data(as_text=True)
    assert "leaky-hash-value" not in export and "password" not in export.lower()
    assert text_of(client.get("/products/list/?_oc_ProductView=nope&_od_ProductView=sideways"))


@pytest.mark.parametrize(
    "url",
    [
        "/subscriptions/list/?f_start_date_to=9999-12-31",
        "/subscriptions/list/?f_start_date_from=0001-01-01",
        "/messages/list/?f_sent_at_to=9999-12-31",
        "/messages/list/?f_sent_at_from=0001-01-01",
    ],
)
def test_list_date_filters_outside_1900_to_2999_are_a_message(app: Flask, admin: dict, url: str) -> None:
    page = text_of(admin["client"].get(url))
    assert "dates must lie between 1900 and 2999" in page


@pytest.mark.parametrize(
    "query", ["from=9999-12-31", "to=9999-12-31", "to=0001-01-01", "from=0001-01-01", "from=2020-01-01&to=9999-12-31"]
)
def test_chart_and_dashboard_dates_outside_1900_to_2999_are_a_400(app: Flask, admin: dict, query: str) -> None:
    for base in ("/charts/payments/", "/charts/payments/data.csv", "/dashboards/revenue/"):
        resp = admin["client"].get(f"{base}?{query}")
        assert resp.status_code == 400, (base, query, resp.status_code)
        if base != "/charts/payments/data.csv":
            assert "dates must lie between 1900 and 2999" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "flt0_0=x",
        "flt1_1=SPACESHIP",
        "flt0_0=1e309",
        "page=1000000000000000000000000000000",
        "page_size=1000000000000000000000",
        "search=" + "a" * 60_000,
    ],
)
@pytest.mark.parametrize("grid", ["habits", "products", "promotions", "exercises", "meals", "badges"])
def test_grid_filters_pages_and_search_never_500(app: Flask, admin: dict, grid: str, query: str) -> None:
    for url in (f"/admin/{grid}/", f"/admin/{grid}/export/csv/"):
        assert admin["client"].get(f"{url}?{query}").status_code == 200, url


@pytest.mark.parametrize("pk", [None, "", "abc", "98765432109876543210", "987654321"])
def test_grid_inline_edit_of_a_missing_record_is_400(app: Flask, admin: dict, pk: str | None) -> None:
    before = count(app, Product)
    data = {"name": "Renamed"} if pk is None else {"list_form_pk": pk, "name": "Renamed"}
    resp = post(admin, "/admin/products/ajax/update/", **data)
    assert resp.status_code == 400
    assert count(app, Product) == before


@pytest.mark.parametrize("policy_id", ["98765432109876543210", "²", "-1", "abc"])
def test_retention_form_refuses_a_policy_id_no_row_can_have(app: Flask, admin: dict, policy_id: str) -> None:
    from app.models.compliance import DataRetentionPolicy

    before = count(app, DataRetentionPolicy)
    form = {"entity": "engagement_events", "strategy": "HARD_DELETE", "days": "30", "policy_id": policy_id}
    resp = post(admin, "/compliance/retention/policies", **form)
    assert resp.status_code == 400 and "Unknown policy." in resp.get_data(as_text=True)
    assert count(app, DataRetentionPolicy) == before


@pytest.mark.parametrize("item_id", ["999999", "98765432109876543210"])
def test_a_program_item_must_point_at_an_existing_catalogue_row(app: Flask, admin: dict, item_id: str) -> None:
    from app.models.training import Habit, Program, ProgramItem

    form = {
        "program": admin["ids"][Program],
        "week_index": "0",
        "day_index": "0",
        "order_index": "0",
        "item_type": "HABIT",
        "item_id": item_id,
        "prescription_json": "{}",
    }
    before = count(app, ProgramItem)
    page = text_of(post(admin, "/program-items/add", **form))
    assert "There is no habit with id" in page or "Number must be" in page
    assert count(app, ProgramItem) == before
    good = post(admin, "/program-items/add", **{**form, "item_id": admin["ids"][Habit]})
    assert good.status_code == 302 and count(app, ProgramItem) == before + 1


@pytest.mark.parametrize("key", ["1e309", "NaN", "-1000000000000000000000000000000", "abc"])
@pytest.mark.parametrize("page", ["details", "edit"])
def test_grid_record_pages_with_an_impossible_key_are_no_record(app: Flask, admin: dict, page: str, key: str) -> None:
    resp = admin["client"].get(f"/admin/products/{page}/?id={key}")
    assert resp.status_code == 302

"""Readable values (issue 17): labels instead of codes, names with links instead of ids, batched.

SQLite app, a small world (``make_world``), pages fetched as a person would and links followed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.jobs import JobRun
from app.models.training import Difficulty, Exercise, ItemType, Program, ProgramItem
from tests.support.apps import make_accounts
from tests.support.web import login
from tests.support.world import make_world


@contextmanager
def counted_statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):  # noqa: ANN001 (SQLAlchemy's event signature)
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _admin(app: Flask):
    make_accounts(app)
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    return client


def test_program_items_show_the_exercise_by_name_linked_to_its_page(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        world = make_world("coach@coachdesk.test")
        db.session.commit()
        exercise_id = world[Exercise].id
    page = client.get("/program-items/list/").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">Squat a</a>', page)
    assert link, "the program item's exercise is not shown by name with a link"
    assert f">{exercise_id}<" not in page
    assert "EXERCISE" not in page.split("<table", 1)[1]  # the item type is shown by its label too
    opened = client.get(link.group(1))
    assert opened.status_code == 200 and "Squat a" in opened.get_data(as_text=True)


def test_a_list_of_program_items_resolves_names_in_one_query_per_kind(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        world = make_world("coach@coachdesk.test")
        program_id = world[Program].id
        db.session.commit()
    client.get("/program-items/list/").close()  # warm caches (permissions, menus)
    with counted_statements(sqlite_app) as few:
        client.get("/program-items/list/").close()
    with sqlite_app.app_context():
        for n in range(6):
            exercise = Exercise(name=f"Lunge {n}", category="legs", difficulty=Difficulty.BEGINNER)
            db.session.add(exercise)
            db.session.flush()
            db.session.add(
                ProgramItem(program_id=program_id, item_type=ItemType.EXERCISE, item_id=exercise.id, order_index=n + 1)
            )
        db.session.commit()
    with counted_statements(sqlite_app) as many:
        page = client.get("/program-items/list/").get_data(as_text=True)
    assert all(f">Lunge {n}</a>" in page for n in range(6))
    assert len(many) == len(few), "names are looked up per row"


def test_an_unknown_item_id_stays_an_id(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        world = make_world("coach@coachdesk.test")
        item = world[ProgramItem]
        item.item_id = 987654
        db.session.commit()
        pk = item.id
    assert "#987654" in client.get(f"/program-items/show/{pk}").get_data(as_text=True)


def test_subscriptions_read_as_product_and_customer(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        make_world("coach@coachdesk.test")
        db.session.commit()
    page = client.get("/invoices/list/").get_data(as_text=True)
    assert "Coaching a · Customer A" in page
    assert not re.search(r">#\d+<", page)


def test_the_data_subject_list_says_whose_request_it_is(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        world = make_world("coach@coachdesk.test")
        from app.models.identity import PlatformUser

        customer = world[PlatformUser]
        db.session.add(
            JobRun(kind="dsr.export", queue="exports", params={"user_id": str(customer.id)}, status="succeeded")
        )
        db.session.commit()
    page = client.get("/compliance/subjects/").get_data(as_text=True)
    link = re.search(r'<td class="cd-subject"><a href="([^"]+)">Customer A</a>', page)
    assert link, "the request does not name its person"
    assert "Personal data export" in page and "Succeeded" in page and ">succeeded<" not in page
    opened = client.get(link.group(1))
    assert opened.status_code == 200 and "customer-a@example.test" in opened.get_data(as_text=True)


def test_job_states_are_labels_in_the_viewers_language(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        db.session.add(JobRun(kind="billing.daily", queue="default", params={}, status="succeeded"))
        db.session.commit()
    with client.session_transaction() as session:
        session["locale"] = "es"
    page = client.get("/compliance/jobs/").get_data(as_text=True)
    assert ">succeeded<" not in page
    assert 'data-status="succeeded"' in page


def test_chart_categories_show_labels_and_names_not_codes_and_ids(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        make_world("coach@coachdesk.test")
        db.session.commit()
    by_product = client.get("/charts/subscriptions/?by=product_id").get_data(as_text=True)
    assert "Coaching a" in by_product
    by_type = client.get("/charts/scheduledsessions/?by=session_type").get_data(as_text=True)
    assert "Class" in by_type and '"CLASS"' not in by_type.split("cd-buckets", 1)[-1]
    csv = client.get("/charts/scheduledsessions/data.csv?by=session_type").get_data(as_text=True)
    assert "CLASS" in csv  # the file for machines keeps the code


def test_the_builder_gets_labels_for_prescription_codes(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        world = make_world("coach@coachdesk.test")
        db.session.commit()
        program_id = world[Program].id
    page = client.get(f"/planbuilder/{program_id}").get_data(as_text=True)
    assert '"POST_WORKOUT": "After a workout"' in page
    assert '"WEEKDAYS": "Weekdays"' in page


def test_a_goal_code_shows_by_label_and_free_text_as_written(sqlite_app: Flask) -> None:
    client = _admin(sqlite_app)
    with sqlite_app.app_context():
        world = make_world("coach@coachdesk.test")
        world[Program].goal = "LOSE_WEIGHT"
        db.session.commit()
        pk = world[Program].id
    page = client.get(f"/programs/show/{pk}").get_data(as_text=True)
    assert "Lose weight" in page and "LOSE_WEIGHT" not in page

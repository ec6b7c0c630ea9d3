"""The plan views' world (a coach, customers, a program) and JSON posting helpers."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.identity import ConsoleUser
from app.models.training import ItemType, Visibility
from app.policy.scope import Actor
from tests.support.apps import Account
from tests.support.plan_support import make_catalogue, make_customer, make_program
from tests.support.web import csrf_token, login

E, M = ItemType.EXERCISE, ItemType.MEAL


@pytest.fixture
def world(app, accounts):
    """Coach A (the `coach` account) with a customer and a private program; coach B with theirs."""
    from app.extensions import appbuilder
    from app.services.accounts import create_console_account

    with app.app_context():
        acc = create_console_account(
            appbuilder.sm,
            username="coach2",
            email="coach2@coachdesk.test",
            full_name="Coach Two",
            role="Coach",
            password="coach2-Passw0rd!",
        )
        accounts["Coach2"] = Account(acc.username, acc.password, "Coach")
        ids = {
            u.username: u.platform_user_id
            for u in db.session.scalars(sa.select(ConsoleUser).where(ConsoleUser.username.in_(["coach", "coach2"])))
        }
        coach_a = Actor(ids["coach"], frozenset({"Coach"}))
        coach_b = Actor(ids["coach2"], frozenset({"Coach"}))
        cat = make_catalogue()
        mine = make_customer("Alma Mine", "Europe/Berlin", coach_a.user_id)
        theirs = make_customer("Theo Theirs", "UTC", coach_b.user_id)
        program = make_program(coach_a, [(E, cat.exercises[0], 0, 0), (M, cat.meals[0], 0, 2)])
        shared = make_program(coach_b, [(E, cat.exercises[1], 0, 1)], visibility=Visibility.SHARED, title="Team")
        return {
            "cat": cat,
            "mine": mine,
            "theirs": theirs,
            "program": program.id,
            "shared": shared.id,
            "accounts": accounts,
            "coach_a": coach_a,
            "coach_b": coach_b,
            "app": app,
        }


def _login(client, accounts, role):
    """Sign in; return the session's CSRF token (taken before login, it stays valid: the session is kept)."""
    token = csrf_token(client)
    account = accounts[role]
    login(client, account.username, account.password)
    return token


def _post_json(client, url, body, token, raw=None):
    headers = {"X-CSRFToken": token} if token else {}
    data = raw if raw is not None else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", headers=headers)

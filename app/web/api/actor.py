"""From an API principal to the ``Actor`` every query and service of the API runs as.

The client's subject decides who it acts for, and so which rows it reaches (``app.policy.scope``):

* a coach subject acts as that coach (``Actor(coach_id, {Coach})``): the coach's customers only;
* a customer subject acts as that customer (``Actor(customer_id, {CustomerApp})``): their own rows;
* no subject: a partner (``Actor(None, {ApiPartner})``), every row its scopes reach.

A subject client may use a scope only while the role it acts as holds the matching grant in the
role matrix (``app.policy.roles``): a key cannot give a coach's app more than the coach's console.
"""

from __future__ import annotations

from app.policy.roles import API_PARTNER, COACH, CUSTOMER_APP, READ, WRITE, allowed
from app.policy.scope import Actor
from app.services.api_clients.keys import ApiPrincipal
from app.services.api_clients.scopes import SCOPES


def api_actor(principal: ApiPrincipal) -> Actor:
    """Who the client acts as: its coach, its customer, or the business (a partner)."""
    if principal.coach_id is not None:
        return Actor(principal.coach_id, frozenset({COACH}))
    if principal.customer_id is not None:
        return Actor(principal.customer_id, frozenset({CUSTOMER_APP}))
    return Actor(None, frozenset({API_PARTNER}))


def scope_granted(principal: ApiPrincipal, scope: str) -> bool:
    """The client holds ``scope`` and the role it acts as may read/write the scope's console resource."""
    if not principal.allows(scope) or scope not in SCOPES:
        return False
    resource, write, _label = SCOPES[scope]
    actor = api_actor(principal)
    return any(allowed(role, resource, WRITE if write else READ) for role in actor.roles)


def effective_scopes(principal: ApiPrincipal) -> frozenset[str]:
    """The scopes the client may use now (held and granted)."""
    return frozenset(scope for scope in principal.scopes if scope_granted(principal, scope))

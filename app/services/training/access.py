"""Checks every training service makes before touching a row: the role grant, and ids that can exist."""

from __future__ import annotations

from app.policy.roles import WRITE, allowed
from app.policy.scope import Actor

# Largest value an INTEGER key column holds; larger ids are "not found", never a database error.
MAX_ID = 2**31 - 1


def may_write(actor: Actor, resource: str) -> bool:
    """Whether one of the actor's roles grants write on ``resource`` in the role matrix (roles.py).

    Views check the same grant through FAB; services check it again so a job or a shell
    cannot do what the console would refuse.
    """
    return any(allowed(role, resource, WRITE) for role in actor.roles)

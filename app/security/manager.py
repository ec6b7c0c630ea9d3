"""FAB security manager: the console-account model and FAB views we switch off.

Kept deliberately small; row scope lives in ``app.security.scope`` and role
definitions in ``app.security.roles``.
"""

from __future__ import annotations

from flask_appbuilder.security.sqla.manager import SecurityManager

from app.models.identity import ConsoleUser
from app.security.permission_cache import PermissionCacheMixin


class CoachdeskSecurityManager(PermissionCacheMixin, SecurityManager):
    user_model = ConsoleUser
    # FAB's user-statistics chart loads Google's CDN and aggregates in Python.
    userstatschartview = None

"""Request-bound security: FAB's security manager, its views, sign-in limits and session hooks.

The rules themselves (roles, scope, passwords) live in ``app.policy``.
"""

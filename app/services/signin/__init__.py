"""Signing in beyond the password: TOTP and recovery codes (``mfa``), server-side sign-in sessions (``auth_sessions``).

No request objects here: the web layer passes the address, user agent, time and config values it read.
"""

"""Job kinds of the engagement package (discovery imports this module): each kind lives beside its service."""

from __future__ import annotations

from app.services.engagement.announcements import send_job  # noqa: F401  (a kind: discovery finds it here)

"""Job kinds of the engagement services (discovery reads this module)."""

from app.services.engagement.delivery import deliver_job  # noqa: F401  (a kind: discovery finds it here)

"""Job kinds of the engagement services (discovery reads this module): each kind lives beside its service."""

from app.services.engagement.announcements import send_job  # noqa: F401  (a kind: discovery finds it here)
from app.services.engagement.delivery import deliver_job  # noqa: F401  (a kind: discovery finds it here)

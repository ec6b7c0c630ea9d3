"""What the console keeps for a person's own convenience: saved list views (issue 17)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, fk, utcnow
from app.models.types import UTCDateTime


class SavedView(Model):
    """A list page's filters, sort and columns saved under a name by one console account."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    console_user_id: Mapped[int] = fk("ab_user.id", "CASCADE")
    # The list's endpoint (e.g. ``PlatformUserView.list``): where the view opens.
    endpoint: Mapped[str] = mapped_column(sa.String(200), nullable=False, info={"personal": False})
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, info={"personal": False})
    # The list's query string (filters, order, page size, columns), kept as the page gave it.
    query: Mapped[str] = mapped_column(sa.String(4000), nullable=False, default="", info={"personal": True})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("console_user_id", "endpoint", "name"),)

    def __str__(self) -> str:
        return self.name

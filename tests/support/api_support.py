"""REST API test helpers: API clients with keys, and Bearer headers."""

from __future__ import annotations

import uuid

from app.extensions import db
from app.models.automation import APIClient, ClientStatus
from app.services.api_clients.keys import issue_key
from app.services.api_clients.scopes import SCOPES

ALL_SCOPES = " ".join(sorted(SCOPES))


def make_api_client(
    scopes: str = ALL_SCOPES,
    *,
    coach_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    status: ClientStatus = ClientStatus.ACTIVE,
    name: str | None = None,
) -> tuple[int, str]:
    """A committed API client and its key (call inside an app context)."""
    issued = issue_key()
    client = APIClient(
        name=name or f"client-{uuid.uuid4().hex[:8]}",
        api_key_hash=issued.key_hash,
        key_prefix=issued.prefix,
        scopes=scopes,
        coach_id=coach_id,
        customer_id=customer_id,
        status=status,
    )
    db.session.add(client)
    db.session.commit()
    return client.id, issued.key


def bearer(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}

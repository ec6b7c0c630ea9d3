"""Parse the seed data model (docs/seed-data-model.md) into {table name: [columns]}."""

from __future__ import annotations

import re
from pathlib import Path

SEED_DOC = Path(__file__).resolve().parents[2] / "docs" / "seed-data-model.md"

# The seed has two "Sessions" tables; DESIGN.md renames them by area.
SESSIONS_BY_AREA = {"Core Identity & Access": "auth_sessions", "Scheduling & Attendance": "scheduled_sessions"}


def table_name(entity: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", entity).lower()


def seed_tables() -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    area = ""
    for line in SEED_DOC.read_text().splitlines():
        if line.startswith("## "):
            area = line[3:].strip()
            continue
        for entity, cols in re.findall(r"\*\*(\w+)\*\* `\(([^`]*)\)`", line):
            name = SESSIONS_BY_AREA[area] if entity == "Sessions" else table_name(entity)
            cols = re.sub(r"\[[^\]]*\]", "", cols)
            tables[name] = [c.strip().split()[0] for c in cols.split(",") if c.strip()]
    return tables

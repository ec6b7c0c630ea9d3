"""Shared state of one demo-data run: the seeded RNG, the clock, fakers and bulk insert helpers.

Everything random comes from one ``random.Random(seed)`` so a seed always gives
the same data; only secrets (API keys, wearable tokens, console passwords) come
from ``secrets``, because a key derivable from a public seed is no key at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from faker import Faker
from sqlalchemy import insert

from app.extensions import db
from app.models.types import JSONDocument, UTCDateTime

BATCH_SIZE = 2000

# (Faker locale, user locale, timezones, weight): customers come mostly from the
# DACH region, Spain and the UK, with a long multilingual tail.
LOCALES: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("de_DE", "de", ("Europe/Berlin",), 22),
    ("de_AT", "de", ("Europe/Vienna",), 4),
    ("de_CH", "de", ("Europe/Zurich",), 3),
    ("es_ES", "es", ("Europe/Madrid", "Atlantic/Canary"), 14),
    ("es_MX", "es", ("America/Mexico_City",), 4),
    ("en_GB", "en", ("Europe/London",), 14),
    ("en_US", "en", ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"), 12),
    ("en_AU", "en", ("Australia/Sydney", "Australia/Melbourne"), 3),
    ("fr_FR", "fr", ("Europe/Paris",), 7),
    ("it_IT", "it", ("Europe/Rome",), 5),
    ("nl_NL", "nl", ("Europe/Amsterdam",), 4),
    ("pl_PL", "pl", ("Europe/Warsaw",), 3),
    ("pt_BR", "pt", ("America/Sao_Paulo",), 3),
    ("tr_TR", "tr", ("Europe/Istanbul",), 2),
    ("ja_JP", "ja", ("Asia/Tokyo",), 2),
)


@dataclass(slots=True)
class Person:
    id: uuid.UUID
    full_name: str
    email: str
    locale: str
    timezone: str
    phone: str
    created_at: dt.datetime


@dataclass(slots=True)
class Customer(Person):
    signup: dt.datetime = dt.datetime.min.replace(tzinfo=dt.UTC)
    # Last moment the customer was active; None while still active.
    churned_at: dt.datetime | None = None
    adherence: float = 0.7
    goal: str = "WELLBEING"
    coach: Person | None = None
    wearable: bool = False
    suspended: bool = False
    plan_ids: list[int] = field(default_factory=list)

    @property
    def active_until(self) -> dt.datetime:
        return self.churned_at or _FAR_FUTURE

    def is_active_on(self, moment: dt.datetime) -> bool:
        return self.signup <= moment < self.active_until


_FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class Ctx:
    """One run: the RNG, 'now', the people made so far and ids handed back by the database."""

    def __init__(self, seed: int, customers: int, now: dt.datetime) -> None:
        self.rng = random.Random(seed)
        self.n_customers = customers
        self.now = now
        self.today = now.date()
        self.fakers: dict[str, Faker] = {}
        for fake_locale, *_ in LOCALES:
            fake = Faker(fake_locale)
            fake.seed_instance(self.rng.getrandbits(32))
            self.fakers[fake_locale] = fake
        self.customers: list[Customer] = []
        self.coaches: list[Person] = []
        self.admins: list[Person] = []
        self.support: list[Person] = []
        self.console_people: dict[str, Person] = {}
        self.role_ids: dict[str, int] = {}
        self.ids: dict[str, list[int]] = {}
        self.extra: dict[str, Any] = {}
        self.used_emails: set[str] = set()

    # -- randomness helpers -------------------------------------------------
    def branch(self) -> random.Random:
        """A generator seeded from this one's state, which it leaves untouched.

        Derived with a digest of the state, not ``hash()``: the state holds ``None`` (no cached
        Gaussian), and before Python 3.12 ``hash(None)`` is the object's address, different in
        every process, so the same seed gave different data from one run to the next.
        """
        digest = hashlib.blake2b(repr(self.rng.getstate()).encode(), digest_size=8).digest()
        return random.Random(int.from_bytes(digest, "big"))

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(n * 4):0{n}x}"

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment uniformly between start and end (start if the range is empty), to the second."""
        span = max(0, int((end - start).total_seconds()))
        return start + dt.timedelta(seconds=self.rng.randint(0, span))

    def days_ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def weighted(self, options: dict[str, float]) -> str:
        return self.rng.choices(list(options), weights=list(options.values()))[0]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick_locale(self) -> tuple[str, str, str]:
        entry = self.rng.choices(LOCALES, weights=[w for *_, w in LOCALES])[0]
        return entry[0], entry[1], self.rng.choice(entry[2])

    def unique_email(self, full_name: str, domain: str) -> str:
        base = slug(full_name, ".") or "user"
        email = f"{base}@{domain}"
        n = 2
        while email in self.used_emails:
            email = f"{base}{n}@{domain}"
            n += 1
        self.used_emails.add(email)
        return email


def slug(text: str, sep: str = "-") -> str:
    """ASCII slug for e-mail addresses and URLs ("Jürgen Groß" -> "jurgen.gross")."""
    text = text.replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("ı", "i")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = ["".join(ch for ch in w if ch.isalnum()) for w in ascii_text.lower().split()]
    return sep.join(w for w in words if w)


def batched(rows: Iterable[dict[str, Any]], size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_rows(model: type, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk-insert rows in batches, bypassing the ORM; return how many.

    SQLite takes a plain executemany. On PostgreSQL the rows are streamed with
    COPY: psycopg's executemany re-prepares the statement whenever a column
    flips between NULL and a value, and multi-row VALUES pages are too long for
    its query cache, which made the big tables five times slower than COPY.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy_rows(model.__table__, rows)
    stmt = insert(model.__table__)
    count = 0
    for batch in batched(rows):
        db.session.execute(stmt, batch)
        count += len(batch)
    return count


def _copy_rows(table: Any, rows: Iterable[dict[str, Any]]) -> int:
    from psycopg.types.json import Jsonb

    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    names = list(first)
    json_columns = {n for n in names if isinstance(table.c[n].type, JSONDocument)}
    utc_columns = {n for n in names if isinstance(table.c[n].type, UTCDateTime)}
    column_list = ", ".join(f'"{n}"' for n in names)
    raw = db.session.connection().connection.driver_connection
    count = 0
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN') as copy:
        for row in itertools.chain((first,), iterator):
            if row.keys() != first.keys():
                raise ValueError(f"{table.name}: every row must have the same columns")
            values = []
            for name in names:
                value = row[name]
                if value is not None:
                    if name in json_columns:
                        value = Jsonb(value)
                    elif name in utc_columns and value.tzinfo is None:
                        raise ValueError(f"{table.name}.{name}: naive datetime refused")
                values.append(value)
            copy.write_row(values)
            count += 1
    return count


def insert_returning_ids(model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk-insert and return the new primary keys in the order of ``rows``."""
    table = model.__table__
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for batch in batched(rows):
        ids.extend(db.session.scalars(stmt, batch).all())
    return ids

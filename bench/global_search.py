"""Global search: the navbar box's queries at 100,000 customers on PostgreSQL, against a naive LIKE in the same run.

    python -m bench.global_search [--customers 100000] [--queries 300] [--naive-queries 120] [--reuse] [--drop]

Builds (once; ``--reuse`` keeps it) a migrated database ``bench_search_<customers>``, all in SQL
with ``generate_series``: customers with realistic names (first x last name lists), emails and
phones, 40 coaches with their assignments, programs (one per 20 customers), support tickets
(one per 2 customers), one subscription and three invoices per customer with an external
reference; trigram indexes built after the load, then ``VACUUM ANALYZE``.

Queries (seeded, a few hundred): name fragments (3-6 characters of a real name), whole first
and last names, email fragments, phone digits as stored, 2-character word starts, program and
ticket words, invoice references and numbers. Each is timed three ways:

* ``http``: ``GET /search/suggest?q=`` through the Flask test client (Support: all four kinds;
  Coach: row-scoped customers and programs), the box's real answer;
* ``ours``: ``app.services.search.search`` in-process (as Support), the four statements;
* ``naive``: the same statements with ``lower(col) LIKE lower('%q%')`` (what SQLAlchemy's
  ``icontains`` writes): the trigram indexes cannot answer it, so every kind is a full scan.

Target (issue 17): p95 under 100 ms for the box. Uses ``BENCH_DATABASE_URL`` or the embedded
PostgreSQL server.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import build_app, drop_database, named_database, step

TARGET_P95_MS = 100.0


def _words(text: str) -> list[str]:
    return text.split()


SUPPORT = ("bench_support", "bench-support-Passw0rd!")
COACH = ("bench_coach", "bench-coach-Passw0rd!")
FIRST = _words(
    "Anna Ana Andrea Alejandro Alba Bruno Beatriz Carlos Carmen Clara Daniel David Diana Elena Emma Eva Felix "
    "Fernando Gloria Hugo Ines Irene Isabel Ivan Javier Jorge Jose Juan Julia Laura Leo Lucia Luis Manuel Marco "
    "Maria Marta Mateo Miguel Nadia Noah Nora Olga Oscar Pablo Paula Pedro Raquel Rosa Ruben Sara Sergio Sofia "
    "Tomas Valeria Victor Zoe Oliver Amelia George Isla Harry Ava Jack Mia Charlie Grace Thomas Lily James Freya "
    "Lukas Lena Jonas Hannah Finn Lea Paul Mila Elias Emilia Ben Klara Max Ida Henri Chloe Louis Jade Gabriel"
)
LAST = _words(
    "Garcia Fernandez Gonzalez Rodriguez Lopez Martinez Sanchez Perez Gomez Martin Jimenez Ruiz Hernandez Diaz "
    "Moreno Munoz Alvarez Romero Alonso Gutierrez Navarro Torres Dominguez Vazquez Ramos Gil Ramirez Serrano "
    "Blanco Molina Morales Suarez Ortega Delgado Castro Ortiz Rubio Marin Sanz Iglesias Smith Jones Taylor Brown "
    "Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White Roberts Green Hall Wood Jackson "
    "Clarke Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf "
    "Schroder Neumann Schwarz Zimmermann Braun Kruger Hofmann Hartmann Lange Schmitt Werner Krause Meier Lehmann"
)
PROGRAM_WORDS = _words("Strength Mobility Endurance Beginner Advanced Hypertrophy Running Yoga Core Fatloss Power Flex")
TICKET_WORDS = _words("refund invoice login password booking cancel payment app sync wearable plan coach")
DOMAINS = _words("gmail.com yahoo.es outlook.com web.de proton.me example.org")


def _array(words: list[str]) -> str:
    return "array[" + ",".join(f"'{w}'" for w in words) + "]"


def generate(conn: Any, customers: int) -> None:
    """Everything in SQL; trigram indexes dropped for the load and rebuilt after (far faster)."""
    p = {"customers": customers, "coaches": 40}
    first, last = _array(FIRST), _array(LAST)

    def run(sql: str, label: str | None = None) -> None:
        fn = lambda: conn.execute(text(sql), p)  # noqa: E731
        step(label, fn) if label else fn()

    trigram = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%\\_trgm' ESCAPE '\\'")
    ).all()
    for name, _ in trigram:
        conn.execute(text(f'DROP INDEX "{name}"'))
    run("SELECT setseed(0.17)")
    run(
        "INSERT INTO roles (code, description) VALUES ('CUSTOMER', 'Customer'), ('COACH', 'Coach') "
        "ON CONFLICT DO NOTHING"
    )
    run(
        "INSERT INTO users (id, email, full_name, phone, locale, status, legal_hold, created_at, updated_at) "
        "SELECT md5('coach' || g)::uuid, 'coach' || g || '@bench.test', 'Coach ' || g, NULL, 'en', 'ACTIVE', false, "
        "now(), now() FROM generate_series(0, :coaches - 1) g"
    )
    run(
        "INSERT INTO users (id, email, full_name, phone, locale, status, legal_hold, created_at, updated_at) "
        f"SELECT md5('cust' || g)::uuid, lower(f || '.' || l || g) || '@' || ({_array(DOMAINS)})[1 + g % 6], "
        "f || ' ' || l, "
        "'+34 6' || lpad(((g * 7919) % 100)::text, 2, '0') || ' ' || lpad(((g * 104729) % 1000)::text, 3, '0') "
        "|| ' ' || lpad((g % 1000)::text, 3, '0'), 'en', 'ACTIVE', false, now(), now() "
        f"FROM (SELECT g, ({first})[1 + floor(random() * {len(FIRST)})::int] AS f, "
        f"({last})[1 + floor(random() * {len(LAST)})::int] AS l FROM generate_series(0::bigint, :customers - 1) g) s",
        f"{customers:,} customers",
    )
    run(
        "INSERT INTO user_roles (user_id, role_id) SELECT md5('cust' || g)::uuid, "
        "(SELECT id FROM roles WHERE code = 'CUSTOMER') FROM generate_series(0, :customers - 1) g"
    )
    run(
        "INSERT INTO user_roles (user_id, role_id) SELECT md5('coach' || g)::uuid, "
        "(SELECT id FROM roles WHERE code = 'COACH') FROM generate_series(0, :coaches - 1) g"
    )
    run(
        "INSERT INTO coach_assignments (customer_id, coach_id, assigned_at, is_primary) "
        "SELECT md5('cust' || g)::uuid, md5('coach' || (g % :coaches))::uuid, now(), true "
        "FROM generate_series(0, :customers - 1) g"
    )
    words = _array(PROGRAM_WORDS)
    run(
        "INSERT INTO programs (title, level, created_by, visibility, weeks, version, created_at, updated_at) "
        f"SELECT ({words})[1 + g % 12] || ' ' || ({words})[1 + (g / 12) % 12] || ' ' || g, "
        "(array['BEGINNER','INTERMEDIATE','ADVANCED'])[1 + g % 3], md5('coach' || (g % :coaches))::uuid, "
        "(array['PRIVATE','PRIVATE','SHARED','PUBLIC'])[1 + g % 4], 4, 1, now(), now() "
        "FROM generate_series(0, :customers / 20 - 1) g",
        "programs",
    )
    twords = _array(TICKET_WORDS)
    run(
        "INSERT INTO support_tickets (requester_id, subject, priority, status, created_at) "
        f"SELECT md5('cust' || ((g * 7) % :customers))::uuid, 'Problem with ' || ({twords})[1 + g % 12] || "
        f"' and ' || ({twords})[1 + (g / 12) % 12] || ' (' || g || ')', "
        "(array['LOW','NORMAL','HIGH','URGENT'])[1 + g % 4], (array['OPEN','PENDING','RESOLVED','CLOSED'])[1 + g % 4], "
        "now() FROM generate_series(0, :customers / 2 - 1) g",
        "support tickets",
    )
    run(
        "INSERT INTO products (name, category, price, currency, interval_months, trial_days) "
        "VALUES ('Coaching', 'COACHING', 89.00, 'EUR', 1, 0)"
    )
    run(
        "INSERT INTO subscriptions (customer_id, product_id, status, start_date, cancel_at_period_end, created_at) "
        "SELECT md5('cust' || g)::uuid, (SELECT min(id) FROM products), 'ACTIVE', current_date - 100, false, now() "
        "FROM generate_series(0, :customers - 1) g",
        "subscriptions",
    )
    run(
        "INSERT INTO invoices (subscription_id, amount, subtotal, currency, due_date, status, external_reference, "
        "period_start, period_end) "
        "SELECT s.id, 89.00, 89.00, 'EUR', current_date - 30 * k, 'OPEN', "
        "'INV-' || to_char(current_date - 30 * k, 'YYYYMM') || '-' || lpad((s.id * 3 + k)::text, 7, '0'), "
        "current_date - 30 * k - 30, current_date - 30 * k FROM subscriptions s CROSS JOIN generate_series(0, 2) k",
        "invoices (3 per subscription)",
    )
    for _, definition in trigram:
        step(
            definition.split(" USING ")[0].replace("CREATE INDEX ", "index "),
            lambda d=definition: conn.execute(text(d)),
        )


def prepare(args: argparse.Namespace) -> tuple[Any, str]:
    from app.extensions import appbuilder, db
    from app.models.identity import PlatformUser
    from app.policy.sync import sync_roles
    from app.services.accounts import create_console_account

    url, existed = named_database(f"bench_search_{args.customers}")
    if existed and not args.reuse:
        print("  dropping the earlier bench database (use --reuse to keep it)", flush=True)
        drop_database(url)
        url, existed = named_database(f"bench_search_{args.customers}")
    print(f"database: {make_url(url).database} (customers={args.customers:,})", flush=True)
    app = build_app(url, WTF_CSRF_ENABLED=False, MFA_REQUIRED_ROLES=[])
    with app.app_context():
        if existed and appbuilder.sm.find_user(username=SUPPORT[0]) is None:
            raise SystemExit(f"{make_url(url).database} is incomplete (an earlier build stopped): run without --reuse")
        if not existed:
            print("generating data:", flush=True)
            sync_roles(appbuilder)
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                generate(conn, args.customers)
            coach_user = db.session.get(PlatformUser, db.session.scalar(text("SELECT md5('coach0')::uuid")))
            for (username, password), role, platform_user in ((SUPPORT, "Support", None), (COACH, "Coach", coach_user)):
                create_console_account(
                    appbuilder.sm, username=username, email=f"{username}@bench.test", full_name=f"Bench {role}",
                    role=role, password=password, platform_user=platform_user,
                )  # fmt: skip
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                step("VACUUM ANALYZE", lambda: conn.execute(text("VACUUM ANALYZE")))
    return app, url


def queries(app: Any, n: int, seed: int = 17) -> list[tuple[str, str]]:
    """(category, query): fragments of real rows, sampled with a fixed seed."""
    from app.extensions import db

    rng = random.Random(seed)
    with app.app_context():
        people = db.session.execute(
            text("SELECT full_name, email, phone FROM users WHERE phone IS NOT NULL ORDER BY md5(id::text) LIMIT 400")
        ).all()
        refs = db.session.execute(
            text("SELECT id, external_reference FROM invoices ORDER BY md5(id::text) LIMIT 40")
        ).all()
        db.session.remove()

    def fragment(value: str, lo: int, hi: int) -> str:
        size = rng.randint(lo, min(hi, len(value)))
        start = rng.randint(0, len(value) - size)
        return value[start : start + size].strip() or value[:lo]

    makers: list[tuple[str, int, Callable[[], str]]] = [
        ("name fragment", 30, lambda: fragment(rng.choice(people)[0], 3, 6)),
        ("first or last name", 15, lambda: rng.choice(rng.choice(people)[0].split())),
        ("full name", 5, lambda: rng.choice(people)[0]),
        ("email fragment", 15, lambda: fragment(rng.choice(people)[1].split("@")[0], 4, 9)),
        ("phone digits", 15, lambda: fragment(rng.choice(people)[2].replace("+34 ", ""), 3, 7)),
        ("2-char word start", 5, lambda: rng.choice(rng.choice(people)[0].split())[:2]),
        ("program or ticket word", 8, lambda: rng.choice(PROGRAM_WORDS + TICKET_WORDS).lower()),
        ("invoice reference", 5, lambda: fragment(rng.choice(refs)[1], 8, 15)),
        ("invoice number", 2, lambda: f"#{rng.choice(refs)[0]}"),
    ]
    weights = [w for _, w, _ in makers]
    out = []
    for _ in range(n):
        label, _, make = rng.choices(makers, weights=weights)[0]
        out.append((label, make()))
    return out


def percentile(samples: list[float], q: int) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(sorted(samples), n=100, method="inclusive")[q - 1]


def naive_match(column: Any, value: str) -> Any:
    """``lower(col) LIKE lower('%value%')``: the same meaning, but no index on ``col`` can answer it."""
    from app.services.people_search import contains_pattern

    return sa.func.lower(column).like(sa.func.lower(contains_pattern(value)), escape="\\")


def time_service(app: Any, qs: list[tuple[str, str]], match: Any) -> tuple[list[float], int]:
    from app.extensions import db
    from app.policy.scope import Actor
    from app.services import search as search_service

    admin = Actor(None, frozenset({"Support"}))
    samples, hits = [], 0
    with app.test_request_context():
        search_service.search(db.session, admin, "warm", search_service.KINDS, match=match)
        for _, q in qs:
            start = time.perf_counter()
            results = search_service.search(db.session, admin, q, search_service.KINDS, match=match)
            samples.append((time.perf_counter() - start) * 1000)
            hits += results.total
            db.session.rollback()
        db.session.remove()
    return samples, hits


def time_http(client: Any, qs: list[tuple[str, str]]) -> tuple[list[float], dict[str, list[float]], int]:
    client.get("/search/suggest?q=warm")
    samples, by_label, bad = [], {}, 0
    for label, q in qs:
        start = time.perf_counter()
        resp = client.get("/search/suggest", query_string={"q": q})
        elapsed = (time.perf_counter() - start) * 1000
        bad += resp.status_code != 200
        samples.append(elapsed)
        by_label.setdefault(label, []).append(elapsed)
    return samples, by_label, bad


def login(client: Any, username: str, password: str) -> None:
    resp = client.post("/login/", data={"username": username, "password": password})
    assert resp.status_code == 302, f"bench login as {username} failed ({resp.status_code})"


def line(label: str, samples: list[float]) -> str:
    return (
        f"  {label:<34} n={len(samples):>4}  p50 {percentile(samples, 50):7.1f} ms  "
        f"p95 {percentile(samples, 95):7.1f} ms  max {max(samples):7.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--naive-queries", type=int, default=120, help="the naive version runs this many of them")
    parser.add_argument("--reuse", action="store_true", help="reuse bench_search_<customers> if it exists")
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    args = parser.parse_args(argv)

    from app.extensions import db
    from app.services.search import text_match

    app, url = prepare(args)
    try:
        qs = queries(app, args.queries)
        print(f"\n{len(qs)} queries; target p95 < {TARGET_P95_MS:.0f} ms for the box (HTTP)")
        failures = 0
        for who, (username, password) in (("support", SUPPORT), ("coach", COACH)):
            client = app.test_client()
            login(client, username, password)
            samples, by_label, bad = time_http(client, qs)
            ok = percentile(samples, 95) < TARGET_P95_MS and not bad
            failures += not ok
            print(f"HTTP GET /search/suggest as {who}{'' if not bad else f' ({bad} non-200 answers)'}:")
            print(line("all queries", samples) + f"  {'PASS' if ok else 'FAIL'}")
            empty, _, _ = time_http(client, [("", "")] * 30)
            print(line("(empty q: the request alone)", empty))
            for label, values in by_label.items():
                print(line(label, values))
        sample = qs[: args.naive_queries]
        ours, ours_hits = time_service(app, sample, text_match)
        naive, naive_hits = time_service(app, sample, naive_match)
        print(f"\nservice only (Support, four kinds), the first {len(sample)} queries:")
        print(line("ours (trigram indexes)", ours) + f"  hits {ours_hits}")
        print(line("naive (lower(col) LIKE)", naive) + f"  hits {naive_hits}")
        print(
            f"  ratio naive/ours: p50 {percentile(naive, 50) / percentile(ours, 50):.1f}x, "
            f"p95 {percentile(naive, 95) / percentile(ours, 95):.1f}x"
        )
        if ours_hits != naive_hits:
            print("  note: hit counts differ (2-character queries match word starts in ours, anywhere in naive)")
        print(f"\nload average {os.getloadavg()[0]:.1f}")
        print(f"overall: {'PASS' if not failures else 'FAIL'}")
        return 1 if failures else 0
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if args.drop:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())

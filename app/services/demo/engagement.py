"""Engagement: coach and support threads, announcements, community, challenges, support tickets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update

from app.extensions import db
from app.models.engagement import (
    Announcement,
    Challenge,
    ChallengeResult,
    CommunityPost,
    CommunityReaction,
    DeliveryStatus,
    Message,
    MessageDelivery,
    SupportTicket,
    Thread,
)
from app.services.demo import catalogue as cat
from app.services.demo.base import Ctx, Customer, Person, insert_returning_ids, insert_rows
from app.services.engagement import announcements, segments
from app.services.engagement.tickets import SLA_BY_PRIORITY

SLA = {priority.value: due for priority, due in SLA_BY_PRIORITY.items()}  # the support desk's targets
ATTACHMENT_TYPES = (
    ("progress-front.jpg", "image/jpeg"),
    ("food-log.pdf", "application/pdf"),
    ("squat-form.mp4", "video/mp4"),
    ("bloodwork.pdf", "application/pdf"),
)


def _conversation(
    ctx: Ctx,
    thread: dict,
    customer: Customer,
    staff: Person,
    start: dt.datetime,
    end: dt.datetime,
    count: int,
    staff_lines: tuple,
    customer_lines: tuple,
) -> list[dict]:
    """A conversation between ``customer`` and ``staff``, with read marks as people leave them.

    A message was read before its recipient answered it; what nobody has answered yet was read
    if it is more than half a day old (or, in some conversations, at all), else it is still
    unread: so only the newest messages of one side are ever unread, and never before they were
    sent. ``last_message_at`` is the newest message's time, as ``append_message`` keeps it.
    """
    rng = ctx.rng
    moments = sorted(ctx.between(start, end) for _ in range(count))
    sides = [(n % 2 == 0) if rng.random() < 0.85 else rng.random() < 0.5 for n in range(len(moments))]
    # Unanswered messages are read up to here: half a day ago, or now in conversations kept up to date.
    read_until = ctx.now if ctx.chance(0.4) else ctx.now - dt.timedelta(hours=12)
    rows = []
    for n, (sent, from_customer) in enumerate(zip(moments, sides, strict=True)):
        sender, recipient = (customer, staff) if from_customer else (staff, customer)
        answer = next((moments[k] for k in range(n + 1, len(moments)) if sides[k] != from_customer), None)
        read = None
        if answer is not None:
            read = sent + (answer - sent) * rng.random()
        elif sent < read_until:
            read = max(sent, min(ctx.now, sent + dt.timedelta(minutes=rng.randint(2, 2000))))
        attachments = None
        if from_customer and ctx.chance(0.07):
            name, ctype = rng.choice(ATTACHMENT_TYPES)
            attachments = [
                {
                    "name": name,
                    "url": f"/attachments/{ctx.hex(16)}/{name}",
                    "content_type": ctype,
                    "size_bytes": rng.randint(40_000, 8_000_000),
                }
            ]
        rows.append(
            {
                "sender_id": sender.id,
                "recipient_id": recipient.id,
                "sent_at": sent,
                "read_at": read,
                "body": rng.choice(customer_lines if from_customer else staff_lines),
                "attachments_json": attachments,
            }
        )
    thread["last_message_at"] = max(moments) if moments else None
    return rows


def seed_threads_and_tickets(ctx: Ctx) -> None:
    rng = ctx.rng
    assignment_of = ctx.extra["assignment_of"]
    threads: list[dict] = []
    thread_messages: list[list[dict]] = []
    for c in ctx.customers:
        assert c.coach is not None
        # Every customer of the console coach has a thread, so their inbox is never empty.
        if not (c.coach.id == ctx.coaches[0].id or ctx.chance(0.6)):
            continue
        for _ in range(1 if ctx.chance(0.7) else 2):
            start = ctx.between(c.signup, min(c.active_until, ctx.now))
            end = min(c.active_until, ctx.now, start + dt.timedelta(days=rng.randint(1, 30)))
            thread = {
                "subject": rng.choice(cat.THREAD_SUBJECTS),
                "created_at": start,
                "context_type": "CUSTOMER_COACH",
                "context_id": str(assignment_of[(c.id, c.coach.id)]),
                "customer_id": c.id,
                "coach_id": c.coach.id,
            }
            thread_messages.append(
                _conversation(
                    ctx, thread, c, c.coach, start, end, rng.randint(2, 12), cat.COACH_LINES, cat.CUSTOMER_LINES
                )
            )
            threads.append(thread)

    tickets: list[dict] = []
    ticket_customers: list[Customer] = []
    n_tickets = max(8, int(len(ctx.customers) * 0.15))
    for _ in range(n_tickets):
        c = rng.choice(ctx.customers)
        subject_idx = rng.randrange(len(cat.TICKET_SUBJECTS))
        subject, priority = cat.TICKET_SUBJECTS[subject_idx]
        if ctx.chance(0.2):
            priority = rng.choice(("LOW", "NORMAL", "HIGH", "URGENT"))
        created = ctx.between(c.signup, min(ctx.now, c.active_until + dt.timedelta(days=10)))
        age = ctx.now - created
        if age > dt.timedelta(days=14):
            status = ctx.weighted({"CLOSED": 70, "RESOLVED": 25, "PENDING": 5})
        elif age > dt.timedelta(days=2):
            status = ctx.weighted({"CLOSED": 30, "RESOLVED": 30, "PENDING": 25, "OPEN": 15})
        else:
            status = ctx.weighted({"OPEN": 60, "PENDING": 30, "RESOLVED": 10})
        done = status in ("RESOLVED", "CLOSED")
        closed_at = min(ctx.now, created + dt.timedelta(hours=rng.randint(1, 24 * 6))) if done else None
        assignee = rng.choice(ctx.support[:2] if len(ctx.support) > 2 else ctx.support)
        tickets.append(
            {
                "requester_id": c.id,
                "subject": subject,
                "priority": priority,
                "status": status,
                "sla_due_at": created + SLA[priority],
                "assigned_to": None if status == "OPEN" and ctx.chance(0.5) else assignee.id,
                "resolution_notes": cat.RESOLUTIONS[subject_idx] if done else None,
                "closed_at": closed_at,
                "created_at": created,
            }
        )
        ticket_customers.append(c)
    ticket_ids = ctx.ids["ticket"] = insert_returning_ids(SupportTicket, tickets)
    for tid, t, c in zip(ticket_ids, tickets, ticket_customers, strict=True):
        if not ctx.chance(0.7):
            continue
        agent = next((s for s in ctx.support if s.id == t["assigned_to"]), ctx.support[0])
        end = t["closed_at"] or ctx.now
        thread = {
            "subject": t["subject"],
            "created_at": t["created_at"],
            "context_type": "SUPPORT",
            "context_id": str(tid),
            "customer_id": c.id,
            "coach_id": None,
        }
        thread_messages.append(
            _conversation(
                ctx,
                thread,
                c,
                agent,
                t["created_at"],
                end,
                rng.randint(1, 6),
                (
                    "Thanks for reaching out, I'm looking into it.",
                    "Could you send a screenshot?",
                    "This is fixed now, please check again.",
                    "I've escalated this to our billing team.",
                ),
                (t["subject"] + ".", "Here is the screenshot.", "Thanks, it works now!", "Any update on this?"),
            )
        )
        threads.append(thread)
    thread_ids = insert_returning_ids(Thread, threads)
    insert_rows(
        Message, ({**m, "thread_id": tid} for tid, msgs in zip(thread_ids, thread_messages, strict=True) for m in msgs)
    )


def _announcement_criteria(ctx: Ctx, segment: str) -> tuple[dict, bool]:
    """The catalogue's audience label as typed criteria, and whether the message is marketing."""
    products = ctx.ids.get("product", [])
    recent = [(ctx.today.replace(day=1) - dt.timedelta(days=31 * n)).strftime("%Y-%m") for n in range(6)]
    criteria = {
        "members": {"subscription_statuses": ["ACTIVE"]},
        "active_customers": {"subscription_statuses": ["ACTIVE", "TRIAL"]},
        "booked_today": {"coach_ids": [str(ctx.coaches[0].id)]} if ctx.coaches else {},
        "churned_90d": {"subscription_statuses": ["CANCELLED", "EXPIRED"]},
        "coaching_customers": {"product_ids": products[:2]} if products else {},
        "past_due": {"subscription_statuses": ["PAST_DUE"]},
        "app_users": {"cohort_months": sorted(set(recent))},
    }.get(segment, {})
    notices = {"members", "booked_today", "past_due", "app_users", "all_users"}  # service notices, not marketing
    return criteria, segment not in notices


def seed_announcements(ctx: Ctx) -> None:
    """Announcements checked, described and queued by the announcement service's own code, with typed criteria.

    The rows go in by Core statements, like the rest of the demo: an ORM write here would be audited
    now, ahead of the bulk-seeded audit history, and break its time order. Sent ones are queued by the
    send job's INSERT ... SELECT (consent respected); no SMTP runs while seeding, so the demo then marks
    those deliveries SENT (a couple FAILED) at the send time, and the counts equal the rows.
    """
    rng = ctx.rng
    session = db.session
    author = ctx.console_people.get("Manager") or (ctx.admins[0] if ctx.admins else None)
    rows, plans = [], []
    for i, (title, body, channel, segment) in enumerate(cat.ANNOUNCEMENTS):
        created = ctx.days_ago(340 - i * 28 + rng.randint(0, 5))
        criteria, marketing = _announcement_criteria(ctx, segment)
        draft = announcements.Draft(title=title, body=body, channel=channel, criteria=criteria, is_marketing=marketing)
        title, body, checked_channel, criteria = announcements.check_draft(session, draft)
        status, scheduled, sent = "DRAFT", None, None
        if i >= len(cat.ANNOUNCEMENTS) - 2:
            if i % 2:
                status, scheduled = "SCHEDULED", ctx.now + dt.timedelta(days=rng.randint(2, 20))
        elif i == 5:
            status, scheduled = "CANCELLED", created + dt.timedelta(days=3)
        else:
            status, scheduled = "SENT", created + dt.timedelta(days=rng.randint(0, 3))
            sent = scheduled + dt.timedelta(minutes=rng.randint(0, 5))
        rows.append({
            "title": title, "body": body, "channel": checked_channel.value, "segment_json": criteria,
            "target_segment": segments.describe(session, criteria), "is_marketing": marketing,
            "scheduled_at": scheduled, "sent_at": sent, "status": status, "created_at": created,
            "created_by_id": author.id if author else None,
            "audience_size": None, "sent_count": 0, "skipped_count": 0, "failed_count": 0,
        })  # fmt: skip
        plans.append((criteria, checked_channel, marketing, sent))
    ids = insert_returning_ids(Announcement, rows)
    for announcement_id, (criteria, channel, marketing, sent) in zip(ids, plans, strict=True):
        if sent is None:
            continue
        target = announcements.Target(announcement_id, channel, marketing)
        announcements.queue_audience(session, target, criteria, now=sent, batch_size=5000)
        queued = MessageDelivery.announcement_id == announcement_id
        session.execute(update(MessageDelivery).where(queued).values(
            status=DeliveryStatus.SENT, attempts=1, sent_at=sent, created_at=sent))  # fmt: skip
        if channel.value == "EMAIL":  # a bounced address or two
            failed = list(
                session.scalars(select(MessageDelivery.id).where(queued).order_by(MessageDelivery.id).limit(2))
            )
            bounced = {"status": DeliveryStatus.FAILED, "sent_at": None, "attempts": 3, "last_error": "550 mailbox"}
            session.execute(update(MessageDelivery).where(MessageDelivery.id.in_(failed)).values(**bounced))
        counts = announcements.delivery_counts(session, announcement_id)
        reach = announcements.preview(session, criteria, is_marketing=marketing, now=sent)
        session.execute(update(Announcement).where(Announcement.id == announcement_id).values(
            audience_size=reach.audience_size, skipped_count=reach.excluded_no_consent,
            sent_count=counts["SENT"], failed_count=counts["FAILED"]))  # fmt: skip


def seed_community(ctx: Ctx) -> None:
    rng = ctx.rng
    exercises = [e[0] for e in cat.EXERCISES]
    meals = [m[0] for m in cat.MEALS]
    posts = []
    n_posts = max(10, int(len(ctx.customers) * 0.8))
    for _ in range(n_posts):
        author = rng.choice(ctx.customers)
        created = ctx.between(author.signup, min(author.active_until, ctx.now))
        status = ctx.weighted({"PUBLISHED": 90, "FLAGGED": 5, "HIDDEN": 3, "REMOVED": 2})
        text = rng.choice(cat.SPAM_TEXTS if status != "PUBLISHED" and ctx.chance(0.7) else cat.POST_TEXTS)
        content = text.format(
            w=rng.randint(1, 12), ex=rng.choice(exercises), n=rng.randint(2, 120), meal=rng.choice(meals).lower()
        )
        posts.append(
            {
                "author_id": author.id,
                "community_id": rng.randint(1, len(cat.COMMUNITIES)),
                "content": content,
                "status": status,
                "created_at": created,
                "media_url": f"/media/community/{ctx.hex(12)}.jpg" if ctx.chance(0.15) else None,
            }
        )
    # Ensure moderation queues are never empty.
    posts[0]["status"], posts[1]["status"] = "FLAGGED", "HIDDEN"
    post_ids = ctx.ids["post"] = insert_returning_ids(CommunityPost, posts)
    reactions = []
    for pid, post in zip(post_ids, posts, strict=True):
        if post["status"] == "REMOVED":
            continue
        seen = set()
        for _ in range(rng.choice((0, 1, 2, 3, 5, 8))):
            user = rng.choice(ctx.customers + ctx.coaches[:1])
            kind = rng.choice(("LIKE", "LIKE", "LOVE", "CLAP", "FIRE", "STRONG"))
            if (user.id, kind) in seen:
                continue
            seen.add((user.id, kind))
            reactions.append(
                {
                    "post_id": pid,
                    "user_id": user.id,
                    "type": kind,
                    "created_at": min(ctx.now, post["created_at"] + dt.timedelta(minutes=rng.randint(1, 4000))),
                }
            )
    insert_rows(CommunityReaction, reactions)


def seed_challenges(ctx: Ctx) -> None:
    """The challenges and who joined each (a result row with ``joined_at``, no score yet): the scores,
    ranks and podium badges come from the ranking service run over the history (``demo.awards``)."""
    rows = []
    for i, (name, description, rules) in enumerate(cat.CHALLENGES):
        start = ctx.today - dt.timedelta(days=350 - i * 55)
        rows.append(
            {
                "name": name,
                "description": description,
                "start_date": start,
                "end_date": start + dt.timedelta(days=29),
                "rules_json": rules,
            }
        )
    challenge_ids = insert_returning_ids(Challenge, rows)
    results = []
    for cid, ch in zip(challenge_ids, rows, strict=True):
        start = dt.datetime.combine(ch["start_date"], dt.time(), tzinfo=dt.UTC)
        active = [c for c in ctx.customers if c.is_active_on(start)]
        joined = [c for c in active if ctx.chance(0.35)] or active[:1]
        for c in joined:
            # Most join in the week before the start, some in the first days; never before signing up.
            moment = max(c.signup, ctx.between(start - dt.timedelta(days=7), start + dt.timedelta(days=4)))
            results.append({"challenge_id": cid, "customer_id": c.id, "score": Decimal(0), "rank": None,
                            "joined_at": min(moment, ctx.now), "updated_at": min(moment, ctx.now)})  # fmt: skip
    insert_rows(ChallengeResult, results)

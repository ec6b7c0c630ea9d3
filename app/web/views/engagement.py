"""Engagement and communication: threads, messages, announcements, community, challenges, tickets."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import validators as wtv

from app.models.engagement import (
    Challenge,
    ChallengeResult,
    CommunityPost,
    CommunityReaction,
    Message,
    SupportTicket,
    Thread,
    ThreadContext,
)
from app.services import console_actions
from app.services.training import item_refs
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from app.web.views.corrections import ComputedRecordView
from app.web.views.json_api import current_actor


class MessageView(CoachdeskModelView):
    """Messages as records, read-only: a message is written only by its sender, in the Inbox (or the API),
    so nobody picks a sender here, and read state and ``last_message_at`` stay the service's."""

    route_base = "/messages"
    datamodel = ScopedSQLAInterface(Message)
    class_permission_name = "Messages"
    read_only = True
    list_title = show_title = _l("Messages (read-only: reply in the Inbox)")
    list_columns = ["thread", "sender", "recipient", "body", "sent_at", "read_at"]
    show_columns = [*list_columns, "attachments_json"]
    truncate_columns = {"body": 120}
    search_text_columns = ("body",)
    filter_columns = ("thread", "sender", "sent_at", "read_at")
    base_order = ("sent_at", "desc")
    label_columns = {
        "thread": _l("Thread"),
        "sender": _l("From"),
        "recipient": _l("To"),
        "body": _l("Message"),
        "attachments_json": _l("Attachments"),
        "sent_at": _l("Sent"),
        "read_at": _l("Read"),
    }


def _thread_context_exists(form: Any, field: Any) -> None:
    """context_id names the coach assignment or support ticket of context_type, of the thread's customer."""
    raw = getattr(form, "context_type", None) and form.context_type.data
    try:
        context_type = ThreadContext(getattr(raw, "value", raw))
    except ValueError:
        return  # the context_type field reports its own error
    customer = getattr(form, "customer", None) and form.customer.data
    try:
        item_refs.require_thread_context(
            current_actor(), context_type, field.data, customer_id=getattr(customer, "id", None)
        )
    except item_refs.ReferenceRefused as exc:
        raise wtv.ValidationError(exc.message) from None


class ThreadView(CoachdeskModelView):
    route_base = "/threads"
    datamodel = ScopedSQLAInterface(Thread)
    class_permission_name = "Threads"
    list_title = show_title = _l("Threads")
    add_title = _l("Start thread")
    edit_title = _l("Edit thread")
    list_columns = ["subject", "context_type", "customer", "coach", "last_message_at", "created_at"]
    show_columns = [*list_columns, "context_id"]
    add_columns = ["subject", "context_type", "context_id", "customer", "coach"]
    validators_columns = {"context_id": [_thread_context_exists]}
    # Its parties stay as they were: the messages in it were sent between them (answered in the Inbox).
    edit_columns = ["subject"]
    search_text_columns = ("subject",)
    filter_columns = ("context_type", "customer", "coach", "last_message_at")
    base_order = ("created_at", "desc")
    related_views = [MessageView]
    label_columns = {
        "subject": _l("Subject"),
        "context_type": _l("Context"),
        "context_id": _l("Context id"),
        "customer": _l("Customer"),
        "coach": _l("Coach"),
        "last_message_at": _l("Last message"),
        "created_at": _l("Created"),
    }


class CommunityReactionView(CoachdeskModelView):
    route_base = "/community-reactions"
    datamodel = ScopedSQLAInterface(CommunityReaction)
    class_permission_name = "CommunityReactions"
    list_title = show_title = _l("Reactions")
    add_title = _l("Add reaction")
    edit_title = _l("Edit reaction")
    list_columns = ["post", "user", "type", "created_at"]
    show_columns = list_columns
    add_columns = edit_columns = ["post", "user", "type"]
    filter_columns = ("post", "user", "type", "created_at")
    base_order = ("created_at", "desc")
    label_columns = {"post": _l("Post"), "user": _l("User"), "type": _l("Reaction"), "created_at": _l("Created")}


class CommunityPostView(CoachdeskModelView):
    route_base = "/community-posts"
    datamodel = ScopedSQLAInterface(CommunityPost)
    class_permission_name = "CommunityPosts"
    list_title = show_title = _l("Community posts")
    add_title = _l("Add post")
    edit_title = _l("Edit post")
    list_columns = ["author", "community_id", "content", "status", "created_at"]
    show_columns = [*list_columns, "media_url"]
    add_columns = edit_columns = ["author", "community_id", "content", "media_url", "status"]
    validators_columns = {"media_url": [wtv.Optional(), wtv.URL()]}
    truncate_columns = {"content": 120}
    search_text_columns = ("content",)
    filter_columns = ("status", "author", "community_id", "created_at")
    base_order = ("created_at", "desc")
    related_views = [CommunityReactionView]
    label_columns = {
        "author": _l("Author"),
        "community_id": _l("Community"),
        "content": _l("Post"),
        "media_url": _l("Media URL"),
        "status": _l("Status"),
        "created_at": _l("Created"),
    }

    @action("hide", _l("Hide"), _l("Hide the selected posts from the community?"), "fa-eye-slash")
    def hide(self, items: Any) -> Any:
        return self.run_bulk(items, console_actions.hide_posts, _("%(count)s posts hidden."))


class ChallengeResultView(ComputedRecordView, CoachdeskModelView):
    """Scores and ranks are computed from the challenge's rules: read-only (an Admin corrects with a reason)."""

    route_base = "/challenge-results"
    datamodel = ScopedSQLAInterface(ChallengeResult)
    class_permission_name = "ChallengeResults"
    list_title = show_title = _l("Challenge results")
    list_columns = ["challenge", "customer", "score", "rank", "updated_at"]
    show_columns = list_columns
    filter_columns = ("challenge", "customer", "score", "rank")
    base_order = ("updated_at", "desc")
    label_columns = {
        "challenge": _l("Challenge"),
        "customer": _l("Customer"),
        "score": _l("Score"),
        "rank": _l("Rank"),
        "updated_at": _l("Updated"),
    }


class ChallengeView(CoachdeskModelView):
    route_base = "/challenges"
    datamodel = ScopedSQLAInterface(Challenge)
    class_permission_name = "Challenges"
    list_title = show_title = _l("Challenges")
    add_title = _l("Add challenge")
    edit_title = _l("Edit challenge")
    list_columns = ["name", "start_date", "end_date"]
    show_columns = ["name", "description", "start_date", "end_date", "rules_json"]
    add_columns = edit_columns = show_columns
    search_text_columns = ("name", "description")
    filter_columns = ("start_date", "end_date")
    base_order = ("start_date", "desc")
    related_views = [ChallengeResultView]
    show_template = "leaderboard/challenge_show.html"  # the show page with a link to the leaderboard
    label_columns = {
        "name": _l("Name"),
        "description": _l("Description"),
        "start_date": _l("Start"),
        "end_date": _l("End"),
        "rules_json": _l("Rules"),
    }


class SupportTicketView(CoachdeskModelView):
    route_base = "/support-tickets"
    datamodel = ScopedSQLAInterface(SupportTicket)
    class_permission_name = "SupportTickets"
    list_title = show_title = _l("Support tickets")
    add_title = _l("Open ticket")
    edit_title = _l("Edit ticket")
    list_columns = [
        "subject", "requester", "priority", "status", "assignee", "sla_due_at", "resolution_notes", "created_at",
    ]  # fmt: skip
    show_columns = [*list_columns, "closed_at"]
    add_columns = edit_columns = [
        "subject", "requester", "priority", "status", "assignee", "sla_due_at", "resolution_notes", "closed_at",
    ]  # fmt: skip
    truncate_columns = {"resolution_notes": 120}
    search_text_columns = ("subject", "resolution_notes")
    filter_columns = ("status", "priority", "requester", "assignee", "sla_due_at", "created_at")
    base_order = ("created_at", "desc")
    label_columns = {
        "subject": _l("Subject"),
        "requester": _l("Requester"),
        "priority": _l("Priority"),
        "status": _l("Status"),
        "assignee": _l("Assignee"),
        "sla_due_at": _l("SLA due"),
        "resolution_notes": _l("Notes"),
        "closed_at": _l("Closed"),
        "created_at": _l("Opened"),
    }

    @action("close", _l("Close"), _l("Close the selected tickets?"), "fa-check")
    def close(self, items: Any) -> Any:
        return self.run_bulk(items, console_actions.close_tickets, _("%(count)s tickets closed."))

    @action("assign_to_me", _l("Assign to me"), _l("Assign the selected tickets to you?"), "fa-user")
    def assign_to_me(self, items: Any) -> Any:
        return self.run_bulk(items, console_actions.assign_tickets, _("%(count)s tickets assigned to you."))


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Engagement",
        _l("Engagement"),
        "fa-comments",
        [
            (ThreadView, "Threads", _l("Threads"), "fa-comments-o"),
            (MessageView, "Messages", _l("Messages"), "fa-envelope"),
            (CommunityPostView, "Community posts", _l("Community posts"), "fa-newspaper-o"),
            (CommunityReactionView, "Reactions", _l("Reactions"), "fa-thumbs-up"),
            (ChallengeView, "Challenges", _l("Challenges"), "fa-flag-checkered"),
            (ChallengeResultView, "Challenge results", _l("Challenge results"), "fa-line-chart"),
            (SupportTicketView, "Support tickets", _l("Support tickets"), "fa-life-ring"),
        ],
    )

"""Conversations and support: messages in threads, support tickets (issue 15's API, and automation's actions).

``messages`` is the one path that writes a message (the API and automation's SEND_MESSAGE and
NOTIFY_COACH), keeping ``threads.last_message_at`` in the same transaction; ``tickets`` opens a
support ticket with its SLA (the API, and automation's CREATE_TICKET). ``errors`` holds their refusals.
"""

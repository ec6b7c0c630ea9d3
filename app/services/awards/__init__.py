"""Badges and challenges (issue 16): criteria and rules evaluated by jobs, never typed in.

``criteria`` (badge criteria as set-based SQL), ``badges`` (evaluation and single awards),
``challenges`` (join, score, rank with ties, finalize), ``zones`` (the customer's calendar day
in SQL), ``jobs`` (their job kinds), ``leaderboard`` (what the console page shows).
"""

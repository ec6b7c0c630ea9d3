"""Scheduling: the booking engine, sessions and series, availability, conflicts, calendar feeds."""

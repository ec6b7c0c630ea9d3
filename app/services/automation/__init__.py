"""Automation rules (issue 14): what a rule listens for, when it applies, and what it does.

This package starts with the rule *condition* language (``conditions``): a JSON tree of
``all``/``any``/``not`` groups over typed comparisons, checked against the fields a trigger
offers, evaluated in Python for one event (with an explanation for the dry run) and compiled to
SQL for segment and dry-run matching, with the same answer on both paths.
"""

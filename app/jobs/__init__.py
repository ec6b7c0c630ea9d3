"""The RQ side: ``runner`` (the one function RQ calls, the app-context worker) and ``cron`` (the cron table).

Job kinds are declared beside their services (``app/services/<area>/jobs.py``) and
discovered by create_app; nothing here holds domain logic.
"""

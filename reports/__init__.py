"""Dashboard reports: one file per report, each defining ``REPORT = Report(...)``.

Discovered by ``app.services.analytics.reports.discover``; adding a report means adding a file.
"""

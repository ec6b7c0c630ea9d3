"""Bulk import of catalogue and customer tables (issue 17): upload, preview, all-or-nothing commit.

``files`` keeps an upload and reads it (CSV or XLSX), ``columns`` and ``specs`` say what each table
expects, ``validation`` checks a whole file in bulk, ``commit`` writes it with Core INSERTs and one
audit row, ``service`` ties them for the view and the job (``jobs``: the ``imports.commit`` kind).
"""

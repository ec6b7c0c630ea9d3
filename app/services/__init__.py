"""Domain logic, callable from views, jobs and the CLI alike; no request objects here."""

"""RQ entry points: thin functions that set up an app context and call a service."""

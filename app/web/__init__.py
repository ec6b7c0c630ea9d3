"""The web layer: everything that reads a request (console views, FAB's security views, Flask-Admin,
the sign-in limits, the input guard, locale selection). Nothing below it imports it.
"""

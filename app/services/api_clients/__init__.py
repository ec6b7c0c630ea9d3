"""API clients (issue 15): machine credentials for the REST API.

``keys`` issues and checks keys and turns a key into an ``ApiPrincipal``; ``scopes`` is the closed
catalogue of what a client may be allowed to call. The client lifecycle (create, rotate, suspend,
revoke), rate limits and access logs build on these.
"""

"""API clients (issue 15): machine credentials for the REST API.

``keys`` issues and checks keys and turns a key into an ``ApiPrincipal``; ``scopes`` is the closed
catalogue of what a client may be allowed to call; ``lifecycle`` creates, rotates, suspends,
reactivates and revokes clients; ``access_log`` writes the API's access log in batches; ``traffic``
reads it back per client for the console.
"""

"""Progress metrics recorded by client apps and wearables (issue 15's REST API).

``readings`` checks one submitted reading (types, units, bounds, dates) without touching the
database; ``ingest`` writes one or a batch of up to 1,000 of them, idempotent by the client's key.
"""

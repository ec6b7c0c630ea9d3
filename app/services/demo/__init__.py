"""Building blocks of the demo-data generator; the entry point is ``app.services.demo_data``."""

"""Training: programs built in the visual builder, plans assigned from them, and plan calendars."""

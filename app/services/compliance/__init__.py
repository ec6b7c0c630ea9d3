"""What compliance officers request: audit exports and data-subject exports and erasures."""

"""Analytics: entity charts, dashboard reports, rollups and cohort snapshots, all aggregated in SQL."""

"""Data retention: which entities may carry a policy, legal holds, the strategies, archives, and runs."""

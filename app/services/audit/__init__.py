"""The audit trail: who did what (context), the hash chain (chain), the ORM hooks that write it,
its verification (verify, pg_check) and the sign-in and download records.
"""

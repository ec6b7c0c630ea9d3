"""Policy: who may do what, as data and SQL criteria (roles, row scope, role sync, password rules).

Imports models only, so services, jobs and views can all ask the same rules.
"""

"""app/services/audit"""

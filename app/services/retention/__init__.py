"""app/services/retention"""

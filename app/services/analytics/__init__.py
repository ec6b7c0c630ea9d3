"""app/services/analytics"""

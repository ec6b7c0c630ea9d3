"""app/services/compliance"""

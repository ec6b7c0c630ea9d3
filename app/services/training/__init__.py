"""app/services/training"""

"""app/web/security"""

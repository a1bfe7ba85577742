"""Demo data for `manage.py seed_demo`: builders, vendor-shaped payloads and sample documents.

Development only: nothing in the application imports this package.
"""

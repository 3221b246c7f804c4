"""HTTP side: a small WSGI router, health, credential pages, the production server."""

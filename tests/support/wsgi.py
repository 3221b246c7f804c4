"""Serve a WSGI app with waitress (the production server) on an ephemeral port."""

from bot.web.server import serving as serve_wsgi

__all__ = ["serve_wsgi"]

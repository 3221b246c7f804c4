"""Bolt listeners, one module per capability; each exposes register(app, services)."""

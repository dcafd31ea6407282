"""The server's notion of now, for handlers and background jobs alike."""

from datetime import datetime, timezone

from aiohttp import web

from . import app_keys


def app_now(app: web.Application) -> datetime:
    """The time: the app's injected clock if a test set one, else UTC now."""
    clock = app.get(app_keys.clock)
    return clock() if clock else datetime.now(timezone.utc)

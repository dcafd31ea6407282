"""Every typed application key, in one place."""

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from search_index import IndexUpdater

from .blobs import BlobStore
from .bus import Bus
from .config import Config
from .metrics import Metrics
from .ratelimit import RateLimiter

config = web.AppKey("config", Config)
engine = web.AppKey("engine", AsyncEngine)
sessionmaker = web.AppKey("sessionmaker", async_sessionmaker)
bus = web.AppKey("bus", Bus)
blob_store = web.AppKey("blob_store", BlobStore)
rate_limiter = web.AppKey("rate_limiter", RateLimiter)  # memory, or Redis when scaled out
device_cookie_key = web.AppKey("device_cookie_key", bytes)  # MACs the sign-in "known browser" cookie
metrics = web.AppKey("metrics", Metrics)
connections = web.AppKey("connections", object)  # http.ws.Connections: sockets per user, per process or in Redis
draining = web.AppKey("draining", dict)  # {"since": time} once shutdown began: /readyz fails, no new sockets
search = web.AppKey("search", IndexUpdater)  # the search index and its single writer task
pyscript_files = web.AppKey("pyscript_files", dict)
catalogs = web.AppKey("catalogs", dict)  # language -> i18n.Catalog (gettext translations, the page's catalog)
websockets = web.AppKey("websockets", set)  # open sockets, closed at shutdown
clock = web.AppKey("clock", Callable[[], datetime])  # optional: tests move time (forward or back)
high_water = web.AppKey("high_water", object)  # server.clock.HighWater: time never goes back
oidc = web.AppKey("oidc", dict)  # OpenID Connect providers by name (server/oidc.py)

# Per-request values set by authentication.
session_id = web.RequestKey("session_id", str)
user_id = web.RequestKey("user_id", str)
